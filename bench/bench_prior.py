"""No anchor: records a result as it comes out. The paper's central claim on a CPU testbed:
does the anatomical prior (Eq. 6-8, alpha(t)) keep scar predictions in anatomically plausible
places? — docs/design.md §7, §2, §6.

    python bench/bench_prior.py [--out runs_prior_chain] [--seeds 0 1 2] [--folds 0 1]
    python bench/bench_prior.py --report-only     the report of the pairs in the ledger

On one realistic phantom dataset at the demo size (8 + 8 scans, written once into OUT/data), for
every seed and fold, the paper's full chain: Stage I once, then from that same Stage I (a) Stage
II with the alpha(t) ramp of Eq. 7 (the default) and (b) Stage II with alpha = 0 (--alpha-max 0:
W = 1, Eq. 8 reduces to Eq. 1), then Stage III from each Stage II. Stage II is selected only from
the end of the ramp (docs/design.md §2), in both arms alike. Each Stage II and III checkpoint is
evaluated on the fold's validation scans (original grid): scar Dice, HD, ASD (penalised where one
mask is empty, docs/design.md §6), and the fraction of predicted scar voxels outside the
ground-truth Eq. 6 wall band. Prints one line per run, the mean +- std over seeds x folds, and
the paired differences ramp - alpha0 with the statistics of evaluation/paired.py. The unit is
the seed x fold pair (each pair trains its own Stage I and both arms from it); the seed is the
cluster: the two folds of one seed split the same 8 scans between them, so the primary interval
and test are a paired t over the seed means of the pair differences (3 seeds: 2 degrees of
freedom), with MDD80 and the seeds a scar-Dice difference of 0.05 would need at the observed
spread and at its 95% upper bound; the pairs themselves are summarised as descriptive. All pairs
come from one draw of phantoms (data seed 0): the interval covers training variation (weights,
patches, folds), not another draw of data. The outcome is recorded in bench/README.md as it comes
out; nothing is tuned toward it.

Each finished pair (both arms' Stage II and III trained and scored) goes into the ledger
(--ledger, default bench/prior_chain.json, kept in the repository; bench/prior_ledger.py) with
the protocol's SHA-256 and the git commit that trained it, and the report pools every pair of the
current protocol in the ledger — so a run spread over several sessions adds up to one result. A
pair already in the ledger is not trained again (--rerun, into a fresh --out, trains it again,
prints every value that differs from its entry and replaces the entry).
Re-running the command continues: a complete stage is skipped, an interrupted one resumed from
its .last.pt, and one run under a shorter demo budget is extended to the current one by resuming
it; OUT/prior.json holds this invocation's records.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import prior_ledger  # noqa: E402  (bench/prior_ledger.py)

from lascar_ref.checkpoints import load_checkpoint  # noqa: E402
from lascar_ref.config import config_dict, make_config  # noqa: E402
from lascar_ref.data import read_volume, write_phantom_dataset  # noqa: E402
from lascar_ref.evaluation.evaluate import evaluate_checkpoint, init_chain  # noqa: E402
from lascar_ref.evaluation.metrics import penalised  # noqa: E402
from lascar_ref.evaluation.paired import (  # noqa: E402
    case_text,
    compare,
    comparison_text,
    sd_upper,
    unit_text,
    units_needed,
)
from lascar_ref.losses import alpha_schedule, wall_mask  # noqa: E402

VARIANTS = {"ramp": [], "alpha0": ["--alpha-max", "0"]}
_DEMO = make_config("demo")
DEMO_DATA = dict(  # the demo preset's phantom dataset, written once into OUT/data
    n_task1=_DEMO.phantom_task1,
    n_task2_only=_DEMO.phantom_task2_only,
    shape=_DEMO.phantom_shape,
    spacing=_DEMO.phantom_spacing,
)
N_FOLDS = 2
# What decides the numbers: the ledger pools only pairs of the same protocol (its SHA-256).
PROTOCOL = {
    "data": {k: list(v) if isinstance(v, tuple) else v for k, v in DEMO_DATA.items()},
    "data_seed": 0,
    "stages": {str(s): config_dict(make_config("demo", stage=s)) for s in (1, 2, 3)},
    "variants": VARIANTS,
    "n_folds": N_FOLDS,
    "folds": "seed",
}


def train(stage: int, out: Path, data: Path, seed: int, fold: int, extra: list[str]) -> None:
    """train.py for one stage unless its checkpoint says it is complete under the demo's budget."""
    budget = make_config("demo", stage=stage)
    best = out / f"stage{stage}.pt"
    if best.is_file():
        state = load_checkpoint(best, schema="eval")
        ran = (state["config"]["max_epochs"], state["config"]["patience"])
        if state.get("complete") and ran == (budget.max_epochs, budget.patience):
            return
    last = out / f"stage{stage}.last.pt"
    cmd = [sys.executable, str(ROOT / "train.py"), "--stage", str(stage), "--preset", "demo"]
    if last.is_file():  # the demo's budget wins, so a run made under a shorter one is extended
        cmd += ["--resume", str(last), "--max-epochs", str(budget.max_epochs)]
        cmd += ["--patience", str(budget.patience)]
    else:
        cmd += ["--data", str(data), "--seed", str(seed), "--fold", str(fold)]
        cmd += ["--n-folds", str(N_FOLDS)]
        cmd += ["--out", str(out), "--cache", str(out.parents[2] / "cache"), *extra]
    subprocess.run([*cmd, "--no-progress"], check=True, stdout=subprocess.DEVNULL, cwd=ROOT)


