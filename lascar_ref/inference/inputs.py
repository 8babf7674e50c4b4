"""What predict.py reads: scans and checkpoints — docs/design.md §10.

Scans: a `.nii` / `.nii.gz` file, a folder of them (e.g. a Decathlon / nnU-Net `imagesTs/`: the
`_0000` channel suffix is stripped from the output names), or a LAScarQS-layout folder (every
`enhanced.nii.gz` below it, named after its case folder, e.g. task1_train_3). Checkpoints: files,
or a runs folder (`runs/full`: every fold*/stage3.pt, else the highest stage{N}.pt found there).
Tests: tests/test_predict.py
"""

from __future__ import annotations

from pathlib import Path

from ..data.layout import IMAGE
from ..stage_table import STAGES

NIFTI = (".nii", ".nii.gz")
NNUNET_CHANNEL = "_0000"  # nnU-Net's suffix of the first (here: only) image channel


def scan_name(path: Path, root: Path) -> str:
    """task1/train_data/train_3/enhanced.nii.gz under root -> "task1_train_3"; a plain file ->
    its name without the NIfTI suffix and without nnU-Net's channel suffix "_0000" (an
    imagesTs/ file CASE_0000.nii.gz -> "CASE")."""
    if path.name == IMAGE:
        rel = path.parent.relative_to(root) if path.parent != root else Path(root.name)
        return "_".join(p for p in rel.parts if p != "train_data") or root.name
    stem = path.name[: -len(".nii.gz")] if path.name.endswith(".nii.gz") else path.stem
    return stem[: -len(NNUNET_CHANNEL)] if stem.endswith(NNUNET_CHANNEL) else stem


def find_scans(paths: list[str | Path]) -> list[tuple[str, Path]]:
    """[(unique name, image path)] in the order given; ValueError naming a path that holds none."""
    found = []
    for given in map(Path, paths):
        if given.is_file():
            found.append((scan_name(given, given.parent), given))
        elif given.is_dir():
            layout = sorted(given.rglob(IMAGE))
            files = layout or sorted(
                p for p in given.iterdir() if p.is_file() and p.name.endswith(NIFTI)
            )
            if not files:
                raise ValueError(
                    f"{given}: no .nii / .nii.gz scans (nor LAScarQS enhanced.nii.gz) inside"
                )
            found += [(scan_name(p, given), p) for p in files]
        else:
            raise ValueError(f"{given}: no such file or folder")
    names = [n for n, _ in found]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(
            f"several scans would be written as {dupes}; give them distinct file names"
        )
    return found


def expand_checkpoints(paths: list[str | Path]) -> list[Path]:
    """Files as given; a folder -> its fold*/stage3.pt (an ensemble), else its best stage{N}.pt."""
    out = []
    for given in map(Path, paths):
        if given.is_dir():
            last = max(STAGES)  # the final stage (III): one per fold is an ensemble
            folds = sorted(given.glob(f"fold*/stage{last}.pt"))
            single = [
                given / f"stage{n}.pt"
                for n in sorted(STAGES, reverse=True)
                if (given / f"stage{n}.pt").is_file()
            ]
            if not folds and not single:
                raise ValueError(f"{given}: no fold*/stage{last}.pt or stage{{N}}.pt inside")
            out += folds or single[:1]
        else:
            out.append(given)
    return out
