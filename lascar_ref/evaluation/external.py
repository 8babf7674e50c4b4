"""Any model's predictions scored by our metrics, and kept as a Table 3 row — paper §4.4
(Table 3 sets the method beside nnU-Net); docs/design.md §6, §14.

`eval.py --pred DIR --data DATA --fold k --name NAME --out OUT` scores the predicted label maps in
DIR (prediction_files.py) on fold k's validation cases with exactly the code `--ckpt` uses on the
original grid (evaluate.truth_masks, evaluate.case_row: voxel Dice / HD / HD95 / ASSD / ASD with
the penalty, the scar burden, the challenge's surface protocol), into OUT/fold{k}/metrics.csv and
metrics.json; `--fold all` reads DIR/fold{k}/ for every fold. The folds are the assignment
training makes (data/assignment.py; --n-folds, --seed) or a --splits file, checked against the
dataset as training checks it. Every case of the fold's LA + scar cases (Task 1; LA-only
datasets: Task 2, LA only) must have its prediction.
OUT/external.json marks OUT as an external model for `eval.py --summary RUNS` (any folder under
RUNS): {"format": "lascar_ref-external", "name": NAME, "n_folds": n, "folds": {k: request}},
each request what was asked (prediction folder, dataset, labels, splits, seed), so that
--summary can score it again. A stored fold result is reused only when its provenance equals
what scoring would record now (`external_provenance`): the SHA-256 of every prediction file, the
mapping of their values, the split SHA-256 (the assignment's, as every checkpoint records), the
data root and a SHA-256 over the evaluated cases' files, the fold, METRICS_VERSION.
Tests: tests/test_eval_pred.py
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
from tqdm import tqdm

from ..checkpoints import file_sha256
from ..config import make_config
from ..data.assignment import dataset_assignment
from ..data.dataset import Dataset, open_dataset
from ..data.folds import N_FOLDS, split
from ..data.nifti_io import affine_spacing
from ..data.splits import check_split, read_splits, split_sha256
from ..errors import DataError
from ..recipe_table import RECIPES
from .evaluate import case_row, truth_masks, write_reports
from .prediction_files import prediction_mapping, read_predictions
from .provenance import METRICS_VERSION, read_result

FORMAT = "lascar_ref-external"
MANIFEST = "external.json"
FIELDS = (
    "predictions",
    "mapping",
    "split_sha256",
    "data_root",
    "fold",
    "cases",
    "grid",
    "metrics_version",
)


@dataclass
class Request:
    """What `eval.py --pred` was asked for one fold."""

    pred: str  # the folder of this fold's prediction files
    data: str
    fold: int
    labels: str | None = None
    splits: str | None = None
    n_folds: int = N_FOLDS
    seed: int = 0

    def to_json(self) -> dict:
        return dict(self.__dict__)


@dataclass
class _Case:
    """A validation case as evaluate.truth_masks and read_predictions read it."""

    name: str
    image: Path
    meta: dict  # {"source": the files and the label mapping}


def fold_assignment(req: Request, ds: Dataset) -> tuple[dict[str, int], int]:
    """(case -> fold, number of folds): the --splits file (checked) or training's assignment."""
    folds, groups = dataset_assignment(ds, req.n_folds, req.seed)
    if not req.splits:
        return folds, req.n_folds
    given = read_splits(req.splits)
    check_split(given, ds.names(), groups)
    return given.folds, given.n_folds


def validation_cases(req: Request) -> tuple[Dataset, list[_Case], str, int]:
    """(the dataset, fold req.fold's validation cases of its LA + scar task (else LA-only), the
    split SHA-256, the number of folds); DataError naming the problem. The dataset is read with
    its own mapping (--labels names the prediction files' values)."""
    ds = open_dataset(req.data)
    folds, n_folds = fold_assignment(req, ds)
    if not 0 <= req.fold < n_folds:
        raise DataError(f"--fold {req.fold}: the assignment has folds 0..{n_folds - 1}")
    task = 1 if ds.has_task(1) else 2
    cases = {c.name: c for c in ds.cases[task]}
    _, val = split({n: folds[n] for n in cases}, req.fold)
    out = []
    for name in val:
        c = cases[name]
        source = {
            "image": str(c.image),
            "la": str(c.la),
            "scar": str(c.scar) if c.scar else None,
            "labels": c.labels.to_json() if c.labels is not None else None,
        }
        out.append(_Case(name, Path(c.image), {"source": source}))
    return ds, out, split_sha256(folds), n_folds


def cases_sha256(val: list[_Case]) -> str:
    """SHA-256 over each case's name and the SHA-256 of its image and label files."""
    h = hashlib.sha256()
    for c in sorted(val, key=lambda c: c.name):
        files = [c.meta["source"][k] for k in ("image", "la", "scar") if c.meta["source"][k]]
        h.update(f"{c.name}:{':'.join(file_sha256(f) for f in files)}\n".encode())
    return h.hexdigest()


def external_provenance(files: dict[str, Path], mapping_text: str, split: str, ds, fold, val):
    """The provenance of scoring prediction `files` (case -> file) on fold `fold`."""
    return {
        "predictions": {case: file_sha256(p) for case, p in sorted(files.items())},
        "mapping": mapping_text,
        "split_sha256": split,
        "data_root": str(Path(ds.root).resolve()),
        "fold": int(fold),
        "cases": cases_sha256(val),
        "grid": "original",
        "metrics_version": METRICS_VERSION,
    }


