"""Any model's predictions in our evaluation (lascar_ref/evaluation/external.py,
prediction_files.py; data/nnunet_export.py; eval.py --pred; docs/design.md §14): label maps the
test writes itself, scored as --ckpt scores the same masks; nnU-Net's region output read by hand;
every refusal names its file; a changed prediction file is scored again; our folds round-trip
through nnU-Net's splits_final.json; the nnU-Net export reproduces our masks and folds; an
external Table 3 row stays outside the primary family."""

import json
import math
import shutil

import nibabel as nib
import numpy as np
import pytest
from conftest import load_script

from lascar_ref.data.assignment import dataset_assignment
from lascar_ref.data.dataset import open_dataset
from lascar_ref.data.input_checks import load_case
from lascar_ref.data.nnunet_export import export_nnunet, nnunet_name
from lascar_ref.data.phantom_layouts import label_map
from lascar_ref.data.splits import read_splits, split_sha256
from lascar_ref.errors import DataError
from lascar_ref.evaluation.external import (
    Request,
    collect_external,
    record,
    score,
    validation_cases,
)
from lascar_ref.evaluation.metrics import case_metrics
from lascar_ref.evaluation.prediction_files import read_predictions, region_mapping
from lascar_ref.evaluation.summary import tabulate
from lascar_ref.evaluation.surface import surface_scores

N_FOLDS = 2
REGIONS = {"background": 0, "LA": [1, 3], "scar": [2, 3]}  # nnU-Net's labels of our export
OURS = "la=1,3,scar=2,3"  # the value convention of data/phantom_layouts.label_map


def write_predictions(folder, cases, transform=lambda la, scar: (la, scar)):
    """One label map per case in OURS' values, of the case's (transformed) LA and scar."""
    folder.mkdir(parents=True, exist_ok=True)
    for c in cases:
        img, la, scar = load_case(c)
        la_p, scar_p = transform(la.data > 0, scar.data > 0)
        data = label_map(la_p, scar_p)
        nib.save(nib.Nifti1Image(data, img.affine), str(folder / f"{nnunet_name(c.name)}.nii.gz"))


def fold_cases(root, fold):
    ds = open_dataset(root)
    names = {c.name for c in validation_cases(Request("x", str(root), fold, n_folds=N_FOLDS))[1]}
    return [c for c in ds.cases[1] if c.name in names]


def test_perfect_predictions_score_dice_1_and_distance_0(tiny_dataset, tmp_path):
    cases = fold_cases(tiny_dataset, 0)
    write_predictions(tmp_path / "pred", cases)
    req = Request(str(tmp_path / "pred"), str(tiny_dataset), 0, labels=OURS, n_folds=N_FOLDS)
    rows, why, _, n_folds = score(req, tmp_path / "out")
    assert n_folds == N_FOLDS and why and len(rows) == 2 * len(cases)
    for r in rows:
        assert r["dice"] == 1.0 and r["hd"] == 0.0 and r["asd"] == 0.0, r
    scar = [r for r in rows if r["structure"] == "scar"]
    assert all(r["surface_dice"] == pytest.approx(1.0) for r in scar)
    assert all(r["burden_pred"] == r["burden_gt"] for r in scar)
    assert (tmp_path / "out" / "metrics.csv").is_file()


