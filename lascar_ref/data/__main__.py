"""Dataset commands (docs/design.md §5, §7).

python -m lascar_ref.data check DIR              report every problem of a LAScarQS-layout dataset
python -m lascar_ref.data phantoms OUT [--n-task1 6 --n-task2-only 4 --shape 576 576 44
                                        --spacing 0.625 0.625 2.5 --seed 0]
python -m lascar_ref.data realism DIR [--json FILE]
                                 how hard the scans are: CNR, best-threshold LA Dice, LA volume,
                                 scar fraction and scar inside / outside the Eq. 6 wall band, per
                                 scan and as median (min - max) (realism.py); for phantoms or a
                                 real dataset alike, so the two can be compared
"""

from __future__ import annotations

import argparse
import sys

from .nifti_io import DataError
from .phantom import REALISTIC_SHAPE, REALISTIC_SPACING, write_phantom_dataset
from .validate import check_dataset


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m lascar_ref.data",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check", help="validate a dataset, reporting all problems at once")
    c.add_argument("root")
    g = sub.add_parser("phantoms", help="write a synthetic phantom dataset in the LAScarQS layout")
    g.add_argument("out")
    g.add_argument("--n-task1", type=int, default=6)
    g.add_argument("--n-task2-only", type=int, default=4)
    g.add_argument("--shape", type=int, nargs=3, default=list(REALISTIC_SHAPE))
    g.add_argument("--spacing", type=float, nargs=3, default=list(REALISTIC_SPACING))
    g.add_argument("--seed", type=int, default=0)
    r = sub.add_parser("realism", help="realism statistics of a dataset's scans (phantom or real)")
    r.add_argument("root")
    r.add_argument("--json", help="also write the per-scan statistics to this JSON file")
    a = p.parse_args(argv)
    if a.cmd == "realism":
        return realism(a.root, a.json)
    if a.cmd == "check":
        info: list[str] = []
        problems = check_dataset(a.root, info=info)
        for msg in problems + info:
            print(msg)
        print(f"{len(problems)} problem(s) found in {a.root}")
        return 1 if problems else 0
    write_phantom_dataset(
        a.out,
        a.n_task1,
        a.n_task2_only,
        tuple(a.shape),
        tuple(a.spacing),
        a.seed,
        progress=sys.stderr.isatty(),  # bars on a terminal only (a redirected log stays short)
    )
    print(f"wrote {a.n_task1} Task 1 and {a.n_task1 + a.n_task2_only} Task 2 scans to {a.out}")
    return 0


def realism(root: str, json_path: str | None) -> int:
    """Print (and optionally save) the realism statistics of every scan under `root`."""
    import json
    from pathlib import Path

    from .layout import has_task
    from .realism import dataset_stats, report

    if not (has_task(root, 1) or has_task(root, 2)):
        print(f"{root}: neither task1/train_data nor task2/train_data found", file=sys.stderr)
        return 2
    try:
        named = dataset_stats(root)
    except DataError as e:
        print(f"realism: error: {e}", file=sys.stderr)
        return 2
    for line in report(named):
        print(line)
    if json_path:
        Path(json_path).write_text(json.dumps(dict(named), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
