"""A result is tied to what produced it (lascar_ref/evaluation/provenance.py, evaluate.init_chain;
docs/design.md §6): the fingerprint of the evaluated cases by hand, the fields that differ named,
and Table 2's chain followed by the SHA-256 each checkpoint recorded of its --init."""

import hashlib
from types import SimpleNamespace

import pytest

from lascar_ref.checkpoints import file_sha256, save_checkpoint
from lascar_ref.errors import CheckpointError
from lascar_ref.evaluation.evaluate import init_chain
from lascar_ref.evaluation.provenance import cases_fingerprint, differences, provenance


def case(name, voxel_hash):
    return SimpleNamespace(name=name, meta={"voxel_hash": voxel_hash})


def test_cases_fingerprint_by_hand():
    cases = [case("task1/train_2", "bb"), case("task1/train_1", "aa")]
    expected = hashlib.sha256(b"task1/train_1:aa\ntask1/train_2:bb\n").hexdigest()
    assert cases_fingerprint(cases) == expected == cases_fingerprint(cases[::-1])
    assert cases_fingerprint([case("task1/train_1", "ab"), cases[0]]) != expected  # other bytes


def test_differences_name_every_field_that_changed(tmp_path):
    cases = [case("task1/train_1", "aa")]
    stored = provenance(["c1", "c2", "c3"], "original", False, tmp_path, 0, cases)
    assert stored["checkpoint"] == "c3" and stored["init_chain"] == ["c1", "c2"]
    assert differences(stored, dict(stored)) == []
    now = provenance(["c1", "cX", "c3"], "preprocessed", True, tmp_path, 0, cases)
    assert differences(stored, now) == [
        "init_chain: ['c1', 'c2'] -> ['c1', 'cX']",
        "grid: original -> preprocessed",
        "mirror: False -> True",
    ]
    other = provenance(["c1", "c2", "c3"], "original", False, tmp_path / "x", 1, [])
    assert [d.split(":")[0] for d in differences(stored, other)] == ["data_root", "fold", "cases"]
    assert differences(None, stored) == ["no provenance recorded"]  # a result from before


def fake(path, stage, init=None, init_sha256=None):
    """A checkpoint with what init_chain reads: stage, arch, model, config, init_sha256."""
    state = {
        "stage": stage,
        "arch": {"model": "SwinUNETR", "feature_size": 12},
        "model": {},
        "config": {"init": str(init) if init else None},
    }
    if init_sha256 is not None:
        state["init_sha256"] = init_sha256
    save_checkpoint(state, path)
    return path


def test_the_chain_is_followed_by_hash_and_a_stranger_of_the_same_name_refused(tmp_path):
    elsewhere = tmp_path / "trained"
    elsewhere.mkdir()
    s1 = fake(elsewhere / "stage1.pt", 1)
    s2 = fake(elsewhere / "stage2.pt", 2, s1, file_sha256(s1))
    moved = tmp_path / "moved"
    moved.mkdir()
    s3 = fake(moved / "stage3.pt", 3, moved / "stage2.pt", file_sha256(s2))
    (moved / "stage2.pt").write_bytes(s2.read_bytes())  # the same file, copied beside stage 3
    chain = init_chain(s3)
    assert [p for p, _ in chain] == [s1, moved / "stage2.pt", s3]  # stage1.pt where it was written
    fake(moved / "stage2.pt", 2, s1, "0" * 64)  # another file under the same name
    with pytest.raises(CheckpointError) as e:
        init_chain(s3)
    message = str(e.value)
    assert f"{moved / 'stage2.pt'}: not the --init file {s3} was trained from" in message
    assert "\n" not in message
    assert [p for p, _ in init_chain(s3, follow=False)] == [s3]


def test_an_older_checkpoint_without_the_record_is_followed_by_name_with_a_note(tmp_path):
    s1 = fake(tmp_path / "stage1.pt", 1)
    s2 = fake(tmp_path / "stage2.pt", 2, s1)  # no init_sha256: written before the record
    notes = []
    assert [p for p, _ in init_chain(s2, say=notes.append)] == [s1, s2]
    assert notes == [f"note: {s2} records no SHA-256 of its --init; {s1} followed by name"]


def test_file_sha256_is_the_bytes_hash(tmp_path):
    f = tmp_path / "x.bin"
    f.write_bytes(b"abc")
    assert file_sha256(f) == hashlib.sha256(b"abc").hexdigest()
    f.write_bytes(b"abcd")  # another size: not served from the memo
    assert file_sha256(f) == hashlib.sha256(b"abcd").hexdigest()


def test_a_result_of_older_metric_code_or_a_truncated_file_is_stale(tmp_path):
    """The metrics version is part of the provenance (a result without it is re-evaluated), and a
    truncated metrics.json is stale with one line naming it, not a JSON error."""
    from lascar_ref.evaluation.provenance import METRICS_VERSION, read_result

    cases = [case("task1/train_1", "aa")]
    now = provenance(["c1"], "original", False, tmp_path, 0, cases)
    assert now["metrics_version"] == METRICS_VERSION
    older = {k: v for k, v in now.items() if k != "metrics_version"}
    assert differences(older, now) == [f"metrics_version: None -> {METRICS_VERSION}"]
    path = tmp_path / "metrics.json"
    path.write_text('{"provenance": {"checkpoint"')  # cut off mid-write
    stored, why = read_result(path)
    assert stored is None and why.startswith(f"{path}: unreadable") and "stale" in why
    assert read_result(tmp_path / "absent.json") == (None, "no metrics.json")
    path.write_text('{"cases": []}')
    assert read_result(path) == ({"cases": []}, "")