def test_a_shifted_prediction_scores_what_the_checkpoint_path_gives_the_same_masks(
    tiny_dataset, tmp_path
):
    cases = fold_cases(tiny_dataset, 0)
    shift = lambda m: np.roll(m, 2, axis=0)  # noqa: E731  2 voxels of 1.25 mm along x
    write_predictions(tmp_path / "pred", cases, lambda la, scar: (la, shift(scar)))
    req = Request(str(tmp_path / "pred"), str(tiny_dataset), 0, labels=OURS, n_folds=N_FOLDS)
    rows, _, _, _ = score(req, tmp_path / "out")
    for c in cases:
        img, la, scar = load_case(c)
        gt, pred = scar.data > 0, shift(scar.data > 0)
        want = case_metrics(pred, gt, img.spacing_mm)  # what evaluate.case_row computes
        got = next(r for r in rows if r["case"] == c.name and r["structure"] == "scar")
        for k in ("dice", "hd", "hd95", "assd", "asd"):
            assert got[k] == pytest.approx(want[k]), k
        assert 0 < got["dice"] < 1 and 0 < got["hd"] <= 2.5 + 1e-6
        surface = surface_scores(la.data > 0, gt, pred, img.spacing_mm)
        assert got["surface_dice"] == pytest.approx(surface["surface_dice"])


def test_nnunet_region_values_are_read_one_region_each():
    meta = {"labels": REGIONS, "regions_class_order": [1, 2]}
    m = region_mapping(meta, "dataset.json")
    assert (m.la, m.scar) == ((1.0,), (2.0,))
    data = np.array([0, 1, 2, 1], dtype=np.float32).reshape(4, 1, 1)
    masks = m.masks(data, "p.nii.gz")
    assert masks["la"].ravel().tolist() == [0, 1, 0, 1]  # value 2 is scar only, not LA
    assert masks["scar"].ravel().tolist() == [0, 0, 1, 0]
    with pytest.raises(DataError, match="p.nii.gz: label values 3"):
        m.masks(np.full((1, 1, 1), 3.0), "p.nii.gz")  # nnU-Net never writes 3
    with pytest.raises(DataError, match="one value per region"):
        region_mapping({**meta, "regions_class_order": [1]}, "dataset.json")


def test_a_dataset_json_beside_the_predictions_gives_the_mapping(tiny_dataset, tmp_path):
    cases = fold_cases(tiny_dataset, 1)
    pred = tmp_path / "pred"
    pred.mkdir()
    for c in cases:  # nnU-Net's output of a perfect prediction: 1 = LA, then 2 over it = scar
        img, la, scar = load_case(c)
        data = np.where(scar.data > 0, 2, np.where(la.data > 0, 1, 0)).astype(np.uint8)
        nib.save(nib.Nifti1Image(data, img.affine), str(pred / f"{nnunet_name(c.name)}.nii.gz"))
    meta = {"labels": REGIONS, "regions_class_order": [1, 2]}
    (pred / "dataset.json").write_text(json.dumps({**meta, "channel_names": {"0": "LGE"}}))
    (pred / "plans.json").write_text("{}")  # nnU-Net writes it too; not a prediction
    rows, _, _, _ = score(Request(str(pred), str(tiny_dataset), 1, n_folds=N_FOLDS), tmp_path / "o")
    for c in cases:
        _, la, scar = load_case(c)
        la_read = (la.data > 0) & ~(scar.data > 0)  # the LA voxels under the scar are lost
        want = case_metrics(la_read, la.data > 0, (1.25, 1.25, 2.5))["dice"]
        got = {r["structure"]: r["dice"] for r in rows if r["case"] == c.name}
        assert got["scar"] == 1.0 and got["la"] == pytest.approx(want) and want < 1


