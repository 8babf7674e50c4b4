"""Paired comparisons of two table rows on the same cases — beyond the paper's ± (§4.3-4.4);
docs/design.md §6.

Two results A and B (a recipe and `full`, or a Table 2 row and the row before it) scored on the
same validation cases. Per structure and metric, with distances penalised first (a case where one
mask is empty scores the diagonal of its field of view, evaluation/metrics.penalised):
  d_i        = A_i - B_i over the cases both scored, paired by case name (never by position);
               a case only one of them scored is named in `missing`, never silently dropped
  mean_diff  = mean of d_i
  ci_cases   = 95% bootstrap interval of mean_diff over cases (scipy.stats.bootstrap,
               percentile method, 9999 resamples, seed 0; none below 5 values)
  ci_folds   = the same over the per-fold mean differences (5 values for five folds: crude)
  p_wilcoxon = two-sided Wilcoxon signed-rank p over cases (scipy.stats.wilcoxon, zero
               differences dropped; 1.0 when every difference is 0)
  mdd80      = the smallest true mean difference n pairs with this spread detect with 80% power
               at two-sided alpha 0.05 (paired t): (t_{0.975, n-1} + t_{0.80, n-1}) sd(d) / sqrt(n)
`pairs_needed(sd, delta)` inverts mdd80: how many pairs a difference delta would need.
Deviation: the paper reports mean ± std only; these statistics are ours (docs/design.md §6).
Tests: tests/test_paired.py
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from .metrics import penalised

ALPHA, POWER, RESAMPLES, SEED = 0.05, 0.80, 9999, 0
# A percentile bootstrap of fewer values only restates their range (of 2 values: [min, max]),
# which reads as a confident interval; below this many, no interval is given ("n/a").
MIN_BOOTSTRAP_N = 5


def case_values(per_fold: dict[int, list[dict]], structure: str, metric: str) -> dict:
    """case -> (fold, value) of one structure and metric; distances penalised (NaN -> diagonal)."""
    out = {}
    for fold, rows in per_fold.items():
        for r in rows:
            if r["structure"] == structure:
                out[r["case"]] = (fold, penalised(r, metric))
    return out


def pair(a: dict, b: dict) -> tuple[list[str], np.ndarray, np.ndarray, list[int], list[str]]:
    """(cases in both, A values, B values, folds, cases in only one) from two case_values maps."""
    both = sorted(set(a) & set(b))
    missing = sorted(set(a) ^ set(b))
    va = np.array([a[c][1] for c in both], dtype=np.float64)
    vb = np.array([b[c][1] for c in both], dtype=np.float64)
    return both, va, vb, [a[c][0] for c in both], missing


def mdd80(sd: float, n: int, alpha: float = ALPHA, power: float = POWER) -> float:
    """Minimum detectable mean difference of n pairs with difference spread sd (paired t)."""
    if n < 2 or not math.isfinite(sd):
        return math.nan
    t = stats.t.ppf(1 - alpha / 2, n - 1) + stats.t.ppf(power, n - 1)
    return float(t * sd / math.sqrt(n))


def pairs_needed(sd: float, delta: float, alpha: float = ALPHA, power: float = POWER) -> int | None:
    """The smallest n whose mdd80 at spread sd is at most delta (0 when sd is 0; None when the
    spread is undefined, as with a single pair)."""
    if not math.isfinite(sd):
        return None
    if sd <= 0:
        return 0
    n = 2
    while mdd80(sd, n, alpha, power) > delta and n < 1_000_000:
        n += 1
    return n


def bootstrap_ci(values: np.ndarray) -> tuple[float, float]:
    """95% percentile-bootstrap interval of the mean of `values` (NaN, NaN for fewer than
    MIN_BOOTSTRAP_N values)."""
    if values.size < MIN_BOOTSTRAP_N:
        return math.nan, math.nan
    if np.all(values == values[0]):
        return float(values[0]), float(values[0])
    res = stats.bootstrap(
        (values,),
        np.mean,
        n_resamples=RESAMPLES,
        method="percentile",
        confidence_level=1 - ALPHA,
        rng=np.random.default_rng(SEED),
    )
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def wilcoxon_p(d: np.ndarray) -> float:
    """Two-sided Wilcoxon signed-rank p of the differences (1.0 if all are 0; NaN if n < 2)."""
    if d.size < 2:
        return math.nan
    if np.all(d == 0):
        return 1.0
    return float(stats.wilcoxon(d, zero_method="wilcox").pvalue)


def compare(a: dict, b: dict) -> dict:
    """The paired statistics of A - B (see the module docstring) from two case_values maps."""
    cases, va, vb, folds, missing = pair(a, b)
    d = va - vb
    fold_diffs = np.array([d[[f == k for f in folds]].mean() for k in sorted(set(folds))])
    sd = float(d.std(ddof=1)) if d.size > 1 else math.nan
    return {
        "n": int(d.size),
        "n_folds": int(fold_diffs.size),
        "mean_a": float(va.mean()) if d.size else math.nan,
        "mean_b": float(vb.mean()) if d.size else math.nan,
        "mean_diff": float(d.mean()) if d.size else math.nan,
        "sd_diff": sd,
        "ci_cases": bootstrap_ci(d),
        "ci_folds": bootstrap_ci(fold_diffs),
        "p_wilcoxon": wilcoxon_p(d),
        "mdd80": mdd80(sd, int(d.size)),
        "missing": missing,
    }


def comparison_text(c: dict) -> str:
    """ "+0.031 [-0.012, +0.074] cases, [-0.02, +0.08] folds; p = 0.21; n = 60; MDD 0.05"."""
    if not c["n"]:
        return "-"

    def interval(ci):
        return "n/a" if math.isnan(ci[0]) else f"[{ci[0]:+.3f}, {ci[1]:+.3f}]"

    p = "n/a" if math.isnan(c["p_wilcoxon"]) else f"{c['p_wilcoxon']:.2g}"
    mdd = "n/a" if math.isnan(c["mdd80"]) else f"{c['mdd80']:.3f}"
    missing = f"; missing {', '.join(c['missing'])}" if c["missing"] else ""
    return (
        f"{c['mean_diff']:+.3f} {interval(c['ci_cases'])} cases, {interval(c['ci_folds'])} folds; "
        f"p = {p}; n = {c['n']}; MDD80 {mdd}{missing}"
    )