def score(ckpt: Path, data: Path) -> dict[str, float]:
    """Mean scar Dice / HD / ASD, the fraction of predicted scar outside the GT wall band, and
    the epoch the checkpoint was kept at (with alpha(t) there for Stage II)."""
    state = load_checkpoint(ckpt, schema="eval")
    cfg, epoch = state["config"], int(state["epoch"])
    alpha = (
        alpha_schedule(epoch, cfg["alpha_max"], cfg["alpha_ramp_epochs"])
        if state["stage"] == 2
        else None
    )
    out = ckpt.parent / f"eval_{ckpt.stem}"
    rows = [
        r
        for r in evaluate_checkpoint(init_chain(ckpt), out, {"progress": False})
        if r["structure"] == "scar"
    ]
    outside, predicted = 0, 0
    for r in rows:
        task, case = r["case"].split("/")
        la = read_volume(data / task / "train_data" / case / "atriumSegImgMO.nii.gz")
        pred = read_volume(out / "predictions" / f"{task}_{case}_scar.nii.gz").data > 0
        band = wall_mask(la.data > 0, la.spacing_mm)
        outside += int((pred & ~band).sum())
        predicted += int(pred.sum())

    def mean(key):  # every case, an undefined distance penalised (docs/design.md §6)
        return float(np.mean([penalised(r, key) for r in rows])) if rows else math.nan

    return {
        "dice": mean("dice"),
        "hd": mean("hd"),
        "asd": mean("asd"),
        "outside_wall": outside / predicted if predicted else math.nan,
        "predicted_voxels": predicted,
        "n_cases": len(rows),
        "best_epoch": epoch,
        "alpha": alpha,
    }


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--out", default="runs_prior_chain")  # runs_prior: Stage II from scratch
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--folds", type=int, nargs="+", default=[0, 1])
    p.add_argument(
        "--ledger",
        default=str(ROOT / "bench" / "prior_chain.json"),
        help="the finished pairs, kept across sessions (default bench/prior_chain.json)",
    )
    p.add_argument(
        "--rerun", action="store_true", help="train and score a pair already in the ledger again"
    )
    p.add_argument(
        "--report-only",
        action="store_true",
        help="no training: the summary and paired report of the ledger's pairs of this protocol",
    )
    p.add_argument(
        "--protocol",
        metavar="SHA",
        help="with --report-only: report the ledger's pairs of an earlier protocol, given by the "
        "first characters of its SHA-256 (the statistics of today's code on stored values)",
    )
    p.add_argument(
        "--markdown",
        action="store_true",
        help="with --report-only: the ledger's pairs as the Markdown tables of bench/README.md",
    )
    a = p.parse_args()
    if bad := [f for f in a.folds if not 0 <= f < N_FOLDS]:
        p.error(f"--folds {bad}: the protocol has {N_FOLDS} folds (0-{N_FOLDS - 1})")
    out, ledger_path = Path(a.out).resolve(), Path(a.ledger).resolve()
    ledger = prior_ledger.load(ledger_path)
    sha = prior_ledger.protocol_sha256(PROTOCOL)
    if a.protocol:
        if not a.report_only:
            p.error("--protocol reports an earlier protocol's pairs: only with --report-only")
        found = {e["protocol_sha256"] for e in ledger["pairs"]}
        match = sorted(s for s in found if s.startswith(a.protocol))
        if len(match) != 1:
            p.error(f"--protocol {a.protocol}: {len(match)} protocols of the ledger match")
        sha = match[0]
    if a.report_only:
        if a.markdown:
            print("\n".join(markdown(prior_ledger.current(ledger, sha))))
        else:
            ledger_report(ledger, sha, ledger_path)
        return
    if a.rerun and (kept := [d for d in pair_dirs(out, a.seeds, a.folds) if d.exists()]):
        p.error(  # a rerun that reused these checkpoints would trivially "reproduce" them
            f"--rerun trains again from scratch, but {kept[0]} exists; give a fresh --out"
        )
    data = out / "data"
    if not data.is_dir():
        write_phantom_dataset(data, seed=PROTOCOL["data_seed"], **DEMO_DATA)
    results, t_all = [], time.perf_counter()
    for seed in a.seeds:
        for fold in a.folds:
            done = prior_ledger.find(ledger, sha, seed, fold)
            if done and not a.rerun:
                print(f"seed {seed} fold {fold}: in the ledger (commit {done['commit']}), skipped")
                continue
            runs = run_pair(pair_dirs(out, [seed], [fold])[0], data, seed, fold)
            results += runs
            (out / "prior.json").write_text(json.dumps(results, indent=1))
            code = prior_ledger.code_state(ROOT, exclude=ledger_path)
            if done:  # --rerun: does it reproduce the ledger's entry?
                diff = prior_ledger.differences(done["runs"], runs)
                print(
                    f"seed {seed} fold {fold}: rerun at commit {code['commit']} vs the ledger's "
                    f"commit {done['commit']}: "
                    + ("identical" if not diff else f"{len(diff)} values differ")
                )
                for line in diff:
                    print(f"  {line}")
            prior_ledger.add(ledger, PROTOCOL, seed, fold, runs, code)
            prior_ledger.save(ledger_path, ledger)
    ledger_report(ledger, sha, ledger_path)
    print(f"total wall time: {(time.perf_counter() - t_all) / 60:.1f} min")


