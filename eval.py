"""Evaluate checkpoints — paper §4.2-4.4 (Tables 2 and 3); docs/design.md §6, §9.

  python eval.py --ckpt stage3.pt [--data DIR] [--fold k] [--out DIR] [--cases NAME ...]
                 [--grid original|preprocessed] [--mirror] [--device cpu] [--no-chain] [--figures]
                 [--fov crop|whole] [--re-evaluate]
  python eval.py --summary RUNS [--grid ...] [--no-evaluate] [--last-epoch]

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
    p.add_argument(
        "--data",
        help="dataset folder in any layout (default: the one the checkpoint was trained on)",
    )
    p.add_argument(
        "--fold",
        type=int,
        help="fold whose validation cases are evaluated (default: the checkpoint's)",
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


def main(argv=None) -> int:
    a = parse(argv)
    try:
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
