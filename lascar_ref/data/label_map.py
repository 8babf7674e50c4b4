"""Label maps: one file that holds several structures — docs/design.md §5.

The LAScarQS layout stores one binary file per structure (any value > 0 is the structure). The
Medical Segmentation Decathlon and nnU-Net layouts store one label map per case, and a mapping
says which values are which structure: `la` and `scar` (each one or more values, so `la=1,2`
reads scar voxels labelled 2 as LA too) and `background` (0 always; more values may be named
background to ignore a structure). A value present in a label map that the mapping does not name
is an error naming the file, never a silent background.

The mapping comes from `--labels la=1,scar=2[,background=3]` (a list of values continues up to
the next `name=`), or else from dataset.json's `labels` by their names: a name is split on "+",
"&" and " and ", and each part that mentions scar or fibrosis is scar, each part that mentions the
atrium (or is "LA") is LA; so "left atrium + scar" is both, "left atrial scar" is scar. A name that
is none of these (and not background) needs --labels. Stage I needs `la`; Stages II and III need
both. Tests: tests/test_data_layouts.py
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ..errors import DataError

STRUCTURES = ("la", "scar", "background")


@dataclass(frozen=True)
class LabelMap:
    """Values of each structure in a label map; `source` says where the mapping came from."""

    la: tuple[float, ...]
    scar: tuple[float, ...] = ()  # empty: the dataset has no scar label (Stage I only)
    background: tuple[float, ...] = (0,)
    source: str = "--labels"

    def named(self) -> set[float]:
        return {*self.la, *self.scar, *self.background}

    def text(self) -> str:
        """ "la=1,3 scar=2,3 background=0" (values as integers where they are)."""
        parts = [(k, getattr(self, k)) for k in STRUCTURES if getattr(self, k)]
        return " ".join(f"{k}={','.join(_fmt(v) for v in vs)}" for k, vs in parts)

    def to_json(self) -> dict:
        return {k: list(getattr(self, k)) for k in STRUCTURES} | {"source": self.source}

    @classmethod
    def from_json(cls, d: dict) -> LabelMap:
        return cls(*(tuple(d[k]) for k in STRUCTURES), source=d.get("source", "--labels"))

    def masks(self, data: np.ndarray, path) -> dict[str, np.ndarray]:
        """(X, Y, Z) label map -> {"la", "scar"} uint8 masks; DataError naming `path` when it
        holds a value the mapping does not name."""
        values = np.unique(data)
        unknown = [v for v in values.tolist() if v not in self.named()]
        if unknown:
            raise DataError(
                f"{path}: label values {', '.join(_fmt(v) for v in unknown)} are not named by "
                f"the label mapping ({self.text()}, from {self.source}); name them with "
                f"--labels (for example background={_fmt(unknown[0])} to ignore them)"
            )
        return {
            "la": np.isin(data, self.la).astype(np.uint8),
            "scar": np.isin(data, self.scar).astype(np.uint8),
        }


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else str(v)


def parse_labels(text: str) -> LabelMap:
    """`la=1,2,scar=3,background=4` -> LabelMap; ValueError naming what is wrong."""
    found: dict[str, list[float]] = {}
    key = None
    for item in (s.strip() for s in text.split(",")):
        if "=" in item:
            key, item = (s.strip() for s in item.split("=", 1))
            if key not in STRUCTURES:
                raise ValueError(f"--labels {text!r}: unknown structure {key!r} (use {STRUCTURES})")
            if key in found:
                raise ValueError(f"--labels {text!r}: {key} is given twice")
            found[key] = []
        if key is None:
            raise ValueError(f"--labels {text!r}: expected name=value first, e.g. la=1,scar=2")
        try:
            found[key].append(float(item))
        except ValueError:
            raise ValueError(f"--labels {text!r}: {item!r} is not a label value") from None
    if not found.get("la"):
        raise ValueError(f"--labels {text!r}: la= is required (Stage I needs the LA)")
    background = sorted({0.0, *found.get("background", [])})
    out = LabelMap(tuple(found["la"]), tuple(found.get("scar", ())), tuple(background))
    _check_disjoint_background(out, f"--labels {text!r}")
    return out


def _check_disjoint_background(m: LabelMap, where: str) -> None:
    both = sorted(set(m.background) & {*m.la, *m.scar})
    if both:
        raise ValueError(f"{where}: value(s) {both} are named background and a structure")


def structures_of(name: str) -> set[str]:
    """The structures a dataset.json label name denotes: {"la"}, {"scar"}, both, {"background"}
    or none (unknown)."""
    lower = name.lower().replace("_", " ").replace("-", " ")
    if lower.strip() in ("background", "bg", "ignore"):
        return {"background"}
    found = set()
    for part in re.split(r"\+|&|\band\b", lower):
        words = re.findall(r"[a-z]+", part)
        if any(w in ("scar", "scars", "fibrosis") for w in words):
            found.add("scar")
        elif "la" in words or any(w.startswith("atri") for w in words):
            found.add("la")
    return found


def from_dataset_json(labels: dict, value_to_name: bool, where: str) -> LabelMap:
    """dataset.json's `labels` -> LabelMap by the names (structures_of). nnU-Net v2 writes
    name -> value (or a list of values: a region), the Decathlon value -> name. DataError naming
    `where` when a name is unknown or no label is the LA."""
    pairs: list[tuple[str, list[float]]] = []
    for key, val in labels.items():
        name, vals = (
            (val, [key]) if value_to_name else (key, val if isinstance(val, list) else [val])
        )
        try:
            pairs.append((str(name), [float(v) for v in vals]))
        except (TypeError, ValueError):
            raise DataError(f"{where}: label {key!r}: {val!r} is not a label value") from None
    found: dict[str, set[float]] = {k: set() for k in STRUCTURES}
    for name, vals in pairs:
        kinds = structures_of(name) or ({"background"} if vals == [0.0] else set())
        if not kinds:
            raise DataError(
                f"{where}: label {name!r} (value {', '.join(map(_fmt, vals))}) is neither the LA "
                f"nor scar by its name; give the mapping with --labels la=...,scar=..."
                f"[,background=...]"
            )
        for kind in kinds:
            found[kind].update(vals)
    if not found["la"]:
        raise DataError(f"{where}: no label is named as the LA; give the mapping with --labels")
    out = LabelMap(
        tuple(sorted(found["la"])),
        tuple(sorted(found["scar"])),
        tuple(sorted(found["background"] | {0.0})),
        source=where,
    )
    try:
        _check_disjoint_background(out, where)
    except ValueError as e:
        raise DataError(str(e)) from None
    return out