def test_every_refusal_names_its_file_all_at_once(tiny_dataset, tmp_path):
    ds = open_dataset(tiny_dataset)
    val = ds.cases[1] + ds.cases[2][:1]  # 3 LA + scar cases and one LA-only case
    pred = tmp_path / "pred"
    write_predictions(pred, ds.cases[1])
    first, second, third = (pred / f"{nnunet_name(c.name)}.nii.gz" for c in ds.cases[1])
    first.unlink()  # missing
    img = nib.load(str(second))
    nib.save(nib.Nifti1Image(np.asarray(img.dataobj)[:-1], img.affine), str(second))  # shape
    moved = img.affine.copy()
    moved[0, 3] += 5.0
    nib.save(nib.Nifti1Image(np.asarray(nib.load(str(third)).dataobj), moved), str(third))
    la_only = ds.cases[2][0]
    limg = nib.load(str(la_only.image))
    odd = np.full(limg.shape, 7, dtype=np.uint8)
    nib.save(nib.Nifti1Image(odd, limg.affine), str(pred / f"{nnunet_name(la_only.name)}.nii.gz"))
    extra = pred / "task1_train_99.nii.gz"
    shutil.copyfile(pred / f"{nnunet_name(la_only.name)}.nii.gz", extra)
    from lascar_ref.data.label_map import parse_labels

    with pytest.raises(DataError) as e:
        read_predictions(pred, val, parse_labels(OURS), fold=0)
    lines = str(e.value).splitlines()
    assert len(lines) == 5, lines
    assert any(str(first) in x and "missing" in x for x in lines)
    assert any(str(second) in x and "shape" in x for x in lines)
    assert any(str(third) in x and "affine" in x for x in lines)
    assert any(nnunet_name(la_only.name) in x and "label values 7" in x for x in lines)
    assert any(str(extra) in x and "not a validation case" in x for x in lines)


def test_a_changed_prediction_file_is_scored_again(tiny_dataset, tmp_path):
    cases = fold_cases(tiny_dataset, 0)
    pred, runs = tmp_path / "pred", tmp_path / "runs"
    write_predictions(pred, cases)
    req = Request(str(pred), str(tiny_dataset), 0, labels=OURS, n_folds=N_FOLDS)
    out = runs / "nnunet"
    rows, why, _, n = score(req, out / "fold0")
    record(out, "nnU-Net", req, n)
    assert score(req, out / "fold0")[1] == ""  # reused: same provenance
    write_predictions(pred, cases[:1], lambda la, scar: (la, np.roll(scar, 3, axis=1)))
    rows2, why2, _, _ = score(req, out / "fold0", evaluate=False)
    assert rows2 is None and "predictions: 1 file(s) changed" in why2
    results, missing, splits = collect_external(runs, evaluate=True, say=lambda *_: None)
    assert missing == ["nnU-Net, fold 1: not scored (eval.py --pred ... --fold 1)"]
    scar = [r["dice"] for r in results["nnU-Net"][0] if r["structure"] == "scar"]
    assert min(scar) < 1  # scored again on the changed file
    assert score(req, out / "fold0")[1] == ""
    with pytest.raises(DataError, match="holds the results of 'nnU-Net'"):
        record(out, "other", req, n)


def test_eval_pred_all_folds_writes_the_external_row(tiny_dataset, tmp_path, capsys):
    for k in range(N_FOLDS):
        write_predictions(tmp_path / "pred" / f"fold{k}", fold_cases(tiny_dataset, k))
    out = tmp_path / "runs" / "peer"
    args = ["--pred", str(tmp_path / "pred"), "--data", str(tiny_dataset), "--fold", "all"]
    args += ["--labels", OURS, "--n-folds", str(N_FOLDS), "--name", "peer", "--out", str(out)]
    assert load_script("eval").main(args) == 0
    doc = json.loads((out / "external.json").read_text())
    assert doc["name"] == "peer" and doc["n_folds"] == N_FOLDS and set(doc["folds"]) == {"0", "1"}
    results, missing, splits = collect_external(tmp_path / "runs", evaluate=False)
    assert not missing and set(results["peer"]) == {0, 1}
    assert len(set(splits["peer"].values())) == 1
    (tmp_path / "pred" / "fold1" / "stray.nii.gz").write_bytes(b"not a nifti")
    assert load_script("eval").main(args) == 2
    err = capsys.readouterr().err
    assert "stray.nii.gz" in err and "not a validation case of fold 1" in err


