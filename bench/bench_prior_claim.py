"""No anchor: records a result as it comes out. The paper's claim about the wall prior (Eq. 6-8),
in its two parts, on phantoms where the truth is known — docs/design.md §3, §7.

    python bench/bench_prior_claim.py --pilot              the pilot (seeds 100 101): its spread
    python bench/bench_prior_claim.py --seeds 0 1 2 ...    the testbed
    python bench/bench_prior_claim.py --report-only [--pilot] [--markdown]

The claim (paper §3.2): W "softly constrains scar predictions within anatomically plausible
atrial wall regions", "suppresses anatomically implausible outlier scars and prevents the model
from learning such annotation-based bias". Measured here, per Stage II checkpoint on its fold's
validation scans (original grid), the predicted scar pooled over the scans:
  outlier predictions   confounder share: predicted scar voxels on the generator's scar-bright
                        confounders (`enhancing`: aortic walls, mitral annulus, LV patches,
                        spine) / all predicted scar voxels, and those voxels in ml; outside-band
                        share: predicted scar outside the ground-truth Eq. 6 band, and in ml;
  annotation bias       scar Dice against the label (the mean over the scans) and against the
                        true enhanced scar (`scar_true`, no label noise).

PRIMARY COMPARISON (fixed before any run): the confounder share after Stage II, ramp - alpha0,
at the default label-noise rate (8 %), the seed as the unit (the mean of its two folds), paired
t over the seeds, two-sided, 0.05. The paper's claim predicts a negative difference. The
difference worth detecting is 0.05 (five points of the predicted scar lying on confounders).
The number of seeds is units_needed(sd, 0.05) at the pilot's spread of that endpoint (its seed
differences' sd), at least 3. Everything else (the suppress arm, the other rates, the other
metrics) is exploratory and printed as such.

Data: the demo's phantom dataset (8 Task 1 + 16 LA-only scans, data seed 0) written once per
label-noise rate with byte-identical images (make_phantom(label_noise=)): none (0, the true
scar), default (0.08, the demo's), high (0.24, its blobs kept and more added, label only);
OUT/truth holds scar_true and enhancing per Task 1 scan. Folds come from the images, so every
rate has the same folds.
Per seed x fold: one Stage I (LA only, on the default rate's data: the LA labels are the same at
every rate), then per rate and arm one Stage II from it, the demo's budget. Arms: alpha0
(--alpha-max 0: W = 1, Eq. 8 is Eq. 1), ramp (the paper's W with the alpha(t) ramp, the
default), suppress (--wall-weighting suppress, the opt-in W_s of losses/stage_losses.py). Stage
III is not run: W acts only in Stage II, and Stage III trains on unweighted labels (Eq. 9).
--pilot: seeds 100 and 101 (never the testbed's), arms alpha0 and ramp at the default rate only;
its ledger entries carry their own protocol and are never pooled with the testbed's.

Each finished seed x fold pair goes into the ledger (--ledger, default bench/prior_claim.json;
bench/prior_ledger.py) with the protocol's SHA-256 and the commit that trained it; re-running
continues (a finished pair is skipped, an interrupted stage resumed from its .last.pt).
Cost: printed per run and in total (bench/README.md states it).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import prior_ledger  # noqa: E402  (bench/prior_ledger.py)
from bench_prior import DEMO_DATA, N_FOLDS, train  # noqa: E402  (the same data, folds, runner)

from lascar_ref.checkpoints import load_checkpoint  # noqa: E402
from lascar_ref.config import config_dict, make_config  # noqa: E402
from lascar_ref.data import read_volume, write_phantom_dataset  # noqa: E402
from lascar_ref.evaluation.evaluate import evaluate_checkpoint, init_chain  # noqa: E402
from lascar_ref.evaluation.metrics import dice  # noqa: E402
from lascar_ref.evaluation.paired import (  # noqa: E402
    compare,
    comparison_text,
    sd_upper,
    unit_text,
    units_needed,
)
from lascar_ref.losses import wall_mask  # noqa: E402

ARMS = {
    "alpha0": ["--alpha-max", "0"],
    "ramp": [],
    "suppress": ["--wall-weighting", "suppress"],
}
RATES = {"none": 0.0, "default": 0.08, "high": 0.24}
PRIMARY = {"metric": "confounder_share", "a": "ramp", "b": "alpha0", "rate": "default"}
DELTA = 0.05  # the primary difference worth detecting
MIN_SEEDS = 3
PILOT = {"seeds": [100, 101], "arms": ["alpha0", "ramp"], "rates": ["default"]}
METRICS = (
    "confounder_share",
    "confounder_ml",
    "outside_share",
    "outside_ml",
    "dice_label",
    "dice_true",
    "predicted_ml",
)


def protocol(pilot: bool) -> dict:
    """What decides the numbers; the ledger pools only pairs of the same protocol (SHA-256)."""
    return {
        "testbed": "prior_claim",
        "pilot": pilot,
        "data": {k: list(v) if isinstance(v, tuple) else v for k, v in DEMO_DATA.items()},
        "data_seed": 0,
        "rates": {r: RATES[r] for r in (PILOT["rates"] if pilot else RATES)},
        "arms": {a: ARMS[a] for a in (PILOT["arms"] if pilot else ARMS)},
        "stages": {str(s): config_dict(make_config("demo", stage=s)) for s in (1, 2)},
        "primary": PRIMARY,
        "n_folds": N_FOLDS,
    }


def claim_scores(cases: list[dict]) -> dict[str, float]:
    """The testbed's measures of one checkpoint from its validation scans, each a dict of bool
    (X, Y, Z) arrays "pred", "label", "true", "enhancing", "band" and "voxel_ml" (ml per voxel).
    Shares and ml pool the scans' voxels (a share is NaN when nothing is predicted: undefined,
    never 0); the Dice values are means over the scans (metrics.dice: 1 where both are empty)."""

    def voxels(c, which):  # predicted voxels: all, on confounders, outside the band
        return int({"all": c["pred"], "on": c["pred"] & c["enhancing"],
                    "out": c["pred"] & ~c["band"]}[which].sum())  # fmt: skip

    def pooled(which):  # (voxels, ml) over the scans
        return (sum(voxels(c, which) for c in cases),
                sum(voxels(c, which) * c["voxel_ml"] for c in cases))  # fmt: skip

    (pred, pred_ml), (on, on_ml), (out, out_ml) = pooled("all"), pooled("on"), pooled("out")
    return {
        "confounder_share": on / pred if pred else math.nan,
        "confounder_ml": on_ml,
        "outside_share": out / pred if pred else math.nan,
        "outside_ml": out_ml,
        "dice_label": float(np.mean([dice(c["pred"], c["label"]) for c in cases])),
        "dice_true": float(np.mean([dice(c["pred"], c["true"]) for c in cases])),
        "predicted_ml": pred_ml,
        "n_cases": len(cases),
    }


def write_data(out: Path, rates: list[str]) -> dict[str, Path]:
    """OUT/data_{rate} per label-noise rate (identical images), written once; the default
    rate's writing also fills OUT/truth (scar_true, enhancing per Task 1 scan)."""
    dirs = {}
    for r in rates:
        d = out / f"data_{r}"
        if not (d / "task1").is_dir():
            truth = out / "truth" if r == "default" else None
            write_phantom_dataset(d, seed=0, label_noise=RATES[r], truth=truth, **DEMO_DATA)
        dirs[r] = d
    return dirs


