"""Running the paper's experiments — paper §4.3 (Table 2) and §4.4 (Table 3); docs/design.md §9.

The chains themselves (full, B1-B4) are data in recipe_table.py. Each link of a chain
(recipe_table.ChainLink) trains one stage with --init from the previous link's best checkpoint.
`run_chain` skips a stage whose last checkpoint says it finished and resumes one whose `.last.pt`
exists, so re-running a command after a crash continues where it stopped. `run_folds` runs a
chain for each fold into OUT/fold{k}/. Tests: tests/test_recipes.py
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from ..checkpoints import load_checkpoint
from ..config import OVERRIDABLE_ON_RESUME, TrainConfig, make_config
from ..data.splits import read_splits, split_sha256
from ..recipe_table import MANIFEST, RECIPES, ChainLink
from ..runtime import distributed, rank_zero
from .fit import fit
from .setup import stage_paths


def stage_status(out: str | Path, stage: int) -> str:
    """ "complete" (its last checkpoint says training finished), "partial" (a .last.pt to resume)
    or "new"."""
    last = stage_paths(out, stage)["last"]
    if not last.is_file():
        return "new"
    return "complete" if load_checkpoint(last, schema="resume").get("complete") else "partial"


def resume_config(path: str | Path, overrides: dict, say=print) -> TrainConfig:
    """The configuration saved in a .last.pt with --resume set and the options that may change on
    resume (OVERRIDABLE_ON_RESUME) applied; other given options are ignored, with a note."""
    saved = load_checkpoint(path, schema="resume")
    ignored = sorted(
        k
        for k, v in overrides.items()
        if k not in OVERRIDABLE_ON_RESUME | {"resume"}
        and saved["config"].get(k, v) != (list(v) if isinstance(v, tuple) else v)
    )
    if ignored:
        say(f"note: resuming with the configuration saved in {path}; ignoring {ignored}")
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    values = {k: v for k, v in saved["config"].items() if k in fields}
    values.update({k: v for k, v in overrides.items() if k in OVERRIDABLE_ON_RESUME})
    return make_config(**{**values, "resume": str(path)})


def run_chain(
    links: tuple[ChainLink, ...], values: dict, preset: str, out: Path, say=print
) -> list[dict]:
    """Train each link of the chain into `out` (skip complete stages, resume partial ones);
    the fit results."""
    say = distributed.main_say(say, distributed.current())
    results = []
    for link in links:
        status = stage_status(out, link.stage)
        if status == "complete":
            say(f"stage {link.stage} in {out} is complete; skipped")
            continue
        if status == "partial":
            cfg = resume_config(
                stage_paths(out, link.stage)["last"], {**values, "out": str(out)}, say
            )
            say(f"stage {link.stage} in {out} was interrupted; resuming from {cfg.resume}")
        else:
            init = str(stage_paths(out, link.init_stage)["best"]) if link.init_stage else None
            cfg = make_config(
                preset, **{**values, "stage": link.stage, "out": str(out), "init": init}
            )
        results.append(fit(cfg, say))
    return results


def write_manifest(
    out: Path, recipe: str, preset: str, folds: list[int], n_folds: int, splits: str | None = None
) -> None:
    """OUT/recipe.json: which experiment a runs folder holds (read by eval.py --summary), with
    the --splits file and the SHA-256 of its assignment (data/splits.py); each checkpoint also
    records the SHA-256 of the assignment it trained on."""
    out.mkdir(parents=True, exist_ok=True)
    steps = [[s.stage, s.init_stage] for s in RECIPES[recipe]]
    manifest = {"recipe": recipe, "steps": steps, "preset": preset, "n_folds": n_folds}
    manifest["splits"] = str(Path(splits).resolve()) if splits else None
    manifest["split_sha256"] = split_sha256(read_splits(splits).folds) if splits else None
    path = out / MANIFEST
    if path.is_file():  # keep the folds of earlier single-fold commands
        old = json.loads(path.read_text())
        if old.get("recipe") != recipe:
            raise ValueError(
                f"{path}: this folder holds recipe {old.get('recipe')!r}, not {recipe!r}; "
                f"use another --out per recipe"
            )
        if old.get("split_sha256") != manifest["split_sha256"] and "split_sha256" in old:
            raise ValueError(
                f"{path}: this folder's folds were trained on split "
                f"{old.get('splits') or 'of the seed'}, not {splits or 'of the seed'}; use "
                f"another --out per split"
            )
        folds = sorted(set(old.get("folds", [])) | set(folds))
    path.write_text(json.dumps({**manifest, "folds": sorted(folds)}, indent=1))


def run_folds(
    recipe: str, values: dict, preset: str, out: Path, folds: list[int], say=print
) -> None:
    """The recipe's chain for each fold, into out/fold{k}/, one after another (under torchrun
    every rank runs it; rank 0 writes and speaks)."""
    n_folds = values.get("n_folds", make_config(preset).n_folds)
    world = distributed.current()
    say = distributed.main_say(say, world)
    splits = values.get("splits")
    rank_zero.main_only(lambda: write_manifest(out, recipe, preset, folds, n_folds, splits), world)
    for k in folds:
        say(f"== recipe {recipe}, fold {k} of {n_folds}: {out / f'fold{k}'}")
        run_chain(RECIPES[recipe], {**values, "fold": k}, preset, out / f"fold{k}", say)
