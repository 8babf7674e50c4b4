"""Split files: a fold assignment written, read and checked — paper §4.2; docs/design.md §5.

Ours (`python -m lascar_ref.data folds DIR --out splits.json`, the assignment training makes):
  {"format": "lascar_ref-splits", "n_folds": 5, "seed": 0, "dataset": "/data/LAScarQS",
   "cases": {"task1/train_3": {"fold": 0, "group": 4}, ...}}
nnU-Net's `splits_final.json`: [{"train": [...], "val": [...]}, ...]; fold k is the k-th entry,
and a case's fold is the entry whose "val" holds it.
`check_split` runs before any training: every case of the dataset present exactly once, no
group of copies (groups.py) across folds, fold numbers in range; each violation is one line
naming the case, and all of them are reported at once. `split_sha256` is the SHA-256 of the
assignment itself (names and folds, whatever file or form it came from): every run records it,
and --resume refuses a different one. Tests: tests/test_data_splits.py
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError
from .groups import Groups

FORMAT = "lascar_ref-splits"


@dataclass
class SplitFile:
    """A fold assignment read from a file."""

    path: Path
    folds: dict[str, int]  # case name -> fold
    n_folds: int
    form: str  # "lascar_ref" or "nnunet"
    problems: list[str]  # what reading found (a case twice, a bad fold number), one per line


def split_sha256(folds: dict[str, int]) -> str:
    """SHA-256 of the assignment: the JSON of {name: fold} with sorted keys."""
    return hashlib.sha256(json.dumps(folds, sort_keys=True).encode()).hexdigest()


class _Pairs(list):
    """A JSON object as its list of (key, value): duplicate keys survive to be reported."""


def read_splits(path: str | Path) -> SplitFile:
    """Read our split file or nnU-Net's splits_final.json; DataError naming the file when it is
    not one. Per-case problems are collected in `problems` for check_split to report."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text(), object_pairs_hook=_Pairs)
    except FileNotFoundError:
        raise DataError(f"{path}: split file not found") from None
    except (OSError, ValueError) as e:
        raise DataError(f"{path}: unreadable split file ({type(e).__name__}: {e})") from None
    if isinstance(raw, list) and not isinstance(raw, _Pairs):
        return _read_nnunet(path, raw)
    top = dict(raw) if isinstance(raw, _Pairs) else {}
    if top.get("format") != FORMAT or not isinstance(top.get("cases"), _Pairs):
        raise DataError(
            f"{path}: not a split file (expected {{'format': '{FORMAT}', 'cases': {{...}}}} or "
            f"nnU-Net's splits_final.json list of {{'train', 'val'}})"
        )
    n_folds = top.get("n_folds")
    if not isinstance(n_folds, int) or n_folds < 2:
        raise DataError(f"{path}: n_folds must be an integer >= 2, found {n_folds!r}")
    folds, problems = {}, []
    for name, entry in top["cases"]:
        fold = dict(entry).get("fold") if isinstance(entry, _Pairs) else entry
        if name in folds:
            problems.append(f"{path}: case {name} is listed more than once")
        elif not isinstance(fold, int) or not 0 <= fold < n_folds:
            problems.append(f"{path}: case {name} has fold {fold!r}, outside 0..{n_folds - 1}")
        else:
            folds[name] = fold
    return SplitFile(path, folds, n_folds, "lascar_ref", problems)


def _read_nnunet(path: Path, raw: list) -> SplitFile:
    """nnU-Net's list of {"train": [...], "val": [...]} -> the fold of each case."""
    entries = [dict(e) if isinstance(e, _Pairs) else None for e in raw]
    if len(entries) < 2 or any(
        e is None or not isinstance(e.get("train"), list) or not isinstance(e.get("val"), list)
        for e in entries
    ):
        raise DataError(f"{path}: expected a list of at least 2 {{'train': [...], 'val': [...]}}")
    folds, problems = {}, []
    everyone = {n for e in entries for n in e["train"] + e["val"]}
    for k, entry in enumerate(entries):
        for name, count in Counter(entry["train"] + entry["val"]).items():
            if count > 1:
                problems.append(f"{path}: case {name} appears {count} times in fold {k}'s lists")
        for name in entry["val"]:
            if name in folds and folds[name] != k:
                problems.append(f"{path}: case {name} validates in folds {folds[name]} and {k}")
            folds.setdefault(name, k)
        for name in sorted(everyone - set(entry["train"]) - set(entry["val"])):
            problems.append(f"{path}: case {name} is in neither train nor val of fold {k}")
    for name in sorted(everyone - set(folds)):
        problems.append(f"{path}: case {name} is never a validation case")
    return SplitFile(path, folds, len(entries), "nnunet", problems)


def check_split(split: SplitFile, names, groups: Groups) -> None:
    """DataError listing every violation, one line each naming the case: a case of the dataset
    without a fold, a case the dataset does not have, a case twice, a fold out of range, a group
    of copies split across folds, a fold without validation cases."""
    problems = list(split.problems)
    names = set(names)
    for name in sorted(names - set(split.folds)):
        problems.append(f"{split.path}: case {name} of the dataset has no fold")
    for name in sorted(set(split.folds) - names):
        problems.append(f"{split.path}: case {name} is not in the dataset")
    for members in groups.shared():
        seen = {n: split.folds[n] for n in members if n in split.folds}
        if len(set(seen.values())) > 1:
            where = ", ".join(f"{n} in fold {f}" for n, f in seen.items())
            problems.append(
                f"{split.path}: copies of one scan are split across folds ({where}); a copy "
                f"would train in the fold where another validates"
            )
    used = set(split.folds.values())
    for k in range(split.n_folds):
        if k not in used:
            problems.append(f"{split.path}: fold {k} has no validation case")
    if problems:
        raise DataError("\n".join(problems))


def write_splits(
    path: str | Path, folds: dict[str, int], groups: Groups, n_folds: int, seed: int, root
) -> None:
    """Our split file: each case's fold and group (the index in groups.members)."""
    of = groups.of()
    doc = {
        "format": FORMAT,
        "n_folds": n_folds,
        "seed": seed,
        "dataset": str(Path(root).resolve()),
        "sha256": split_sha256(folds),
        "cases": "CASES",
    }
    cases = ",\n".join(
        f"  {json.dumps(n)}: {json.dumps({'fold': folds[n], 'group': of[n]})}"
        for n in sorted(folds)
    )  # one line per case
    text = json.dumps(doc, indent=1).replace('"CASES"', "{\n" + cases + "\n }")
    Path(path).write_text(text + "\n")
