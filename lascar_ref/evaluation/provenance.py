"""What produced a stored result, and whether it still holds — docs/design.md §6.

A result (metrics.json of one evaluated checkpoint) records its provenance:
  checkpoint   SHA-256 of the evaluated file
  init_chain   SHA-256 of every checkpoint of its --init chain, first stage first
  grid         "original" or "preprocessed"; mirror: flip TTA on or off; fov: "crop" (the
               training crop) or "whole" (the whole scan, as predict.py)
  data_root    the dataset folder the cases were read from
  fold, cases  the fold and a SHA-256 over the evaluated cases' names and voxel hashes
A stored result is reused only when every field equals what would be evaluated now
(`differences` names the fields that do not).
Tests: tests/test_provenance.py
"""

from __future__ import annotations

import hashlib
from pathlib import Path

FIELDS = ("checkpoint", "init_chain", "grid", "mirror", "fov", "data_root", "fold", "cases")


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