def differences(stored: dict | None, expected: dict) -> list[str]:
    """One phrase per provenance field that differs; changed prediction files by case."""
    if not stored:
        return ["no provenance recorded"]
    out = []
    for key in FIELDS:
        was, now = stored.get(key), expected[key]
        if was == now:
            continue
        if key == "predictions" and isinstance(was, dict):
            changed = sorted(c for c in set(was) | set(now) if was.get(c) != now.get(c))
            out.append(f"predictions: {len(changed)} file(s) changed ({', '.join(changed)})")
        elif key in ("split_sha256", "cases") and isinstance(was, str):
            out.append(f"{key}: {was[:12]} -> {now[:12]}")
        else:
            out.append(f"{key}: {was} -> {now}")
    return out


def score(
    req: Request, out: Path, reuse: bool = True, evaluate: bool = True, progress=False, say=print
) -> tuple[list[dict] | None, str, str, int]:
    """(rows, why, split SHA-256, number of folds) of one fold: the stored OUT/metrics.json when
    its provenance holds (why ""), else the predictions scored into `out` (rows None with
    evaluate=False). The predictions are read and checked first, every problem at once."""
    ds, val, split_sha, n_folds = validation_cases(req)
    mapping = prediction_mapping(Path(req.pred), req.labels, ds.labels)
    files, masks = read_predictions(Path(req.pred), val, mapping, req.fold)
    prov = external_provenance(files, mapping.text(), split_sha, ds, req.fold, val)
    why = "re-evaluation asked"
    if reuse:
        stored, why = read_result(Path(out) / "metrics.json")
        if stored is not None:
            why = "; ".join(differences(stored.get("provenance"), prov))
            if not why and "cases" in stored:
                return stored["cases"], "", split_sha, n_folds
            why = why or "no cases recorded"
    if not evaluate:
        return None, why, split_sha, n_folds
    say(f"scoring {req.pred} -> {out} ({why})")
    cfg = make_config()  # the paper's Eq. 6 band for the burden, as every checkpoint's
    outputs = ("la", "scar") if mapping.scar and ds.has_task(1) else ("la",)
    rows = []
    for c in tqdm(val, desc="score", unit="case", disable=not progress):
        spacing = _spacing(c.image)
        truth = truth_masks(c, outputs, cfg, "original", spacing)
        rows += [case_row(c.name, k, masks[c.name][k], truth) for k in outputs]
    write_reports(rows, Path(out), {c.name: c.meta["source"] for c in val}, prov)
    return rows, why, split_sha, n_folds


def _spacing(image: Path) -> tuple[float, float, float]:
    """Voxel spacing in mm of an image file, from its affine (as read_volume gives it)."""
    return affine_spacing(nib.load(str(image)).affine)


def read_manifest(folder: Path) -> dict | None:
    path = Path(folder) / MANIFEST
    if not path.is_file():
        return None
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise DataError(f"{path}: unreadable ({type(e).__name__}: {e})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise DataError(f"{path}: not an external-model manifest (format {FORMAT!r})")
    return doc


def record(folder: Path, name: str, req: Request, n_folds: int) -> None:
    """Add (or replace) fold req.fold's request in FOLDER/external.json for model `name`;
    DataError when the folder already holds another model's results."""
    doc = read_manifest(folder) or {"format": FORMAT, "name": name, "folds": {}}
    if doc["name"] != name:
        raise DataError(
            f"{Path(folder) / MANIFEST}: holds the results of {doc['name']!r}, not {name!r}; "
            f"give another --out"
        )
    doc["n_folds"] = n_folds
    doc["folds"][str(req.fold)] = req.to_json()
    Path(folder).mkdir(parents=True, exist_ok=True)
    (Path(folder) / MANIFEST).write_text(json.dumps(doc, indent=1) + "\n")


def find_external(runs_dir: Path) -> dict[str, tuple[Path, dict]]:
    """name -> (folder, manifest) of every external.json under runs_dir; DataError for a name
    given twice or a name that is one of our recipes'."""
    found: dict[str, tuple[Path, dict]] = {}
    for path in sorted(Path(runs_dir).rglob(MANIFEST)):
        doc = read_manifest(path.parent)
        name = doc["name"]
        if name in RECIPES or name in found:
            first = found[name][0] if name in found else "a recipe of ours"
            raise DataError(f"{path}: the name {name!r} is taken ({first}); rename it")
        found[name] = (path.parent, doc)
    return found


def collect_external(runs_dir: Path, evaluate: bool, say=print):
    """({name: {fold: case rows}}, missing lines, {name: {fold: split SHA-256}}) of every external
    model under runs_dir, each fold reused or scored again (`score`)."""
    results, missing, splits = {}, [], {}
    for name, (folder, doc) in find_external(runs_dir).items():
        results[name], splits[name] = {}, {}
        for k in range(int(doc["n_folds"])):
            req = doc["folds"].get(str(k))
            if req is None:
                missing.append(f"{name}, fold {k}: not scored (eval.py --pred ... --fold {k})")
                continue
            out = folder / f"fold{k}"
            rows, why, split_sha, _ = score(Request(**req), out, evaluate=evaluate, say=say)
            if rows is None:
                missing.append(f"{name}, fold {k}: {out / 'metrics.json'} stale ({why})")
            else:
                results[name][k], splits[name][k] = rows, split_sha
    return results, missing, splits
