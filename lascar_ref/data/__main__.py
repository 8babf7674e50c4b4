"""Dataset commands (docs/design.md §5, §7).

python -m lascar_ref.data check DIR [--labels la=1,scar=2]
                                 every problem of a dataset at once (LAScarQS, Decathlon or
                                 nnU-Net layout), the layout, the label mapping, the stages it
                                 supports and the groups of copies of one scan
python -m lascar_ref.data folds DIR [--n-folds 5] [--seed 0] [--out splits.json] [--labels ...]
                                 [--format lascar_ref|nnunet]
                                 each case's fold and group, exactly as training assigns them
                                 (train.py --splits reads the file back); --format nnunet writes
                                 nnU-Net's splits_final.json (fold k = entry k), names as ours
python -m lascar_ref.data nnunet DIR OUT [--n-folds 5] [--seed 0] [--splits FILE] [--labels ...]
                                 the LA + scar cases as an nnU-Net v2 raw dataset (dataset.json,
                                 imagesTr/, labelsTr/) with our folds as its splits_final.json and
                                 the case-name mapping (nnunet_export.py), so that nnU-Net trains
                                 on exactly our folds and its predictions pair with our cases
python -m lascar_ref.data phantoms OUT [--layout lascarqs|msd|nnunet] [--n-task1 6
                                        --n-task2-only 4 --shape 576 576 44
                                        --spacing 0.625 0.625 2.5 --seed 0]
python -m lascar_ref.data realism DIR [--json FILE] [--labels ...]
                                 how hard the scans are: CNR, best-threshold LA Dice, LA volume,
                                 scar fraction and scar inside / outside the Eq. 6 wall band, per
                                 scan and as median (min - max) (realism.py); for phantoms or a
                                 real dataset alike, so the two can be compared
"""

from __future__ import annotations

import argparse
import sys

from .folds import N_FOLDS
from .input_checks import check_dataset
from .nifti_io import DataError
from .phantom import REALISTIC_SHAPE, REALISTIC_SPACING, write_phantom_dataset
from .phantom_layouts import LAYOUT_FORMS, write_layout_phantoms

LABELS_HELP = "label values of a label map, e.g. la=1,2,scar=2 (default: dataset.json's names)"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m lascar_ref.data",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check", help="validate a dataset, reporting all problems at once")
    c.add_argument("root")
    c.add_argument("--labels", help=LABELS_HELP)
    f = sub.add_parser("folds", help="print and write each case's fold and group")
    f.add_argument("root")
    f.add_argument("--n-folds", type=int, default=N_FOLDS, help="number of folds (default: 5)")
    f.add_argument("--seed", type=int, default=0, help="seed of the assignment (default: 0)")
    f.add_argument("--out", help="also write the split file (JSON) here")
    f.add_argument("--labels", help=LABELS_HELP)
    f.add_argument(
        "--format",
        choices=("lascar_ref", "nnunet"),
        default="lascar_ref",
        help="--out as our split file (default) or nnU-Net's splits_final.json",
    )
    x = sub.add_parser("nnunet", help="write the LA + scar cases as an nnU-Net raw dataset")
    x.add_argument("root")
    x.add_argument("out", help="the nnU-Net raw dataset folder, e.g. .../Dataset501_LAScar")
    x.add_argument("--n-folds", type=int, default=N_FOLDS, help="number of folds (default: 5)")
    x.add_argument("--seed", type=int, default=0, help="seed of the assignment (default: 0)")
    x.add_argument("--splits", help="a split file to use instead of the assignment")
    x.add_argument("--labels", help=LABELS_HELP)
    g = sub.add_parser("phantoms", help="write a synthetic phantom dataset")
    g.add_argument("out")
    g.add_argument(
        "--layout",
        choices=("lascarqs", *LAYOUT_FORMS),
        default="lascarqs",
        help="lascarqs: task1/ + task2/; msd, nnunet: dataset.json, imagesTr/, labelsTr/ with "
        "--n-task1 LA + scar cases in label maps (default: lascarqs)",
    )
    g.add_argument("--n-task1", type=int, default=6)
    g.add_argument("--n-task2-only", type=int, default=4, help="LA-only scans (lascarqs only)")
    g.add_argument("--shape", type=int, nargs=3, default=list(REALISTIC_SHAPE))
    g.add_argument("--spacing", type=float, nargs=3, default=list(REALISTIC_SPACING))
    g.add_argument("--seed", type=int, default=0)
    r = sub.add_parser("realism", help="realism statistics of a dataset's scans (phantom or real)")
    r.add_argument("root")
    r.add_argument("--json", help="also write the per-scan statistics to this JSON file")
    r.add_argument("--labels", help=LABELS_HELP)
    a = p.parse_args(argv)
    try:
        if a.cmd == "realism":
            return realism(a.root, a.json, a.labels)
        if a.cmd == "check":
            return check(a.root, a.labels)
        if a.cmd == "folds":
            return folds(a.root, a.n_folds, a.seed, a.out, a.labels, a.format)
        if a.cmd == "nnunet":
            return nnunet(a.root, a.out, a.n_folds, a.seed, a.splits, a.labels)
    except DataError as e:
        print(f"{a.cmd}: error: {e}", file=sys.stderr)
        return 2
    return phantoms(a)


