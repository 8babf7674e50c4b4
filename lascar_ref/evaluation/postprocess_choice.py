"""Choosing the postprocessing on the validation folds, as nnU-Net does — docs/design.md §10, §6.

For one recipe folder, every fold's evaluated validation cases are read back from
FOLD/eval/stage{N}/ (the predictions on each case's original grid and the ground truth from the
recorded source files): scar from the recipe's final stage, the LA from the latest stage that
predicts it. Each candidate of inference/postprocess.py is scored by the mean Dice over all those
cases; per structure, a candidate replaces "none" only when its mean Dice is not lower (ties keep
"none"). The choice and the figures that made it go to RECIPE/postprocessing.json, which
predict.py applies when --ckpt is that runs folder.
That in-sample mean is the maximum over the candidates on the cases that chose it, so it is
optimistic; what the choice is worth is scored out of sample (`held_out`): for each fold, the
choice made by the same rule on the *other* folds is applied to that fold's cases, and the mean
Dice of those held-out scores is reported beside "none"'s on the same cases. With one fold there
is no other fold to choose on: held_out is None ("n/a").
Tests: tests/test_postprocess.py
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..data import read_volume
from ..inference.postprocess import CANDIDATES, apply
from ..stage_table import STAGES
from .metrics import dice
from .provenance import read_result

FILE = "postprocessing.json"


def pooled_predictions(folder: Path, n_folds: int) -> list[dict]:
    """[{"case", "spacing", "gt": {structure: mask}, "pred": {structure: mask}}] over the folds of
    a recipe folder; each structure's prediction from the latest evaluated stage giving it."""
    out = []
    for k in range(n_folds):
        cases: dict[str, dict] = {}
        for stage_dir in (folder / f"fold{k}" / "eval" / f"stage{n}" for n in sorted(STAGES)):
            stored, why = read_result(stage_dir / "metrics.json")
            if stored is None:
                if why != "no metrics.json":
                    print(f"warning: {why}; its predictions are left out of the choice")
                continue
            for case, src in stored.get("sources", {}).items():
                entry = cases.setdefault(case, {"case": case, "gt": {}, "pred": {}})
                for name in ("la", "scar"):
                    f = stage_dir / "predictions" / f"{case.replace('/', '_')}_{name}.nii.gz"
                    if f.is_file():
                        entry["pred"][name] = read_volume(f, check_finite=False).data > 0
                    if src.get(name) and name not in entry["gt"]:
                        truth = read_volume(src[name], check_finite=False)
                        entry["gt"][name], entry["spacing"] = truth.data > 0, truth.spacing_mm
        out += [c | {"fold": k} for c in cases.values() if c["pred"]]
    return out


def candidate_scores(cases: list[dict]) -> dict[str, list[tuple[object, dict[str, float]]]]:
    """structure -> [(fold, {candidate: Dice})] over the cases that have a prediction and a
    ground truth of that structure (candidates that need an LA prediction are scored only where
    there is one); a case without "fold" counts as fold 0."""
    out = {}
    for name, candidates in CANDIDATES.items():
        usable = [c for c in cases if name in c["pred"] and name in c["gt"]]
        if name == "scar":
            usable = [c for c in usable if "la" in c["pred"]]
        out[name] = [
            (
                c.get("fold", 0),
                {
                    cand: dice(apply(c["pred"], {name: cand}, c["spacing"])[name], c["gt"][name])
                    for cand in candidates
                },
            )
            for c in usable
        ]
    return out


def _pick(scores: list[dict[str, float]], candidates) -> tuple[str, dict[str, float]]:
    """(the candidate of highest mean Dice, ties keeping "none"; the means)."""
    means = {cand: float(np.mean([s[cand] for s in scores])) for cand in candidates}
    return max(candidates, key=lambda cand: (means[cand], cand == "none")), means


def held_out(scored: list[tuple[object, dict[str, float]]], candidates) -> dict | None:
    """The cross-validated score of the choice: each fold's cases scored with the candidate
    chosen on the other folds. {"n", "none", "chosen", "choices": {fold: candidate}}, means over
    the held-out cases; None with fewer than two folds."""
    folds = sorted({f for f, _ in scored}, key=str)
    if len(folds) < 2:
        return None
    choices, none, chosen = {}, [], []
    for k in folds:
        pick, _ = _pick([s for f, s in scored if f != k], candidates)
        choices[str(k)] = pick
        none += [s["none"] for f, s in scored if f == k]
        chosen += [s[pick] for f, s in scored if f == k]
    return {
        "n": len(chosen),
        "none": float(np.mean(none)),
        "chosen": float(np.mean(chosen)),
        "choices": choices,
    }


def choose(cases: list[dict]) -> dict:
    """structure -> {"choice", "mean_dice": {candidate: in-sample mean}, "n", "held_out"} (the
    module docstring)."""
    result = {}
    for name, scored in candidate_scores(cases).items():
        if not scored:
            result[name] = {"choice": "none", "mean_dice": {}, "n": 0, "held_out": None}
            continue
        choice, means = _pick([s for _, s in scored], CANDIDATES[name])
        result[name] = {
            "choice": choice,
            "mean_dice": means,
            "n": len(scored),
            "held_out": held_out(scored, CANDIDATES[name]),
        }
    return result


def choose_for_recipe(folder: Path, n_folds: int) -> dict:
    """The choice of one recipe folder, written to folder/postprocessing.json and returned."""
    result = choose(pooled_predictions(folder, n_folds))
    (folder / FILE).write_text(json.dumps(result, indent=1))
    return result


def stored_choice(folder: Path) -> dict[str, str]:
    """structure -> chosen candidate from folder/postprocessing.json ({} when absent)."""
    path = Path(folder) / FILE
    if not path.is_file():
        return {}
    return {name: c["choice"] for name, c in json.loads(path.read_text()).items()}


def runs_choice(ckpts: list[str]) -> dict[str, str]:
    """The postprocessing that predict.py applies: the choice stored in the runs folder(s) given as
    --ckpt, "none" dropped; {} for checkpoint files. Two runs folders with different choices are
    refused."""
    choices = {str(p): stored_choice(Path(p)) for p in ckpts if Path(p).is_dir()}
    distinct = {json.dumps(c, sort_keys=True) for c in choices.values()}
    if len(distinct) > 1:
        raise ValueError(f"the runs folders chose different postprocessing: {choices}")
    chosen = next(iter(choices.values()), {})
    return {k: v for k, v in chosen.items() if v != "none"}
