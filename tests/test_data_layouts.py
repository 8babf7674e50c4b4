"""The Medical Segmentation Decathlon and nnU-Net v2 layouts with label maps
(lascar_ref/data/decathlon.py, label_map.py, dataset.py, phantom_layouts.py; docs/design.md §5):
mappings by hand, phantoms written in both forms read back exactly, bad input named before any
preprocessing, every stage trained on each form, predict.py on imagesTs/ files."""

import json
import shutil

import nibabel as nib
import numpy as np
import pytest
from conftest import load_script, opts, train_cli

from lascar_ref.data import list_cases, load_case, write_phantom_dataset
from lascar_ref.data.dataset import open_dataset
from lascar_ref.data.input_checks import check_dataset, read_structure
from lascar_ref.data.label_map import LabelMap, from_dataset_json, parse_labels, structures_of
from lascar_ref.data.phantom_layouts import write_layout_phantoms
from lascar_ref.errors import DataError
from lascar_ref.evaluation.metrics import scar_burden
from lascar_ref.inference.inputs import find_scans
from lascar_ref.losses.wall_mask import DELTA_IN_MM, DELTA_OUT_MM, wall_mask
from lascar_ref.stage_table import STAGE_TASKS

SHAPE, SPACING = (48, 48, 16), (2.5, 2.5, 5.0)


def test_labels_option_by_hand():
    m = parse_labels("la=1,2,scar=2,background=4")
    assert (m.la, m.scar, m.background) == ((1, 2), (2,), (0, 4))
    assert m.text() == "la=1,2 scar=2 background=0,4"
    assert parse_labels("la=1").scar == ()  # LA only: Stage I
    for bad, why in [
        ("scar=2", "la= is required"),
        ("la=1,wall=3", "unknown structure 'wall'"),
        ("la=x", "'x' is not a label value"),
        ("1,la=2", "expected name=value first"),
        ("la=1,background=1", "named background and a structure"),
    ]:
        with pytest.raises(ValueError, match=why):
            parse_labels(bad)


def test_label_names_by_hand():
    assert structures_of("left atrium") == {"la"}
    assert structures_of("LA") == {"la"}
    assert structures_of("Left_Atrial_Scar") == {"scar"}  # scar wins inside one part
    assert structures_of("left atrium + scar") == {"la", "scar"}
    assert structures_of("background") == {"background"}
    assert structures_of("myocardium") == set()
    nnunet = from_dataset_json({"background": 0, "LA": [1, 3], "scar": 2}, False, "d.json")
    assert (nnunet.la, nnunet.scar, nnunet.background) == ((1, 3), (2,), (0,))
    msd = from_dataset_json({"0": "background", "1": "left atrium"}, True, "d.json")
    assert (msd.la, msd.scar) == ((1,), ())
    with pytest.raises(DataError, match="d.json: label 'myocardium' .value 2. is neither"):
        from_dataset_json({"0": "background", "1": "LA", "2": "myocardium"}, True, "d.json")