def pair_dirs(out: Path, seeds: list[int], folds: list[int]) -> list[Path]:
    """The run folders of the seed x fold pairs under OUT."""
    return [out / "runs" / f"seed{seed}_fold{fold}" for seed in seeds for fold in folds]


def run_pair(pair: Path, data: Path, seed: int, fold: int) -> list[dict]:
    """One seed x fold pair: Stage I once, then each arm's Stage II and III; their 4 records."""
    train(1, pair / "stage1", data, seed, fold, [])  # one Stage I for both arms
    runs = []
    for variant, extra in VARIANTS.items():
        run = pair / variant
        t0 = time.perf_counter()
        train(2, run, data, seed, fold, ["--init", str(pair / "stage1" / "stage1.pt"), *extra])
        train(3, run, data, seed, fold, ["--init", str(run / "stage2.pt")])
        for stage in (2, 3):
            r = {"seed": seed, "fold": fold, "variant": variant, "stage": stage}
            r.update(score(run / f"stage{stage}.pt", data))
            runs.append(r)
            alpha = "" if r["alpha"] is None else f", alpha {r['alpha']:.2f}"
            print(
                f"seed {seed} fold {fold} {variant:>6} stage {stage}: "
                f"scar Dice {r['dice']:.3f} HD {r['hd']:.1f} ASD {r['asd']:.2f} "
                f"outside wall {r['outside_wall']:.3f} "
                f"({r['predicted_voxels']} voxels; epoch {r['best_epoch']}{alpha}) "
                f"[{time.perf_counter() - t0:.0f} s]",
                flush=True,
            )
    return runs


def ledger_report(ledger: dict, sha: str, path: Path) -> None:
    """The report over every pair of this protocol in the ledger; other protocols are named."""
    pairs = prior_ledger.current(ledger, sha)
    others = len(ledger["pairs"]) - len(pairs)
    print(f"ledger {path}: {len(pairs)} pair(s) of this protocol ({sha[:12]})")
    if others:
        print(f"  {others} pair(s) of other protocols left out (never pooled)")
    for e in pairs:
        dirty = " with uncommitted changes" if e["dirty"] else ""
        print(f"  seed {e['seed']} fold {e['fold']}: commit {e['commit']}{dirty}, {e['finished']}")
    if not pairs:
        return
    if len(commits := {e["commit"] for e in pairs}) > 1:
        print(
            f"  note: these pairs were trained at {len(commits)} commits; pooling them assumes "
            f"the commits train alike (check one pair with --rerun, or continue at one commit)"
        )
    results = [r for e in pairs for r in e["runs"]]
    report(results, f"{len(pairs)} seed x fold pairs {[(e['seed'], e['fold']) for e in pairs]}")


def arm_values(results: list[dict], stage: int, variant: str, key: str) -> np.ndarray:
    """One arm's defined values of `key` at `stage` over the pairs (NaN: nothing predicted)."""
    v = np.array(
        [r[key] for r in results if r["stage"] == stage and r["variant"] == variant], dtype=float
    )
    return v[~np.isnan(v)]