def check(root: str, labels: str | None) -> int:
    from ..stage_table import STAGE_TASKS  # the command may read the table above data/

    info: list[str] = []
    problems = check_dataset(root, labels, info=info, stage_tasks=STAGE_TASKS)
    for msg in problems + info:
        print(msg)
    print(f"{len(problems)} problem(s) found in {root}")
    return 1 if problems else 0


def folds(
    root: str, n_folds: int, seed: int, out: str | None, labels: str | None, form: str
) -> int:
    """The assignment training makes (stage_data.fold_split), without training: validate and
    read every scan, group copies, deal the groups; print one line per case."""
    from .assignment import dataset_assignment
    from .dataset import open_dataset
    from .nnunet_export import write_nnunet_splits
    from .splits import split_sha256, write_splits

    if n_folds < 2:
        raise DataError(f"--n-folds {n_folds}: must be at least 2")
    ds = open_dataset(root, labels)
    for message in ds.ignored:
        print(f"warning: {message}")
    assigned, groups = dataset_assignment(ds, n_folds, seed)
    of = groups.of()
    for name in sorted(assigned):
        print(f"{name}\tfold {assigned[name]}\tgroup {of[name]}")
    for line in groups.lines():
        print(line)
    print(f"split SHA-256 {split_sha256(assigned)} ({n_folds} folds, seed {seed})")
    if out and form == "nnunet":
        write_nnunet_splits(out, assigned, n_folds)
        print(f"wrote {out} (nnU-Net's splits_final.json; case names as in {root})")
        if any("/" in n for n in assigned):
            print(
                "note: these case names hold '/', which nnU-Net's do not; for nnU-Net write the "
                f"LA + scar cases with: python -m lascar_ref.data nnunet {root} OUT"
            )
    elif out:
        write_splits(out, assigned, groups, n_folds, seed, ds.root)
        print(f"wrote {out}")
    return 0


def nnunet(
    root: str, out: str, n_folds: int, seed: int, splits: str | None, labels: str | None
) -> int:
    """Write the LA + scar cases of `root` as an nnU-Net raw dataset with our folds."""
    from .assignment import dataset_assignment
    from .dataset import open_dataset
    from .nnunet_export import MAPPING, export_nnunet
    from .splits import check_split, read_splits

    ds = open_dataset(root, labels)
    assigned, groups = dataset_assignment(ds, n_folds, seed)
    if splits:
        given = read_splits(splits)
        check_split(given, ds.names(), groups)
        assigned, n_folds = given.folds, given.n_folds
    mapping = export_nnunet(ds, assigned, n_folds, out)
    print(
        f"wrote {len(mapping['cases'])} LA + scar cases to {out} (nnU-Net v2 raw layout), "
        f"{out}/splits_final.json ({n_folds} folds of split {mapping['split_sha256'][:12]}...) "
        f"and {out}/{MAPPING}"
    )
    print("note: nnU-Net trains on the LA + scar cases only; our Stage I also uses LA-only scans")
    return 0


def phantoms(a: argparse.Namespace) -> int:
    bars = sys.stderr.isatty()  # bars on a terminal only (a redirected log stays short)
    geometry = (tuple(a.shape), tuple(a.spacing), a.seed)
    if a.layout != "lascarqs":
        write_layout_phantoms(a.out, a.layout, a.n_task1, *geometry, progress=bars)
        print(f"wrote {a.n_task1} LA + scar scans ({a.layout} layout) to {a.out}")
        return 0
    write_phantom_dataset(a.out, a.n_task1, a.n_task2_only, *geometry, progress=bars)
    print(f"wrote {a.n_task1} Task 1 and {a.n_task1 + a.n_task2_only} Task 2 scans to {a.out}")
    return 0


def realism(root: str, json_path: str | None, labels: str | None) -> int:
    """Print (and optionally save) the realism statistics of every scan under `root`."""
    import json
    from pathlib import Path

    from .realism import dataset_stats, report

    named = dataset_stats(root, labels=labels)
    for line in report(named):
        print(line)
    if json_path:
        Path(json_path).write_text(json.dumps(dict(named), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