def test_our_folds_round_trip_through_nnunet_splits_final(tiny_dataset, tmp_path, capsys):
    from lascar_ref.data.__main__ import main

    out = tmp_path / "splits_final.json"
    assert main(["folds", str(tiny_dataset), "--format", "nnunet", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    ours, _ = dataset_assignment(open_dataset(tiny_dataset), 5, 0)
    back = read_splits(out)
    assert back.form == "nnunet" and not back.problems
    assert back.folds == ours and split_sha256(back.folds) == split_sha256(ours)
    assert f"split SHA-256 {split_sha256(ours)}" in printed
    entries = json.loads(out.read_text())
    assert [sorted(e["val"]) for e in entries] == [
        sorted(n for n, f in ours.items() if f == k) for k in range(5)
    ]


def test_the_nnunet_export_reproduces_our_masks_names_and_folds(tiny_dataset, tmp_path):
    ds = open_dataset(tiny_dataset)
    folds, _ = dataset_assignment(ds, N_FOLDS, 0)
    mapping = export_nnunet(ds, folds, N_FOLDS, tmp_path / "Dataset501_X")
    assert mapping["cases"] == {nnunet_name(c.name): c.name for c in ds.cases[1]}
    assert mapping["split_sha256"] == split_sha256(folds)
    back = open_dataset(tmp_path / "Dataset501_X")  # read as the nnU-Net layout it is
    assert back.layout == "nnunet" and back.labels.la == (1.0, 3.0)
    for c in back.cases[1]:
        ours = next(o for o in ds.cases[1] if nnunet_name(o.name) == c.name)
        img, la, scar = load_case(c)
        img0, la0, scar0 = load_case(ours)
        assert np.array_equal(la.data, la0.data) and np.array_equal(scar.data, scar0.data)
        assert np.array_equal(img.data, img0.data) and np.allclose(img.affine, img0.affine)
    split = read_splits(tmp_path / "Dataset501_X" / "splits_final.json")
    assert split.folds == {nnunet_name(c.name): folds[c.name] for c in ds.cases[1]}


def scar_rows(dices, fold):
    return [
        {"case": f"c{fold}{i}", "structure": "scar", "dice": d, "hd": 5.0, "asd": 1.0}
        | {"diagonal_mm": 100.0}
        for i, d in enumerate(dices)
    ]


def test_an_external_row_is_compared_with_full_outside_the_primary_family():
    full = {k: scar_rows([0.5, 0.3], k) for k in range(3)}
    b1 = {k: scar_rows([0.4 - 0.05 * k, 0.25], k) for k in range(3)}
    peer = {k: scar_rows([0.6, 0.35 + 0.02 * k], k) for k in range(3)}
    results = {"full": {3: full}, "B1": {3: b1}}
    alone = tabulate(results)
    both = tabulate(results, external={"nnU-Net": peer})
    assert "nnU-Net" in both.table3 and both.external == ["nnU-Net"]
    primary = lambda s: [c for c in s.paired if c["endpoint"] == "primary"]  # noqa: E731
    assert [c["p_holm"] for c in primary(alone)] == [c["p_holm"] for c in primary(both)]
    peer_rows = [c for c in both.paired if c["row"] == "nnU-Net"]
    assert peer_rows and all(c["endpoint"] == "exploratory" for c in peer_rows)
    dice = next(c for c in peer_rows if c["metric"] == "dice" and c["table"] == "table3")
    want = np.mean([0.1 + (0.05 + 0.02 * k) for k in range(3)]) / 2
    assert dice["mean_units"] == pytest.approx(want) and math.isnan(dice["p_holm"])
    other = {"nnU-Net": {k: "b" * 64 for k in range(3)}}
    split = {"full": {3: {k: "a" * 64 for k in range(3)}}}
    left = tabulate(results, splits=split, external={"nnU-Net": peer}, external_splits=other)
    assert not [c for c in left.paired if c["row"] == "nnU-Net"]
    assert any(n.startswith("nnU-Net vs Full (I+II+III): left out") for n in left.notes)
