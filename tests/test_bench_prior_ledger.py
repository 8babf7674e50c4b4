"""The prior testbed's ledger (bench/prior_ledger.py; docs/design.md §7): pairs kept across
sessions, tied to the protocol and the commit that produced them, and never pooled with pairs of
another protocol in the report (bench/bench_prior.py)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

import bench_prior  # noqa: E402
import prior_ledger  # noqa: E402

P1 = {"stages": {"2": {"alpha_max": 1.0, "max_epochs": 8}}, "n_folds": 2}
P2 = {"n_folds": 2, "stages": {"2": {"max_epochs": 8, "alpha_max": 1.0}}}  # P1, keys reordered
P3 = {"stages": {"2": {"alpha_max": 1.0, "max_epochs": 9}}, "n_folds": 2}  # one value changed
CODE = {"commit": "abc", "dirty": False}


def runs(seed, fold, dice_ramp, dice_alpha0, outside=(0.2, 0.3)):
    """The 4 records of one pair (stage 3 carries the given values, stage 2 fixed ones)."""
    out = []
    for variant, dice, out_w in (
        ("ramp", dice_ramp, outside[0]),
        ("alpha0", dice_alpha0, outside[1]),
    ):
        for stage in (2, 3):
            out.append(
                {
                    "seed": seed,
                    "fold": fold,
                    "variant": variant,
                    "stage": stage,
                    "dice": dice if stage == 3 else 0.0,
                    "hd": 40.0,
                    "asd": 6.0,
                    "outside_wall": out_w,
                }
            )
    return out


def test_protocol_hash_ignores_key_order_and_sees_a_changed_value():
    assert prior_ledger.protocol_sha256(P1) == prior_ledger.protocol_sha256(P2)
    assert prior_ledger.protocol_sha256(P1) != prior_ledger.protocol_sha256(P3)


def test_save_load_add_replace_and_protocols_kept_apart(tmp_path):
    path = tmp_path / "ledger.json"
    ledger = prior_ledger.load(path)  # none yet: empty
    assert ledger["pairs"] == []
    prior_ledger.add(ledger, P1, 1, 0, runs(1, 0, 0.3, 0.2), CODE)
    prior_ledger.add(ledger, P1, 0, 1, runs(0, 1, 0.3, 0.2), CODE)
    prior_ledger.add(ledger, P3, 0, 0, runs(0, 0, 0.9, 0.1), CODE)
    prior_ledger.add(ledger, P2, 1, 0, runs(1, 0, 0.5, 0.4), {"commit": "def", "dirty": True})
    prior_ledger.save(path, ledger)
    assert not path.with_name(path.name + ".tmp").exists()  # written through a temporary file

    back = prior_ledger.load(path)
    sha = prior_ledger.protocol_sha256(P1)
    cur = prior_ledger.current(back, sha)
    assert [(p["seed"], p["fold"]) for p in cur] == [(0, 1), (1, 0)]  # sorted, P3's pair apart
    replaced = prior_ledger.find(back, sha, 1, 0)  # P2 is P1: the pair was replaced, not added
    assert (replaced["commit"], replaced["dirty"]) == ("def", True)
    assert [r["dice"] for r in replaced["runs"] if r["stage"] == 3] == [0.5, 0.4]
    assert len(back["pairs"]) == 3
    assert prior_ledger.find(back, sha, 0, 0) is None  # that pair exists only under P3


def test_a_foreign_file_is_refused_with_its_path(tmp_path):
    path = tmp_path / "prior.json"
    path.write_text(json.dumps([{"seed": 0}]))  # e.g. a run folder's prior.json
    with pytest.raises(ValueError, match="prior.json: not a prior testbed ledger"):
        prior_ledger.load(path)


def test_code_state_commit_and_dirty_without_the_ledger(tmp_path):
    assert prior_ledger.code_state(tmp_path)["commit"] is None  # not a git repository

    def git(*args):
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "lascar_ref").mkdir()
    (tmp_path / "bench").mkdir()
    (tmp_path / "lascar_ref" / "m.py").write_text("x = 1\n")
    (tmp_path / "bench" / "prior_chain.json").write_text("{}\n")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "c")
    head = subprocess.run(
        ["git", "-C", str(tmp_path), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    ledger = tmp_path / "bench" / "prior_chain.json"
    assert prior_ledger.code_state(tmp_path, exclude=ledger) == {"commit": head, "dirty": False}
    ledger.write_text('{"pairs": []}\n')  # the ledger's own change is not "dirty code"
    assert prior_ledger.code_state(tmp_path, exclude=ledger)["dirty"] is False
    assert prior_ledger.code_state(tmp_path)["dirty"] is True
    elsewhere = tmp_path.parent / "elsewhere.json"  # a ledger outside the repository
    assert prior_ledger.code_state(tmp_path, exclude=elsewhere)["dirty"] is True
    (tmp_path / "lascar_ref" / "m.py").write_text("x = 2\n")
    assert prior_ledger.code_state(tmp_path, exclude=ledger)["dirty"] is True


def test_the_report_pools_only_the_current_protocols_pairs(capsys):
    sha = prior_ledger.protocol_sha256(bench_prior.PROTOCOL)
    ledger = {"format": prior_ledger.FORMAT, "pairs": []}
    ramp, alpha0 = [0.30, 0.20, 0.25], [0.10, 0.22, 0.20]
    for i, (a, b) in enumerate(zip(ramp, alpha0)):
        prior_ledger.add(ledger, bench_prior.PROTOCOL, i, 0, runs(i, 0, a, b), CODE)
    prior_ledger.add(ledger, P3, 9, 0, runs(9, 0, 0.99, 0.0), CODE)  # never pooled
    bench_prior.ledger_report(ledger, sha, Path("ledger.json"))
    text = capsys.readouterr().out
    assert "3 pair(s) of this protocol" in text
    assert "commits" not in text  # one commit: nothing to warn about
    assert "1 pair(s) of other protocols left out" in text
    mean_ramp = np.mean(ramp)  # 0.250, and 0.173 for alpha0: P3's 0.99 / 0.0 are not in it
    assert f"stage 3   ramp: dice {mean_ramp:.3f} +- {np.std(ramp, ddof=1):.3f} (n=3)" in text
    assert f"stage 3 alpha0: dice {np.mean(alpha0):.3f}" in text
    diff = np.mean(np.subtract(ramp, alpha0))  # +0.077: the paired mean over the 3 pairs
    assert f"stage 3 dice: {diff:+.3f}" in text


def test_differences_of_a_rerun_name_each_changed_value():
    old = runs(0, 0, 0.25, 0.2)
    assert prior_ledger.differences(old, runs(0, 0, 0.25, 0.2)) == []
    nan = [dict(r, outside_wall=float("nan")) for r in old]  # NaN == NaN here: no prediction
    assert prior_ledger.differences(nan, [dict(r) for r in nan]) == []
    changed = runs(0, 0, 0.25, 0.2000001)
    assert prior_ledger.differences(old, changed) == ["alpha0 stage 3 dice: 0.2 -> 0.2000001"]
    assert prior_ledger.differences(old, changed[:3]) == ["alpha0 stage 3: only in one run"]


def test_the_report_says_when_pairs_come_from_several_commits(capsys):
    sha = prior_ledger.protocol_sha256(bench_prior.PROTOCOL)
    ledger = {"format": prior_ledger.FORMAT, "pairs": []}
    for i, commit in enumerate(("aaa", "bbb")):
        code = {"commit": commit, "dirty": False}
        prior_ledger.add(ledger, bench_prior.PROTOCOL, i, 0, runs(i, 0, 0.3, 0.2), code)
    bench_prior.ledger_report(ledger, sha, Path("ledger.json"))
    assert "trained at 2 commits" in capsys.readouterr().out


def test_markdown_tables_hold_each_run_and_the_paired_means():
    """The unit is the seed: pairs (seed, fold) of one seed are averaged first, the interval
    and p are a paired t over the 3 seed means; the 6 pairs are descriptive."""
    ledger = {"format": prior_ledger.FORMAT, "pairs": []}
    keys = [(0, 0), (0, 1), (1, 0), (1, 1), (2, 0), (2, 1)]
    ramp, alpha0 = [0.30, 0.26, 0.20, 0.24, 0.25, 0.27], [0.10, 0.20, 0.22, 0.20, 0.20, 0.21]
    for (seed, fold), a, b in zip(keys, ramp, alpha0):
        records = runs(seed, fold, a, b)
        for r in records:
            ramp2 = r["variant"] == "ramp" and r["stage"] == 2
            r.update(best_epoch=3, alpha=1.0 if ramp2 else None, predicted_voxels=100 + seed)
        prior_ledger.add(ledger, bench_prior.PROTOCOL, seed, fold, records, CODE)
    lines = bench_prior.markdown(ledger["pairs"])
    assert sum(line.startswith("| 1 | 0 |") for line in lines) == 4  # the 4 runs of pair (1, 0)
    assert "| 0 | 0 | ramp | 2 | 3 (1) | 0.000 | 40.0 | 6.00 | 0.200 | 100 |" in lines
    assert "| 0 | 0 | alpha0 | 3 | 3 | 0.100 | 40.0 | 6.00 | 0.300 | 100 |" in lines
    d = np.subtract(ramp, alpha0)
    seed_means = d.reshape(3, 2).mean(axis=1)  # +0.13, +0.01, +0.055
    ci = stats.ttest_1samp(seed_means, 0).confidence_interval()
    p = stats.ttest_1samp(seed_means, 0).pvalue
    row = next(line for line in lines if line.startswith("| 3 | dice |"))
    assert row.startswith(
        f"| 3 | dice | {seed_means.mean():+.3f} [{ci.low:+.3f}, {ci.high:+.3f}] over 3 seeds, "
        f"t p = {p:.2g}; MDD80 "
    )
    sd = np.std(ramp, ddof=1)
    assert f"| 3 | ramp | {np.mean(ramp):.3f} ± {sd:.3f} (n=6) |" in "\n".join(lines)
    cells = [c.strip() for c in row.split("|")]
    w = stats.wilcoxon(d).pvalue  # over the 6 pairs, descriptive
    assert cells[5].endswith(f"Wilcoxon p = {w:.2g} (floor 0.031), n = 6, 6 non-zero")


def test_rerun_refuses_a_run_folder_whose_checkpoints_it_would_reuse(tmp_path, monkeypatch, capsys):
    (tmp_path / "runs" / "seed1_fold0").mkdir(parents=True)
    argv = ["bench_prior.py", "--out", str(tmp_path), "--seeds", "1", "--folds", "0", "--rerun"]
    monkeypatch.setattr(sys, "argv", [*argv, "--ledger", str(tmp_path / "ledger.json")])
    with pytest.raises(SystemExit):
        bench_prior.main()
    assert "seed1_fold0 exists; give a fresh --out" in capsys.readouterr().err
    assert not (tmp_path / "data").exists()  # refused before any phantom was written


def test_an_earlier_protocol_is_re_reported_with_todays_statistics(tmp_path, monkeypatch, capsys):
    ledger = {"format": prior_ledger.FORMAT, "pairs": []}
    for seed in (0, 1, 2):
        prior_ledger.add(ledger, P3, seed, 0, runs(seed, 0, 0.3 + seed / 100, 0.2), CODE)
    path = tmp_path / "ledger.json"
    prior_ledger.save(path, ledger)
    sha = prior_ledger.protocol_sha256(P3)
    base = ["bench_prior.py", "--ledger", str(path)]
    monkeypatch.setattr(sys, "argv", [*base, "--report-only", "--protocol", sha[:8]])
    bench_prior.main()
    out = capsys.readouterr().out
    assert f"3 pair(s) of this protocol ({sha[:12]})" in out and "over 3 seeds" in out
    monkeypatch.setattr(sys, "argv", [*base, "--protocol", sha[:8]])  # training: refused
    with pytest.raises(SystemExit):
        bench_prior.main()
    assert "only with --report-only" in capsys.readouterr().err
    monkeypatch.setattr(sys, "argv", [*base, "--report-only", "--protocol", "zz"])
    with pytest.raises(SystemExit):
        bench_prior.main()
    assert "--protocol zz: 0 protocols of the ledger match" in capsys.readouterr().err