def report(results: list[dict], what: str) -> None:
    """Mean +- std of each arm and stage, then the paired differences."""
    print(f"\nmean +- std over {what}:")
    for stage in (2, 3):
        for variant in VARIANTS:
            cells = []
            for key in ("dice", "hd", "asd", "outside_wall"):
                v = arm_values(results, stage, variant, key)
                cells.append(
                    f"{key} {v.mean():.3f} +- {v.std(ddof=1) if v.size > 1 else math.nan:.3f}"
                    f" (n={v.size})"
                    if v.size
                    else f"{key} -"
                )
            print(f"stage {stage} {variant:>6}: " + "; ".join(cells))
    paired_report(results)


def paired(results: list[dict], stage: int, key: str) -> dict:
    """evaluation/paired.compare of ramp - alpha0 for one stage and metric: pairs matched by
    (seed, fold), the seed as the unit; a pair where the metric is undefined in one arm (NaN) is
    named in "missing"."""
    arm = {
        v: {
            f"seed{r['seed']}_fold{r['fold']}": (r["seed"], r[key])
            for r in results
            if r["stage"] == stage and r["variant"] == v and not math.isnan(r[key])
        }
        for v in VARIANTS
    }
    return compare(arm["ramp"], arm["alpha0"], unit="seed")


def needed(c: dict) -> str:
    """Seeds a scar-Dice difference of 0.05 needs at the spread of the seed means, and at that
    spread's 95% upper bound."""
    at = [units_needed(sd, 0.05) for sd in (c["sd_units"], sd_upper(c["sd_units"], c["n_units"]))]
    return " / ".join("n/a" if n is None else str(n) for n in at)


def paired_report(results: list[dict]) -> None:
    """ramp - alpha0, paired by (seed, fold), the seed as the unit, for each stage."""
    print("\npaired ramp - alpha0 (evaluation/paired.py; unit: seed, pairs descriptive):")
    for stage in (2, 3):
        for key in ("dice", "outside_wall", "hd"):
            c = paired(results, stage, key)
            need = f"; seeds for a 0.05 difference (spread / upper bound): {needed(c)}"
            print(f"stage {stage} {key}: {comparison_text(c)}" + (need if key == "dice" else ""))


def markdown(pairs: list[dict]) -> list[str]:
    """The ledger's pairs as bench/README.md's tables: one row per run, mean +- std per arm and
    stage over the pairs, and the paired differences ramp - alpha0."""
    results = [r for e in pairs for r in e["runs"]]
    out = [
        "| seed | fold | variant | stage | kept epoch (α) | scar Dice | HD (mm) | ASD (mm) "
        "| predicted scar outside the GT wall band | predicted voxels |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        alpha = "" if r.get("alpha") is None else f" ({r['alpha']:.2g})"
        out.append(
            f"| {r['seed']} | {r['fold']} | {r['variant']} | {r['stage']} "
            f"| {r['best_epoch']}{alpha} "
            f"| {r['dice']:.3f} | {r['hd']:.1f} | {r['asd']:.2f} | {r['outside_wall']:.3f} "
            f"| {r['predicted_voxels']} |"
        )
    out += ["", "| stage | variant | scar Dice | HD (mm) | ASD (mm) | outside wall |"]
    out.append("|---|---|---|---|---|---|")
    for stage in (2, 3):
        for variant in VARIANTS:
            cells = []
            for key, digits in (("dice", 3), ("hd", 1), ("asd", 2), ("outside_wall", 3)):
                v = arm_values(results, stage, variant, key)
                sd = f"{v.std(ddof=1):.{digits}f}" if v.size > 1 else "n/a"
                cells.append(f"{v.mean():.{digits}f} ± {sd} (n={v.size})" if v.size else "-")
            out.append(f"| {stage} | {variant} | " + " | ".join(cells) + " |")
    out += [
        "",
        "| stage | metric | ramp − α0: mean of the seed means [95% t-interval over seeds], "
        "paired t p; MDD80 | seeds a 0.05 Dice difference needs (spread / its upper bound) "
        "| pairs (descriptive) |",
        "|---|---|---|---|---|",
    ]
    for stage in (2, 3):
        for key in ("dice", "outside_wall", "hd"):
            c = paired(results, stage, key)
            missing = f" (missing: {', '.join(c['missing'])})" if c["missing"] else ""
            pairs = case_text(c, "")
            need = needed(c) if key == "dice" else "—"
            out.append(f"| {stage} | {key} | {unit_text(c)}{missing} | {need} | {pairs} |")
    return out


if __name__ == "__main__":
    main()
