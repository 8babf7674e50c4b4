"""Preprocessing and its cache — paper §4.1; docs/design.md §5.

  0. reorient to RAS (orientation.py), so any stored axis order gives the same arrays;
  1. resample to (0.625, 0.625, 2.5) mm: image trilinear, labels nearest (centre-aligned voxel
     grids: source index = (target index + 0.5) * new / old spacing - 0.5; skipped when equal);
  2. centre crop or pad to 384 x 256 x 40 (pad value: the image minimum; labels 0), with a
     warning naming the case when the crop cuts labelled voxels;
  3. z-score over the cropped image;
  4. the Eq. 6 wall mask of the ground-truth LA on the whole preprocessed volume.
Results are cached once as .npy (memory-mapped on load) in a folder keyed by the source files'
bytes and the parameters (the byte hash memoised by path, size and modification time), written
atomically, with the user's umask; an epoch never re-reads .nii.gz. `meta.json` keeps what is
needed to map predictions back (docs/design.md §5); `fingerprint.npy` holds the content
fingerprint that matches scans across tasks (fingerprint.py). Tests: tests/test_data_preprocess.py
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..losses.wall_mask import DELTA_IN_MM, DELTA_OUT_MM, wall_mask
from .fingerprint import fingerprint
from .input_checks import load_case
from .layout import Case, require_files
from .orientation import from_ras, to_ras

CACHE_VERSION = 3  # 2: content fingerprint (fingerprint.py); 3: RAS orientation (orientation.py)
TARGET_SPACING_MM = (0.625, 0.625, 2.5)  # paper §4.1
TARGET_SIZE = (384, 256, 40)  # paper §4.1


@dataclass(frozen=True)
class PreprocessConfig:
    """Target grid and Eq. 6 widths; part of the cache key."""

    spacing_mm: tuple[float, float, float] = TARGET_SPACING_MM
    size: tuple[int, int, int] = TARGET_SIZE
    delta_in_mm: float = DELTA_IN_MM  # Eq. 6
    delta_out_mm: float = DELTA_OUT_MM  # Eq. 6


@dataclass
class Preprocessed:
    """One cached case: arrays memory-mapped from .npy, meta from meta.json."""

    name: str
    task: int
    image: np.ndarray  # (X, Y, Z) float32, z-scored
    la: np.ndarray  # (X, Y, Z) uint8
    scar: np.ndarray | None  # (X, Y, Z) uint8, None for Task 2
    wall: np.ndarray  # (X, Y, Z) uint8, Eq. 6 band of the ground-truth LA
    meta: dict
    fingerprint: np.ndarray  # FP_SHAPE float32, fingerprint.py (docs/design.md §5)


def resample(data: np.ndarray, src_mm, dst_mm, label: bool) -> np.ndarray:
    """(X, Y, Z) array from spacing src_mm to dst_mm (trilinear, or nearest for labels)."""
    if np.allclose(src_mm, dst_mm, rtol=1e-6, atol=0):
        return data
    scale = [s / d for s, d in zip(src_mm, dst_mm)]
    size = [max(1, int(round(n * f))) for n, f in zip(data.shape, scale)]
    t = torch.from_numpy(np.ascontiguousarray(data, dtype=np.float32))[None, None]
    out = F.interpolate(
        t,
        size=size,
        mode="nearest-exact" if label else "trilinear",
        **({} if label else {"align_corners": False}),
    )
    return out[0, 0].numpy().astype(data.dtype if label else np.float32)


def crop_slices(starts, full_shape, size) -> tuple[tuple[slice, ...], tuple[slice, ...]]:
    """Per axis, the slice of the full (resampled) array and of the cropped/padded array that
    overlap."""
    src = tuple(
        slice(st, st + s) if st >= 0 else slice(0, n) for st, n, s in zip(starts, full_shape, size)
    )
    dst = tuple(
        slice(0, s) if st >= 0 else slice(-st, -st + n)
        for st, n, s in zip(starts, full_shape, size)
    )
    return src, dst


def crop_or_pad(data: np.ndarray, size, fill: float) -> tuple[np.ndarray, list[int]]:
    """Centre crop or pad (X, Y, Z) to `size`; returns the array and, per axis, the source index of
    output voxel 0 (negative when padded)."""
    starts = [(n - s) // 2 for n, s in zip(data.shape, size)]
    out = np.full(size, fill, dtype=data.dtype)
    src, dst = crop_slices(starts, data.shape, size)
    out[dst] = data[src]
    return out, starts


def current_umask() -> int:
    """The process umask (read by setting and restoring it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _cache_key(case: Case, cfg: PreprocessConfig, cache_dir: Path) -> str:
    """Hash of the source files' bytes and the parameters. The byte hash is memoised under
    cache_dir/.keys by (path, size, mtime), so a cache hit reads no source byte."""
    key = {"v": CACHE_VERSION, "cfg": asdict(cfg)}
    if case.labels is not None:  # a label map's mapping decides the masks (label_map.py)
        key["labels"] = case.labels.to_json()
    params = json.dumps(key, sort_keys=True)
    sources = [p for p in (case.image, case.la, case.scar) if p is not None]
    require_files(case)  # a missing file is a DataError naming it, never a FileNotFoundError
    stamp = [[str(Path(p).resolve()), os.stat(p).st_size, os.stat(p).st_mtime_ns] for p in sources]
    memo = (
        cache_dir
        / ".keys"
        / (hashlib.sha1((json.dumps(stamp) + params).encode()).hexdigest()[:20] + ".json")
    )
    if memo.is_file():
        return json.loads(memo.read_text())["key"]
    h = hashlib.sha1(params.encode())
    for path in sources:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 22), b""):
                h.update(chunk)
    key = h.hexdigest()[:20]
    memo.parent.mkdir(parents=True, exist_ok=True)
    tmp = memo.with_name(f"{memo.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"stamp": stamp, "key": key}))
    os.replace(tmp, memo)
    return key


def _load(folder: Path, case: Case) -> Preprocessed:
    meta = json.loads((folder / "meta.json").read_text())
    arr = {k: np.load(folder / f"{k}.npy", mmap_mode="r") for k in ("image", "la", "wall")}
    scar = np.load(folder / "scar.npy", mmap_mode="r") if (folder / "scar.npy").exists() else None
    fp = np.load(folder / "fingerprint.npy")
    return Preprocessed(case.name, case.task, arr["image"], arr["la"], scar, arr["wall"], meta, fp)


def preprocess_case(
    case: Case, cache_dir: str | Path, cfg: PreprocessConfig = PreprocessConfig()
) -> Preprocessed:
    """Preprocess one case, or load it from the cache (no NIfTI read on a hit)."""
    cache_dir = Path(cache_dir)
    folder = cache_dir / f"{case.name.replace('/', '-')}-{_cache_key(case, cfg, cache_dir)}"
    if not (folder / "meta.json").exists():
        arrays, meta = _preprocess_arrays(case, cfg)
        _write_cache(folder, arrays, meta)
    return _load(folder, case)


def _preprocess_arrays(case: Case, cfg: PreprocessConfig) -> tuple[dict[str, np.ndarray], dict]:
    """The cached arrays of one case (image, la, scar, wall, fingerprint; each (X, Y, Z) of
    cfg.size but the fingerprint) and its meta: RAS, resampled (image trilinear, labels nearest),
    centre crop / pad (a crop that cuts labelled voxels warns, naming the case), z-score over the
    crop, Eq. 6 wall of the cropped LA."""
    img, la, scar = load_case(case)
    ras, ras_spacing, ornt = to_ras(img.data, img.affine, img.spacing_mm)  # orientation.py
    image = resample(ras, ras_spacing, cfg.spacing_mm, label=False)
    labels = {"la": la} if scar is None else {"la": la, "scar": scar}
    labels = {
        k: resample(
            to_ras(v.data, img.affine, img.spacing_mm)[0], ras_spacing, cfg.spacing_mm, True
        )
        for k, v in labels.items()
    }
    resampled_shape = image.shape
    image, starts = crop_or_pad(image, cfg.size, float(image.min()))
    out = {}
    for key, lab in labels.items():
        out[key], _ = crop_or_pad(lab, cfg.size, 0)
        lost = int(lab.sum()) - int(out[key].sum())
        if lost > 0:
            warnings.warn(
                f"{case.name}: the centre crop to {cfg.size} cuts {lost} {key.upper()} voxels "
                f"(of {int(lab.sum())})",
                stacklevel=3,
            )
    std = float(image.std())
    out["image"] = ((image - float(image.mean())) / (std if std > 0 else 1.0)).astype(np.float32)
    wall = wall_mask(out["la"], cfg.spacing_mm, cfg.delta_in_mm, cfg.delta_out_mm)
    out["wall"] = wall.astype(np.uint8)
    out["fingerprint"] = fingerprint(img.data, img.affine)
    meta = {
        "name": case.name,
        "task": case.task,
        "raw_shape": list(img.data.shape),
        "orientation": ornt,
        "ras_shape": list(ras.shape),
        "raw_spacing_mm": list(img.spacing_mm),
        "affine": img.affine.tolist(),
        "resampled_shape": list(resampled_shape),
        "crop_start": starts,
        "voxel_hash": hashlib.sha1(np.ascontiguousarray(img.data).tobytes()).hexdigest(),
        "config": asdict(cfg),
        "source": {
            "image": str(case.image),
            "la": str(case.la),
            "scar": str(case.scar) if case.scar else None,
            "labels": case.labels.to_json() if case.labels is not None else None,
        },
    }
    return out, meta


def _write_cache(folder: Path, arrays: dict[str, np.ndarray], meta: dict) -> None:
    """Write the arrays and meta.json into a private temporary folder, then rename it to
    `folder`; when another process won the race, its (identical) folder is kept."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".tmp-"))
    tmp.chmod(0o777 & ~current_umask())  # mkdtemp makes 0700; a shared cache follows the umask
    try:
        for key, value in arrays.items():
            np.save(tmp / f"{key}.npy", value)
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
        os.replace(tmp, folder)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not (folder / "meta.json").exists():
            raise


def to_original_grid(prob: np.ndarray, meta: dict) -> np.ndarray:
    """Map a preprocessed-grid probability map (X, Y, Z) back to the case's raw grid
    (docs/design.md §5): undo the crop / pad (outside the crop: 0), resample linearly to the
    RAS-ordered raw shape, then restore the stored axis order."""
    resampled = np.zeros(meta["resampled_shape"], dtype=np.float32)
    full, crop = crop_slices(meta["crop_start"], meta["resampled_shape"], prob.shape)
    resampled[full] = prob[crop]
    ras_shape = tuple(meta["ras_shape"])
    if resampled.shape != ras_shape:
        t = torch.from_numpy(resampled)[None, None]  # (1, 1, X', Y', Z')
        resampled = F.interpolate(t, size=ras_shape, mode="trilinear", align_corners=False)[0, 0]
        resampled = resampled.numpy()
    return from_ras(resampled, meta["orientation"])  # back to the stored axis order