def score(ckpt: Path, data: Path, truth: Path) -> dict[str, float]:
    """claim_scores of a Stage II checkpoint on its fold's validation scans."""
    out = ckpt.parent / f"eval_{ckpt.stem}"
    rows = evaluate_checkpoint(init_chain(ckpt), out, {"progress": False})
    cases = []
    for r in (r for r in rows if r["structure"] == "scar"):
        task, case = r["case"].split("/")
        la = read_volume(data / task / "train_data" / case / "atriumSegImgMO.nii.gz")
        label = read_volume(data / task / "train_data" / case / "scarSegImgM.nii.gz").data > 0
        cases.append(
            {
                "pred": read_volume(out / "predictions" / f"{task}_{case}_scar.nii.gz").data > 0,
                "label": label,
                "true": read_volume(truth / case / "scar_true.nii.gz").data > 0,
                "enhancing": read_volume(truth / case / "enhancing.nii.gz").data > 0,
                "band": wall_mask(la.data > 0, la.spacing_mm),
                "voxel_ml": float(np.prod(la.spacing_mm)) / 1000,
            }
        )
    epoch = int(load_checkpoint(ckpt, schema="eval")["epoch"])
    return {**claim_scores(cases), "best_epoch": epoch}


def run_pair(pair: Path, dirs: dict, truth: Path, arms, seed: int, fold: int) -> list[dict]:
    """One seed x fold: Stage I once, then each rate x arm's Stage II from it; their records."""
    t0 = time.perf_counter()
    train(1, pair / "stage1", dirs["default"], seed, fold, [])
    print(f"seed {seed} fold {fold} stage 1 [{time.perf_counter() - t0:.0f} s]", flush=True)
    init = ["--init", str(pair / "stage1" / "stage1.pt")]
    runs = []
    for rate, data in dirs.items():
        for arm in arms:
            t0 = time.perf_counter()
            run = pair / f"{rate}_{arm}"
            train(2, run, data, seed, fold, [*init, *ARMS[arm]])
            r = {"seed": seed, "fold": fold, "variant": f"{arm}/{rate}", "stage": 2}
            r.update(arm=arm, rate=rate, seconds=round(time.perf_counter() - t0, 1))
            r.update(score(run / "stage2.pt", data, truth))
            runs.append(r)
            print(
                f"seed {seed} fold {fold} {rate:>7} {arm:>8}: confounder share "
                f"{r['confounder_share']:.3f} ({r['confounder_ml']:.2f} ml), outside band "
                f"{r['outside_share']:.3f} ({r['outside_ml']:.2f} ml), Dice label "
                f"{r['dice_label']:.3f} / true {r['dice_true']:.3f}, predicted "
                f"{r['predicted_ml']:.2f} ml [{r['seconds']:.0f} s]",
                flush=True,
            )
    return runs


