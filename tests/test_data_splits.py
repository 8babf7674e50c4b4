"""Split files (lascar_ref/data/splits.py, train.py --splits; docs/design.md §5): written as
training assigns them, read in our form and nnU-Net's splits_final.json, checked before any
training with one line per violation naming the case, recorded by every run."""

import json

import pytest
from conftest import opts, train_cli

from lascar_ref.checkpoints import load_checkpoint
from lascar_ref.config import make_config
from lascar_ref.data.__main__ import main as data_cli
from lascar_ref.data.groups import Groups
from lascar_ref.data.splits import check_split, read_splits, split_sha256
from lascar_ref.errors import DataError
from lascar_ref.stage_data import fold_split

NAMES = {"task1/train_1": 1, "task1/train_2": 1, "task2/train_1": 2, "task2/train_2": 2}
GROUPS = Groups([["task1/train_1", "task2/train_2"], ["task1/train_2"], ["task2/train_1"]], NAMES)


def ours(path, cases, n_folds=2):
    entries = ", ".join(f'"{n}": {{"fold": {f}}}' for n, f in cases)
    # written by hand so that a duplicated key survives
    text = f'{{"format": "lascar_ref-splits", "n_folds": {n_folds}, "cases": {{{entries}}}}}'
    path.write_text(text)
    return read_splits(path)


def test_a_valid_split_passes_and_its_hash_is_of_the_assignment(tmp_path):
    cases = [("task1/train_1", 0), ("task2/train_2", 0), ("task1/train_2", 1), ("task2/train_1", 1)]
    split = ours(tmp_path / "a.json", cases)
    check_split(split, NAMES, GROUPS)  # no error
    assert split.folds == dict(cases) and split.form == "lascar_ref"
    again = ours(tmp_path / "b.json", list(reversed(cases)))  # another order, same assignment
    assert split_sha256(again.folds) == split_sha256(split.folds)
    assert split_sha256({**split.folds, "task1/train_2": 0}) != split_sha256(split.folds)


def test_every_violation_is_one_line_naming_the_case(tmp_path):
    split = ours(
        tmp_path / "s.json",
        [
            ("task1/train_1", 0),
            ("task1/train_1", 1),  # twice
            ("task2/train_2", 1),  # its group's other member is in fold 0
            ("task1/train_2", 5),  # out of range
            ("task9/train_1", 0),  # not in the dataset
        ],  # task2/train_1 missing
    )
    with pytest.raises(DataError) as e:
        check_split(split, NAMES, GROUPS)
    lines = str(e.value).splitlines()
    assert len(lines) == 6
    expected = [
        "case task1/train_1 is listed more than once",
        "case task1/train_2 has fold 5, outside 0..1",
        "case task1/train_2 of the dataset has no fold",
        "case task2/train_1 of the dataset has no fold",
        "case task9/train_1 is not in the dataset",
        "copies of one scan are split across folds (task1/train_1 in fold 0, task2/train_2 in "
        "fold 1)",
    ]
    for want in expected:
        assert sum(want in line for line in lines) == 1, want
    assert all(line.startswith(str(tmp_path / "s.json")) for line in lines)


def test_nnunet_splits_final_is_read_and_checked(tmp_path):
    path = tmp_path / "splits_final.json"
    fold0 = {"train": ["task1/train_2", "task2/train_1"], "val": ["task1/train_1", "task2/train_2"]}
    fold1 = {"train": fold0["val"], "val": fold0["train"]}
    path.write_text(json.dumps([fold0, fold1]))
    split = read_splits(path)
    assert split.form == "nnunet" and split.n_folds == 2
    assert split.folds == {
        "task1/train_1": 0,
        "task2/train_2": 0,
        "task1/train_2": 1,
        "task2/train_1": 1,
    }
    check_split(split, NAMES, GROUPS)
    bad = [fold0, {"train": ["task1/train_2"], "val": ["task1/train_1", "task2/train_1"]}]
    path.write_text(json.dumps(bad))
    with pytest.raises(DataError) as e:
        check_split(read_splits(path), NAMES, GROUPS)
    text = str(e.value)
    assert "case task1/train_1 validates in folds 0 and 1" in text
    assert "case task2/train_2 is in neither train nor val of fold 1" in text


def test_not_a_split_file_is_named(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{"folds": 3}')
    with pytest.raises(DataError, match="x.json: not a split file"):
        read_splits(path)
    with pytest.raises(DataError, match="nothing.json: split file not found"):
        read_splits(tmp_path / "nothing.json")


@pytest.mark.slow  # trains through train.py
def test_train_uses_records_and_keeps_a_given_split(data, tmp_path, capsys, tiny_train):
    splits = tmp_path / "splits.json"
    assert (
        data_cli(["folds", str(data), "--n-folds", "2", "--seed", "3", "--out", str(splits)]) == 0
    )
    doc = json.loads(splits.read_text())
    flipped = {n: {**e, "fold": 1 - e["fold"]} for n, e in doc["cases"].items()}
    other = tmp_path / "other.json"
    other.write_text(json.dumps({**doc, "cases": flipped}))
    out = tmp_path / "run"
    argv = ["--stage", "1", *opts(tiny_train, data=str(data), out=str(out), seed=0)]
    rc, text = train_cli([*argv, "--splits", str(splits)], capsys)
    assert rc == 0, text
    state = load_checkpoint(out / "stage1.last.pt", schema="resume")
    assert state["config"]["splits"] == str(splits)
    assert state["split_sha256"] == split_sha256(read_splits(splits).folds)
    start = json.loads((out / "stage1.log.jsonl").read_text().splitlines()[0])
    assert (start["split"], start["split_sha256"]) == (str(splits), state["split_sha256"])
    assert f"folds of {splits}" in text
    cfg = make_config(**{**tiny_train, "data": str(data), "splits": str(other)})
    assert fold_split(cfg, say=lambda *_: None).folds == {n: e["fold"] for n, e in flipped.items()}
    rc, text = train_cli(
        ["--stage", "1", "--resume", str(out / "stage1.last.pt"), "--splits", str(other)], capsys
    )
    assert rc == 2 and "trained on another fold assignment" in text
    rc, text = train_cli([*argv, "--splits", str(splits), "--n-folds", "3"], capsys)
    assert rc == 2 and "--n-folds 3" in text and "has 2 folds" in text


def test_recipe_json_records_the_split_and_refuses_another(tmp_path):
    from lascar_ref.training.recipes import write_manifest

    cases = [("task1/train_1", 0), ("task2/train_2", 0), ("task1/train_2", 1), ("task2/train_1", 1)]
    given = ours(tmp_path / "a.json", cases)
    out = tmp_path / "runs" / "full"
    write_manifest(out, "full", "demo", [0], 2, str(given.path))
    manifest = json.loads((out / "recipe.json").read_text())
    assert manifest["splits"] == str(given.path.resolve())
    assert manifest["split_sha256"] == split_sha256(dict(cases))
    write_manifest(out, "full", "demo", [1], 2, str(given.path))  # the same split: folds added
    assert json.loads((out / "recipe.json").read_text())["folds"] == [0, 1]
    other = ours(tmp_path / "b.json", [(n, 1 - f) for n, f in cases])
    with pytest.raises(ValueError, match="trained on split .*a.json, not .*b.json"):
        write_manifest(out, "full", "demo", [0], 2, str(other.path))
    with pytest.raises(ValueError, match="not of the seed"):
        write_manifest(out, "full", "demo", [0], 2, None)
