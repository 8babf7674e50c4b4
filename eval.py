"""Evaluate checkpoints — paper §4.2-4.4 (Tables 2 and 3); docs/design.md §6, §9.

  python eval.py --ckpt stage3.pt [--data DIR] [--fold k] [--out DIR] [--cases NAME ...]
                 [--grid original|preprocessed] [--mirror] [--device cpu] [--no-chain] [--figures]
                 [--fov crop|whole] [--re-evaluate]
  python eval.py --summary RUNS [--grid ...] [--no-evaluate] [--last-epoch]
  python eval.py --pred DIR --data DATA --fold k|all [--name NAME] [--out OUT] [--labels ...]
                 [--splits FILE | --n-folds 5 --seed 0] [--re-evaluate]

--ckpt: sliding-window inference on the fold's validation cases (the fold, data and preprocessing
stored in the checkpoint unless given), predictions as NIfTI in each case's original geometry and
per-case metrics as CSV and JSON under OUT/stage{N}/, and the paper's Table 2 layout. By default
the checkpoint's --init chain is followed (stage3.pt <- stage2.pt <- stage1.pt), each link by the
SHA-256 the checkpoint recorded of its --init, giving Table 2's rows I, I+II, I+II+III, every row
scored on the same Task 1 validation cases of the fold (the paper's n = 12); only a dataset
without Task 1 scores Stage I on Task 2. A stored metrics.json is reused only when its provenance
(checkpoint and chain hashes, grid, mirror, data root, cases) matches. HD / ASD cells count a case
with one empty mask as the diagonal of its field of view, with the number of such cases shown.
--fov whole scores what predict.py produces: inference over the whole resampled scan through the
same code (inference/whole_scan.py), so false positives outside the training crop count.
--pred: any model's predicted label maps (nnU-Net's or another's: DIR/{case}.nii.gz, the case name
with "/" as "_"; --fold all: DIR/fold{k}/) scored on the fold's validation cases by the same
metrics, grid and penalty as --ckpt, into OUT/fold{k}/metrics.{csv,json}; the values are read
by --labels, else by the dataset.json nnU-Net writes beside its predictions (region-based output:
a voxel counts in the region its value names only), else by the dataset's own mapping. Every
missing or extra file, wrong shape or affine and unnamed value is reported at once, before any
metric. OUT/external.json makes OUT a Table 3 row named NAME for --summary (put OUT under RUNS).
--figures (needs the viz extra) adds a Fig. 3-like PNG per case and the training curves.
--summary: Tables 2 and 3 over every fold and recipe under RUNS (train.py --recipe), evaluating
what has no up-to-date result, with paired comparisons (each recipe against full, each Table 2
row against the one before; the fold is the unit, scar Dice of each baseline against full the
primary endpoint, Holm-adjusted); written to RUNS/summary.{md,csv,json}. --last-epoch tabulates
every stage's last epoch (stage{N}.last.pt) instead of the kept one, into
RUNS/summary_last.{md,csv,json}: the kept epoch is chosen on the validation scans it is scored on
(as in the paper), and the last epoch's score beside it shows how much that choice adds.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lascar_ref.config.cli import add_progress_options
from lascar_ref.config.presets import PRESETS
from lascar_ref.errors import CheckpointError, DataError
from lascar_ref.evaluation.evaluate import init_chain, stored_or_evaluated
from lascar_ref.evaluation.summary import summarize_runs
from lascar_ref.evaluation.summary_report import render, write_summary
from lascar_ref.evaluation.tables import table2
from lascar_ref.stage_table import STAGES


def parse(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--ckpt", help="a stage{N}.pt or stage{N}.last.pt")
    what.add_argument(
        "--summary", metavar="RUNS", help="Tables 2 and 3 over the recipe folders under RUNS"
    )
    what.add_argument(
        "--pred", metavar="DIR", help="a folder of predicted label maps (nnU-Net or any model)"
    )
    p.add_argument("--name", help="--pred: the model's name, its Table 3 row (default: DIR's)")
    p.add_argument(
        "--labels", help="--pred: the prediction files' values, e.g. la=1,scar=2 (see above)"
    )
    p.add_argument("--splits", help="--pred: a split file (ours or nnU-Net's splits_final.json)")
    p.add_argument("--n-folds", type=int, default=5, help="--pred: folds of the assignment")
    p.add_argument("--seed", type=int, default=0, help="--pred: seed of the assignment")
    p.add_argument(
        "--data",
        help="dataset folder in any layout (default: the one the checkpoint was trained on)",
    )
    p.add_argument(
        "--fold",
        help="fold whose validation cases are evaluated (default: the checkpoint's); --pred: a "
        "fold number or all",
    )
    p.add_argument("--out", default="eval", help="output folder (default: eval)")
    p.add_argument("--cases", nargs="+", help="only these validation cases (e.g. task1/train_3)")
    p.add_argument(
        "--grid",
        choices=["original", "preprocessed"],
        default="original",
        help="metric grid: each case's original grid (challenge, default) or the preprocessed one",
    )
    p.add_argument(
        "--fov",
        choices=["crop", "whole"],
        default="crop",
        help="inference over the training crop (default), or over the whole resampled scan "
        "exactly as predict.py does (scored on the original grid)",
    )
    p.add_argument(
        "--mirror", action="store_true", help="mirroring test-time augmentation (8 flips)"
    )
    p.add_argument("--device", default=None, help="default: the checkpoint's (auto)")
    p.add_argument("--cache", default=None, help="preprocessed cache (default: the checkpoint's)")
    p.add_argument(
        "--no-chain", action="store_true", help="evaluate only --ckpt, not its --init chain"
    )
    p.add_argument(
        "--no-evaluate",
        action="store_true",
        help="--summary: only read stored results whose provenance matches; name the stale ones",
    )
    p.add_argument(
        "--last-epoch",
        action="store_true",
        help="--summary: score every stage's last epoch (stage{N}.last.pt), not the kept one; "
        "into RUNS/summary_last.*",
    )
    p.add_argument(
        "--re-evaluate",
        action="store_true",
        help="--ckpt: evaluate even when a stored result has the same provenance",
    )
    p.add_argument(
        "--figures", action="store_true", help="Fig. 3-like PNGs and training curves (viz extra)"
    )
    p.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        default=None,
        help="accepted for symmetry with train.py; each checkpoint's own configuration is used",
    )
    add_progress_options(p)
    return p.parse_args(argv)


def fold_number(text: str | None) -> int | None:
    """--fold as an integer (None when not given); ValueError naming the value otherwise."""
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"--fold {text!r}: expected a fold number") from None


def predictions(a: argparse.Namespace) -> int:
    """--pred: score a folder of predictions per fold and mark --out as an external model."""
    from lascar_ref.config import show_bars
    from lascar_ref.evaluation.external import Request, record, score, validation_cases

    if not a.data or a.fold is None:
        raise ValueError("--pred needs --data (the dataset predicted) and --fold (k or all)")
    if a.grid != "original":
        raise ValueError("--pred is scored on the original grid, where the predictions lie")
    name = a.name or Path(a.pred).resolve().name
    given = {"data": a.data, "labels": a.labels, "splits": a.splits, "seed": a.seed}
    if a.fold == "all":
        first = Request(str(Path(a.pred) / "fold0"), fold=0, n_folds=a.n_folds, **given)
        folds = list(range(validation_cases(first)[3]))  # the assignment's (or file's) folds
    else:
        folds = [fold_number(a.fold)]
    for k in folds:
        where = Path(a.pred) / f"fold{k}" if a.fold == "all" else Path(a.pred)
        req = Request(str(where.resolve()), fold=k, n_folds=a.n_folds, **given)
        req.data = str(Path(a.data).resolve())
        out = Path(a.out) / f"fold{k}"
        bars = show_bars(a.progress)
        rows, why, _, n_folds = score(req, out, reuse=not a.re_evaluate, progress=bars)
        if not why:
            print(f"fold {k}: {out / 'metrics.json'} is up to date (same provenance)")
        record(Path(a.out), name, req, n_folds)
        print(f"{name}, fold {k}: metrics in {out}/")
        print(table2([(name, rows)]))
    print(f"{Path(a.out) / 'external.json'}: {name} is a Table 3 row of eval.py --summary")
    return 0


def main(argv=None) -> int:
    a = parse(argv)
    try:
        if a.pred:
            return predictions(a)
        a.fold = fold_number(a.fold)
        if a.figures:
            from lascar_ref.evaluation.figures import require_matplotlib

            require_matplotlib()
        if a.summary:
            given = {"evaluate": not a.no_evaluate, "grid": a.grid, "last": a.last_epoch}
            summary = summarize_runs(Path(a.summary), **given)
            name = "summary_last" if a.last_epoch else "summary"
            write_summary(summary, Path(a.summary), name)
            print(render(summary))
            print(f"written: {Path(a.summary) / name}.md, {name}.csv, {name}.json")
            return 0
        overrides = {
            "data": a.data,
            "fold": a.fold,
            "device": a.device,
            "cache": a.cache,
            "progress": a.progress,
        }
        results, label, chain = [], [], init_chain(Path(a.ckpt), not a.no_chain)
        for k, (path, state) in enumerate(chain):
            spec = STAGES[state["stage"]]
            out = Path(a.out) / f"stage{spec.number}"
            given = (chain[: k + 1], out, overrides, a.grid, a.cases, a.mirror, a.fov)
            rows, why = stored_or_evaluated(*given, reuse=not a.re_evaluate, say=lambda *_: None)
            if not why:
                print(f"Stage {spec.roman}: {out / 'metrics.json'} is up to date (same provenance)")
            label.append(spec.roman)
            results.append(("+".join(label), rows))
            print(
                f"Stage {spec.roman} ({path}), fold {state['config']['fold']}, {a.grid} grid: "
                f"predictions and metrics in {out}/"
            )
        if a.figures:
            from lascar_ref.evaluation.figures import case_figures, training_curves

            written = case_figures(chain, Path(a.out), overrides)
            written += [
                training_curves(p.with_name(f"stage{s['stage']}.log.jsonl"), Path(a.out))
                for p, s in chain
                if p.with_name(f"stage{s['stage']}.log.jsonl").is_file()
            ]
            print(f"figures: {len(written)} PNG files in {Path(a.out) / 'figures'}/")
    except (DataError, CheckpointError, ValueError, ImportError) as e:
        print(f"eval.py: error: {e}", file=sys.stderr)
        return 2
    print(table2(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
