"""Paired comparisons (lascar_ref/evaluation/paired.py; docs/design.md §6): the inputs of the
bootstrap interval and the Wilcoxon test by hand — pairing by case name whatever the order, the
penalty applied before pairing, fold means, a missing case named — and the statistics themselves
from scipy.stats on those inputs."""

import math

import numpy as np
import pytest
from scipy import stats

from lascar_ref.evaluation.paired import (
    bootstrap_ci,
    case_values,
    compare,
    comparison_text,
    mdd80,
    pair,
    pairs_needed,
    wilcoxon_p,
)


def row(case, dice, hd=5.0, diagonal=100.0, structure="scar"):
    return {
        "case": case,
        "structure": structure,
        "dice": dice,
        "hd": hd,
        "diagonal_mm": diagonal,
    }


A = {  # fold -> rows, in an order unlike B's
    0: [row("c2", 0.5), row("c1", 0.4)],
    1: [row("c3", 0.7, hd=math.nan, diagonal=80.0), row("c4", 0.6)],
}
B = {
    0: [row("c1", 0.3), row("c2", 0.5)],
    1: [row("c4", 0.2), row("c3", 0.6, hd=7.0)],
}


def test_pairing_is_by_case_name_and_applies_the_penalty_first():
    a, b = case_values(A, "scar", "dice"), case_values(B, "scar", "dice")
    cases, va, vb, folds, missing = pair(a, b)
    assert cases == ["c1", "c2", "c3", "c4"] and folds == [0, 0, 1, 1] and missing == []
    assert va.tolist() == [0.4, 0.5, 0.7, 0.6] and vb.tolist() == [0.3, 0.5, 0.6, 0.2]
    _, ha, hb, _, _ = pair(case_values(A, "scar", "hd"), case_values(B, "scar", "hd"))
    assert ha.tolist() == [5.0, 5.0, 80.0, 5.0]  # c3's undefined HD -> its diagonal, 80 mm
    assert hb.tolist() == [5.0, 5.0, 7.0, 5.0]
    assert case_values(A, "la", "dice") == {}  # another structure: nothing


def test_compare_by_hand():
    c = compare(case_values(A, "scar", "dice"), case_values(B, "scar", "dice"))
    d = np.array([0.1, 0.0, 0.1, 0.4])  # A - B per case, in case order
    assert c["n"] == 4 and c["n_folds"] == 2
    assert c["mean_diff"] == pytest.approx(0.15) and c["sd_diff"] == pytest.approx(d.std(ddof=1))
    assert (c["mean_a"], c["mean_b"]) == (pytest.approx(0.55), pytest.approx(0.4))
    # 4 cases and 2 fold means: too few for an interval (MIN_BOOTSTRAP_N), shown as n/a
    assert all(math.isnan(x) for x in (*c["ci_cases"], *c["ci_folds"]))
    assert "+0.150 n/a cases, n/a folds" in comparison_text(c)
    assert c["p_wilcoxon"] == pytest.approx(stats.wilcoxon(d, zero_method="wilcox").pvalue)
    t = stats.t.ppf(0.975, 3) + stats.t.ppf(0.8, 3)
    assert c["mdd80"] == pytest.approx(t * d.std(ddof=1) / 2)  # sqrt(4) = 2


def test_the_bootstrap_interval_is_scipys_on_the_differences():
    d = np.array([0.1, 0.0, 0.1, 0.4, -0.05, 0.2])
    lo, hi = bootstrap_ci(d)
    res = stats.bootstrap(
        (d,), np.mean, n_resamples=9999, method="percentile", rng=np.random.default_rng(0)
    )
    assert (lo, hi) == pytest.approx((res.confidence_interval.low, res.confidence_interval.high))
    assert d.min() <= lo <= d.mean() <= hi <= d.max()


def test_a_missing_case_is_named_not_dropped_silently():
    b = {0: B[0], 1: [row("c4", 0.2)]}  # B never scored c3
    c = compare(case_values(A, "scar", "dice"), case_values(b, "scar", "dice"))
    assert c["missing"] == ["c3"] and c["n"] == 3
    assert "missing c3" in comparison_text(c)


def test_degenerate_inputs():
    assert bootstrap_ci(np.full(6, 0.2)) == (0.2, 0.2)
    assert all(math.isnan(x) for x in bootstrap_ci(np.array([0.2, 0.3, 0.4, 0.5])))
    assert wilcoxon_p(np.zeros(5)) == 1.0 and math.isnan(wilcoxon_p(np.array([0.1])))
    assert math.isnan(mdd80(0.1, 1))


def test_pairs_needed_inverts_the_detectable_difference():
    n = pairs_needed(0.2, 0.05)
    assert mdd80(0.2, n) <= 0.05 < mdd80(0.2, n - 1)
    # ((1.96 + 0.84) * 0.2 / 0.05)^2 = 125.4 pairs by the normal approximation, a few more by t
    assert 126 <= n <= 130
    assert pairs_needed(0.0, 0.05) == 0
    assert pairs_needed(math.nan, 0.05) is None  # one pair: no spread, no answer