def paired(results: list[dict], metric: str, a: str, b: str, rate: str) -> dict:
    """paired.compare of arm a - arm b at one rate, pairs matched by (seed, fold), the seed as
    the unit; a pair undefined in one arm (NaN) is named in "missing"."""
    arm = {
        v: {
            f"seed{r['seed']}_fold{r['fold']}": (r["seed"], r[metric])
            for r in results
            if r["arm"] == v and r["rate"] == rate and not math.isnan(r[metric])
        }
        for v in (a, b)
    }
    return compare(arm[a], arm[b], unit="seed")


def seeds_needed(c: dict) -> str:
    """Seeds the primary difference of DELTA needs at the spread of the seed differences and at
    its 95% upper bound."""
    at = [units_needed(sd, DELTA) for sd in (c["sd_units"], sd_upper(c["sd_units"], c["n_units"]))]
    return " / ".join("n/a" if n is None else str(max(n, MIN_SEEDS)) for n in at)


def comparisons(results: list[dict]) -> list[tuple[str, dict]]:
    """(label, compare) for the primary comparison first, then every exploratory one present."""
    p = PRIMARY
    out = [("PRIMARY", paired(results, p["metric"], p["a"], p["b"], p["rate"]))]
    arms = {r["arm"] for r in results}
    for rate in RATES:
        for a, b in (("ramp", "alpha0"), ("suppress", "alpha0"), ("suppress", "ramp")):
            if not {a, b} <= arms or not any(r["rate"] == rate for r in results):
                continue
            for metric in METRICS:
                if (metric, a, b, rate) == (p["metric"], p["a"], p["b"], p["rate"]):
                    continue
                out.append(
                    (f"exploratory {rate} {metric} {a} - {b}", paired(results, metric, a, b, rate))
                )
    return out


def report(results: list[dict], what: str) -> None:
    print(f"\nmean +- std per arm and rate over {what}:")
    for rate in RATES:
        for arm in ARMS:
            rs = [r for r in results if r["arm"] == arm and r["rate"] == rate]
            if not rs:
                continue
            cells = []
            for m in METRICS:
                v = np.array([r[m] for r in rs], dtype=float)
                undefined = int(np.isnan(v).sum())
                v = v[~np.isnan(v)]
                sd = f"{v.std(ddof=1):.3f}" if v.size > 1 else "n/a"
                und = f", {undefined} undefined" if undefined else ""
                cells.append(
                    f"{m} {v.mean():.3f} +- {sd} (n={v.size}{und})" if v.size else f"{m} -"
                )
            print(f"{rate:>7} {arm:>8}: " + "; ".join(cells))
    print("\npaired differences (evaluation/paired.py; unit: seed):")
    for label, c in comparisons(results):
        need = f"; seeds a {DELTA} difference needs (spread / upper bound): {seeds_needed(c)}"
        print(f"{label}: {comparison_text(c)}" + (need if label == "PRIMARY" else ""))


