"""What produced a stored result, and whether it still holds — docs/design.md §6.

A result (metrics.json of one evaluated checkpoint) records its provenance:
  checkpoint   SHA-256 of the evaluated file
  init_chain   SHA-256 of every checkpoint of its --init chain, first stage first
  grid         "original" or "preprocessed"; mirror: flip TTA on or off; fov: "crop" (the
               training crop) or "whole" (the whole scan, as predict.py)
  data_root    the dataset folder the cases were read from
  fold, cases  the fold and a SHA-256 over the evaluated cases' names and voxel hashes
  metrics_version  METRICS_VERSION, bumped whenever the code of a metric changes
A stored result is reused only when every field equals what would be evaluated now
(`differences` names the fields that do not); a metrics.json that cannot be read (truncated,
not JSON) is stale, named in one line by `read_result`, never an error.
Tests: tests/test_provenance.py
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

METRICS_VERSION = 2  # bump when a metric's code changes what it computes (2: surface scores)
FIELDS = (
    "checkpoint",
    "init_chain",
    "grid",
    "mirror",
    "fov",
    "data_root",
    "fold",
    "cases",
    "metrics_version",
)


def read_result(path: Path) -> tuple[dict | None, str]:
    """(the stored metrics.json, "") or (None, why): "no metrics.json", or one line naming the
    file when it cannot be read (a truncated or hand-edited file is stale, not an error)."""
    path = Path(path)
    if not path.is_file():
        return None, "no metrics.json"
    try:
        stored = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        return None, f"{path}: unreadable ({type(e).__name__}: {e}), treated as stale"
    if not isinstance(stored, dict):
        return None, f"{path}: not a metrics.json object, treated as stale"
    return stored, ""


def cases_fingerprint(cases) -> str:
    """SHA-256 over "name:voxel_hash" of each preprocessed case, in name order."""
    h = hashlib.sha256()
    for p in sorted(cases, key=lambda p: p.name):
        h.update(f"{p.name}:{p.meta['voxel_hash']}\n".encode())
    return h.hexdigest()


def provenance(
    chain_hashes: list[str], grid: str, mirror: bool, root, fold: int, cases, fov: str = "crop"
) -> dict:
    """The provenance of evaluating the last checkpoint of a chain on `cases`."""
    return {
        "checkpoint": chain_hashes[-1],
        "init_chain": list(chain_hashes[:-1]),
        "grid": grid,
        "mirror": bool(mirror),
        "fov": fov,
        "data_root": str(Path(root).resolve()),
        "fold": int(fold),
        "cases": cases_fingerprint(cases),
        "metrics_version": METRICS_VERSION,
    }


def differences(stored: dict | None, expected: dict) -> list[str]:
    """ "grid: original -> preprocessed" for every field that differs (all when none is stored)."""
    if not stored:
        return ["no provenance recorded"]
    out = []
    for key in FIELDS:
        if stored.get(key) != expected[key]:
            was, now = stored.get(key), expected[key]
            if key in ("checkpoint", "cases") and isinstance(was, str):
                was, now = was[:12], now[:12]
            out.append(f"{key}: {was} -> {now}")
    return out