def test_masks_by_hand_and_an_unnamed_value_is_named():
    data = np.array([0, 1, 2, 3, 3], dtype=np.uint8).reshape(5, 1, 1)
    m = LabelMap(la=(1, 3), scar=(2, 3))
    masks = m.masks(data, "x.nii.gz")
    assert masks["la"].ravel().tolist() == [0, 1, 0, 1, 1]
    assert masks["scar"].ravel().tolist() == [0, 0, 1, 1, 1]
    with pytest.raises(DataError, match=r"x.nii.gz: label values 7 are not named .* background=7"):
        m.masks(np.array([0, 1, 7]).reshape(3, 1, 1), "x.nii.gz")


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The LAScarQS-layout phantoms of the seed the layout phantoms use."""
    root = tmp_path_factory.mktemp("ref")
    return write_phantom_dataset(root, 3, 0, SHAPE, SPACING, seed=0)


@pytest.mark.parametrize("form", ["msd", "nnunet"])
def test_layout_phantoms_read_back_exactly(tmp_path, reference, form):
    root = write_layout_phantoms(tmp_path / form, form, 3, SHAPE, SPACING, seed=0)
    ds = open_dataset(root)
    assert ds.layout == form and ds.supported_stages(STAGE_TASKS) == [1, 2, 3] and not ds.ignored
    assert ds.labels.la == (1, 3) and ds.labels.scar == (2, 3)  # from dataset.json's names
    values = set()
    for case, ref in zip(ds.cases[1], list_cases(reference, 1), strict=True):
        img, la, scar = load_case(case)
        rimg, rla, rscar = load_case(ref)
        assert np.array_equal(img.data, rimg.data) and np.array_equal(img.affine, rimg.affine)
        assert np.array_equal(la.data, rla.data) and np.array_equal(scar.data, rscar.data)
        values |= set(np.unique(np.asarray(nib.load(str(case.la)).dataobj)).tolist())
    assert values == {0, 1, 2, 3}  # scar outside and inside the LA label both occur
    problems, info = [], []
    assert check_dataset(root, info=info) == problems
    assert f"layout: {form} (3 LA + scar cases)" in info
    assert "label mapping: la=1,3 scar=2,3 background=0" in " ".join(info)


def test_labels_option_overrides_dataset_json(tmp_path):
    root = write_layout_phantoms(tmp_path / "m", "msd", 2, SHAPE, SPACING, seed=0)
    ds = open_dataset(root, "la=1,2,3")  # scar named LA: an LA-only dataset (Stage I)
    assert ds.supported_stages(STAGE_TASKS) == [1] and ds.cases[2][0].scar is None
    with pytest.raises(DataError, match="label values 3 are not named"):
        load_case(open_dataset(root, "la=1,scar=2").cases[1][0])


def test_read_structure_applies_the_recorded_mapping(tmp_path):
    root = write_layout_phantoms(tmp_path / "m", "nnunet", 1, SHAPE, SPACING, seed=0)
    case = open_dataset(root).cases[1][0]
    source = {"la": str(case.la), "scar": str(case.scar), "labels": case.labels.to_json()}
    _, la, scar = load_case(case)
    assert np.array_equal(read_structure(source, "la"), la.data > 0)
    assert np.array_equal(read_structure(source, "scar"), scar.data > 0)


def one_line_errors(root, *fragments):
    problems = check_dataset(root)
    for fragment in fragments:
        assert sum(fragment in p for p in problems) == 1, (fragment, problems)
    assert all("\n" not in p for p in problems)
    with pytest.raises(DataError):
        open_dataset(root)
    return problems


def test_bad_layouts_are_named_before_any_preprocessing(tmp_path):
    root = write_layout_phantoms(tmp_path / "n", "nnunet", 3, SHAPE, SPACING, seed=0)
    meta = json.loads((root / "dataset.json").read_text())
    (root / "dataset.json").write_text(json.dumps({**meta, "channel_names": {"0": "a", "1": "b"}}))
    one_line_errors(root, "dataset.json: 2 image channels")
    (root / "dataset.json").write_text(json.dumps(meta))
    (root / "labelsTr" / "phantom_001.nii.gz").unlink()
    shutil.copy(root / "labelsTr" / "phantom_002.nii.gz", root / "labelsTr" / "extra.nii.gz")
    shutil.copy(
        root / "imagesTr" / "phantom_003_0000.nii.gz", root / "imagesTr" / "phantom_003_0000.nii"
    )
    shutil.copy(
        root / "imagesTr" / "phantom_002_0000.nii.gz", root / "imagesTr" / "phantom_002_0001.nii.gz"
    )
    problems = one_line_errors(
        root,
        "phantom_001_0000.nii.gz: image without a label",
        "extra.nii.gz: label without an image",
        "two files for case 'phantom_003'",
        "phantom_002_0001.nii.gz: image channel 0001",
    )
    assert len(problems) == 4  # every problem at once
    msd = write_layout_phantoms(tmp_path / "m", "msd", 2, SHAPE, SPACING, seed=0)
    meta = json.loads((msd / "dataset.json").read_text())
    meta["training"].append(meta["training"][0])
    (msd / "dataset.json").write_text(json.dumps(meta))
    (msd / "imagesTr" / "._phantom_001.nii.gz").write_bytes(b"macOS resource fork")  # skipped
    one_line_errors(msd, "case 'phantom_001' is listed twice in training")
    label = msd / "labelsTr" / "phantom_002.nii.gz"
    img = nib.load(str(label))
    data = np.asarray(img.dataobj).copy()
    data[0, 0, 0] = 9
    nib.save(nib.Nifti1Image(data, img.affine), str(label))
    meta["training"].pop()
    (msd / "dataset.json").write_text(json.dumps(meta))
    problems = check_dataset(msd)
    assert problems == [
        f"{label}: label values 9 are not named by the label mapping (la=1,3 scar=2,3 "
        f"background=0, from {msd / 'dataset.json'}); name them with --labels (for example "
        f"background=9 to ignore them)"
    ]


def test_predict_names_imagests_files_without_the_channel_suffix(tmp_path):
    ts = tmp_path / "imagesTs"
    ts.mkdir()
    nib.save(nib.Nifti1Image(np.zeros((4, 4, 4), np.float32), np.eye(4)), str(ts / "a_0000.nii.gz"))
    nib.save(nib.Nifti1Image(np.zeros((4, 4, 4), np.float32), np.eye(4)), str(ts / "b.nii.gz"))
    assert [n for n, _ in find_scans([ts])] == ["a", "b"]


@pytest.mark.slow  # trains through train.py
@pytest.mark.parametrize("form", ["msd", "nnunet"])
def test_every_stage_trains_and_evaluates_on_each_form(tmp_path, capsys, tiny_train, form):
    root = write_layout_phantoms(tmp_path / form, form, 4, SHAPE, SPACING, seed=0)
    out = tmp_path / "run"
    rc, text = train_cli(
        ["--stage", "all", *opts(tiny_train, data=str(root), out=str(out), steps_per_epoch=1)],
        capsys,
    )
    assert rc == 0, text
    for stage in (1, 2, 3):
        start = json.loads((out / f"stage{stage}.log.jsonl").read_text().splitlines()[0])
        assert (start["n_train"], start["n_val"]) == (2, 2)  # the 4 cases, Stage I included
    assert "fold groups: 4 scans in 4 groups" in text
    if form == "msd":  # the ground truth on the original grid is read through the mapping
        ev = tmp_path / "eval"
        argv = ["--ckpt", str(out / "stage3.pt"), "--no-chain", "--out", str(ev), "--no-progress"]
        assert load_script("eval").main(argv) == 0
        rows = json.loads((ev / "stage3" / "metrics.json").read_text())["cases"]
        case = next(c for c in open_dataset(root).cases[1] if c.name == rows[0]["case"])
        _, la, scar = load_case(case)
        wall = wall_mask(la.data, la.spacing_mm, DELTA_IN_MM, DELTA_OUT_MM)
        assert len(rows) == 2 and rows[0]["structure"] == "scar"
        assert rows[0]["burden_gt"] == pytest.approx(scar_burden(scar.data, wall), abs=1e-12)