def markdown(results: list[dict]) -> list[str]:
    """bench/README.md's tables: one row per run, then the comparisons, the primary first."""
    out = [
        "| seed | fold | rate | arm | kept epoch | confounder share | on confounders (ml) "
        "| outside band share | outside band (ml) | Dice vs label | Dice vs true scar "
        "| predicted (ml) | s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        out.append(
            f"| {r['seed']} | {r['fold']} | {r['rate']} | {r['arm']} | {r['best_epoch']} "
            f"| {r['confounder_share']:.3f} | {r['confounder_ml']:.2f} | {r['outside_share']:.3f} "
            f"| {r['outside_ml']:.2f} | {r['dice_label']:.3f} | {r['dice_true']:.3f} "
            f"| {r['predicted_ml']:.2f} | {r['seconds']:.0f} |"
        )
    out += ["", "| comparison | mean of the seed differences [95% t-interval], p; MDD80 |"]
    out.append("|---|---|")
    for label, c in comparisons(results):
        extra = f"; seeds for {DELTA}: {seeds_needed(c)}" if label == "PRIMARY" else ""
        missing = f" (missing: {', '.join(c['missing'])})" if c["missing"] else ""
        out.append(f"| {label} | {unit_text(c)}{missing}{extra} |")
    return out


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--out", default="runs_prior_claim")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--folds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--pilot", action="store_true", help="the pilot protocol (seeds 100 101)")
    p.add_argument("--ledger", default=str(ROOT / "bench" / "prior_claim.json"))
    p.add_argument("--report-only", action="store_true")
    p.add_argument("--markdown", action="store_true", help="with --report-only")
    a = p.parse_args()
    if bad := [f for f in a.folds if not 0 <= f < N_FOLDS]:
        p.error(f"--folds {bad}: the protocol has {N_FOLDS} folds (0-{N_FOLDS - 1})")
    seeds = PILOT["seeds"] if a.pilot else a.seeds
    if not a.pilot and set(seeds) & set(PILOT["seeds"]):
        p.error(f"--seeds: {PILOT['seeds']} are the pilot's, never the testbed's")
    proto = protocol(a.pilot)
    sha = prior_ledger.protocol_sha256(proto)
    ledger_path = Path(a.ledger).resolve()
    ledger = prior_ledger.load(ledger_path)
    out = Path(a.out).resolve() / ("pilot" if a.pilot else "testbed")
    if not a.report_only:
        t_all = time.perf_counter()
        dirs = write_data(Path(a.out).resolve(), list(proto["rates"]))
        for seed in seeds:
            for fold in a.folds:
                done = prior_ledger.find(ledger, sha, seed, fold)
                if done:
                    print(f"seed {seed} fold {fold}: in the ledger ({done['commit'][:8]}), skipped")
                    continue
                pair = out / "runs" / f"seed{seed}_fold{fold}"
                truth = Path(a.out).resolve() / "truth"
                runs = run_pair(pair, dirs, truth, list(proto["arms"]), seed, fold)
                code = prior_ledger.code_state(ROOT, exclude=ledger_path)
                prior_ledger.add(ledger, proto, seed, fold, runs, code)
                prior_ledger.save(ledger_path, ledger)
        print(f"total wall time: {(time.perf_counter() - t_all) / 60:.1f} min")
    pairs = prior_ledger.current(ledger, sha)
    print(f"ledger {ledger_path}: {len(pairs)} pair(s) of protocol {sha[:12]}")
    if len({e["commit"] for e in pairs}) > 1:
        print("  note: these pairs were trained at more than one commit")
    results = [r for e in pairs for r in e["runs"]]
    if not results:
        return
    if a.markdown:
        print("\n".join(markdown(results)))
    else:
        report(results, f"{len(pairs)} seed x fold pairs")
    print(json.dumps({"protocol_sha256": sha, "pairs": len(pairs)}))


if __name__ == "__main__":
    main()
