"""Paired comparisons of two table rows on the same cases — beyond the paper's ± (§4.3-4.4);
docs/design.md §6.

Two results A and B (a recipe and `full`, or a Table 2 row and the row before it) scored on the
same validation cases. Every case belongs to a *unit*: what was trained independently and scored
it — the fold whose model predicted it (Tables 2 and 3), or the seed of the prior testbed. Per
structure and metric, with distances penalised first (a case where one mask is empty scores the
diagonal of its field of view, evaluation/metrics.penalised):
  d_i         = A_i - B_i over the cases both scored, paired by case name (never by position); a
                case only one of them scored is named in `missing`; a name given twice, or a case
                whose unit differs between A and B, is refused (ValueError naming the case)
Primary — the unit is the fold (seed), not the case: the cases of one fold share one model, so
they are not independent replicates of the comparison:
  unit_diffs  = the mean of d_i within each unit (five values for five folds)
  mean_units  = their mean (equal to mean_diff when the units hold equally many cases)
  ci_units    = 95% t-interval of mean_units over the units (scipy.stats.ttest_1samp);
                NaN ("n/a") below 2 units
  p_units     = two-sided paired t p over the units (the same test); no floor: any p > 0 is
                reachable at n >= 2, unlike a sign-flip test (>= 0.0625 at 5 units)
  mdd80       = the smallest true mean difference this t test over n units detects with 80%
                power at two-sided alpha 0.05 with spread sd(unit_diffs): exact, from the
                noncentral t; mdd80_upper the same at the upper end of the spread's 95% interval
                (chi-square, n - 1 degrees of freedom), since the spread itself is estimated
                from few values
Descriptive — the cases (labelled so wherever printed; not a test of the recipes):
  mean_diff, sd_diff, ci_cases (t-interval over cases), n, n_nonzero (pairs with d_i != 0),
  p_wilcoxon  = two-sided Wilcoxon signed-rank p over cases (zero differences dropped, so it
                rests on n_nonzero pairs); wilcoxon_floor = the smallest p that exact test can
                give at n_nonzero pairs, 2 / 2^n_nonzero
`units_needed(sd, delta)` inverts mdd80: how many units a difference delta needs; `holm(ps)` is
Holm's step-down adjustment over a family of comparisons (the primary endpoint's, summary.py).
Deviation: the paper reports mean ± std only; these statistics are ours (docs/design.md §6).
Tests: tests/test_paired.py
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy import optimize, stats

from .metrics import penalised, undefined

ALPHA, POWER = 0.05, 0.80

MAX_UNITS = 1_000_000  # units_needed gives no answer beyond this
SPREAD_NOISE = 1e-12  # a spread below this fraction of the values is rounding (no_spread)


def case_values(per_fold: dict[int, list[dict]], structure: str, metric: str) -> dict:
    """case -> (fold, value) of one structure and metric; distances penalised (NaN -> diagonal);
    a case undefined in a metric that is not a distance (metrics.undefined) left out, so it is
    never a pair. A case name met twice (in one fold or in two) is refused, naming it and both
    folds."""
    out = {}
    for fold, rows in per_fold.items():
        for r in rows:
            if r["structure"] != structure or metric not in r:
                continue  # another structure, or a result without this metric (older code)
            if undefined(r, metric):
                continue
            if r["case"] in out:
                raise ValueError(
                    f"case {r['case']!r} appears twice in the {structure} rows (folds "
                    f"{out[r['case']][0]} and {fold}): a case is scored once per result"
                )
            out[r["case"]] = (fold, penalised(r, metric))
    return out


def pair(a: dict, b: dict) -> tuple[list[str], np.ndarray, np.ndarray, list, list[str]]:
    """(cases in both, A values, B values, units, cases in only one) from two
    case -> (unit, value) maps; a case whose unit differs between A and B is refused."""
    both = sorted(set(a) & set(b))
    for c in both:
        if a[c][0] != b[c][0]:
            raise ValueError(
                f"case {c!r} is in fold {a[c][0]} on one side and fold {b[c][0]} on the other: "
                "the two results were not trained on the same folds"
            )
    missing = sorted(set(a) ^ set(b))
    va = np.array([a[c][1] for c in both], dtype=np.float64)
    vb = np.array([b[c][1] for c in both], dtype=np.float64)
    return both, va, vb, [a[c][0] for c in both], missing


def no_spread(values: np.ndarray) -> bool:
    """Whether the values' spread is zero up to floating-point noise: sd <= SPREAD_NOISE times
    the largest magnitude (fold means of the same cases differ by rounding, ~1e-17)."""
    scale = max(float(np.max(np.abs(values))), 1e-300)
    return float(np.std(values)) <= SPREAD_NOISE * scale


def t_interval(values: np.ndarray, alpha: float = ALPHA) -> tuple[float, float]:
    """(1 - alpha) t-interval of the mean of `values`: mean ± t_{1-alpha/2, n-1} sd / sqrt(n)
    (scipy.stats.ttest_1samp); (NaN, NaN) below 2 values or without spread (`no_spread`: the t
    interval is undefined, and a zero-width one would claim certainty), (0, 0) when all are 0."""
    values = np.asarray(values, dtype=np.float64)
    if values.size < 2:
        return math.nan, math.nan
    if np.all(values == 0):
        return 0.0, 0.0
    if no_spread(values):
        return math.nan, math.nan
    ci = stats.ttest_1samp(values, 0.0).confidence_interval(1 - alpha)
    return float(ci.low), float(ci.high)


def t_p(values: np.ndarray) -> float:
    """Two-sided one-sample t p of mean 0 (the paired t on differences); NaN below 2 values or
    without spread (`no_spread`, non-zero), 1.0 when every value is 0."""
    values = np.asarray(values, dtype=np.float64)
    if values.size < 2:
        return math.nan
    if np.all(values == 0):
        return 1.0
    if no_spread(values):
        return math.nan
    return float(stats.ttest_1samp(values, 0.0).pvalue)


def t_power(delta: float, sd: float, n: int, alpha: float = ALPHA) -> float:
    """Power of the two-sided one-sample t test at level alpha over n values of spread sd when
    the true mean is delta: P(|T| > t_{1-alpha/2, n-1}), T ~ noncentral t(n - 1, delta sqrt(n) /
    sd)."""
    df, crit = n - 1, stats.t.ppf(1 - alpha / 2, n - 1)
    nc = abs(delta) * math.sqrt(n) / sd
    wrong_side = float(stats.nct.cdf(-crit, df, nc))  # NaN in scipy far out in the tail, ~0
    return float(stats.nct.sf(crit, df, nc)) + (0.0 if math.isnan(wrong_side) else wrong_side)


def mdd80(sd: float, n: int, alpha: float = ALPHA, power: float = POWER) -> float:
    """The smallest true mean difference the paired t over n units of spread sd detects with
    `power` (exact, noncentral t); 0 without spread, NaN below 2 units or for an undefined sd."""
    if n < 2 or not math.isfinite(sd):
        return math.nan
    if sd <= 0:
        return 0.0
    hi = sd
    while t_power(hi, sd, n, alpha) < power:
        hi *= 2
    return float(optimize.brentq(lambda x: t_power(x, sd, n, alpha) - power, 0.0, hi, xtol=1e-9))


def sd_upper(sd: float, n: int, alpha: float = ALPHA) -> float:
    """Upper end of the (1 - alpha) chi-square interval of a spread sd estimated from n values:
    sd sqrt((n - 1) / chi2_{alpha/2, n-1}) (2.45 sd at n = 6); NaN below 2 values."""
    if n < 2 or not math.isfinite(sd):
        return math.nan
    return float(sd * math.sqrt((n - 1) / stats.chi2.ppf(alpha / 2, n - 1)))


def units_needed(sd: float, delta: float, alpha: float = ALPHA, power: float = POWER) -> int | None:
    """The smallest n whose mdd80 at spread sd is at most |delta|: 2 (the test's minimum) when sd
    is 0; None when there is no answer: delta = 0 (no n detects no difference), an undefined
    spread (a single unit) or more than MAX_UNITS. Doubling, then bisection (power rises with n)."""
    if not (math.isfinite(sd) and math.isfinite(delta)) or delta == 0:
        return None
    if sd <= 0:
        return 2
    lo, hi = 1, 2  # power(lo) < power <= power(hi) once found; n = 1 has no test
    while t_power(delta, sd, hi, alpha) < power:
        lo, hi = hi, hi * 2
        if hi > MAX_UNITS:
            return None
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if t_power(delta, sd, mid, alpha) >= power else (mid, hi)
    return hi


def wilcoxon_p(d: np.ndarray) -> float:
    """Two-sided Wilcoxon signed-rank p of the differences, zeros dropped (1.0 if all are 0; NaN
    if n < 2)."""
    if d.size < 2:
        return math.nan
    if np.all(d == 0):
        return 1.0
    return float(stats.wilcoxon(d, zero_method="wilcox").pvalue)


def wilcoxon_floor(n_nonzero: int) -> float:
    """The smallest two-sided p of the exact signed-rank test over n non-zero differences
    (all of one sign): 2 / 2^n, at most 1 (0.0625 at n = 5, 0.125 at n = 4)."""
    return min(1.0, 2.0 ** (1 - n_nonzero)) if n_nonzero else 1.0


def holm(ps: list[float], m: int | None = None) -> list[float]:
    """Holm's step-down adjusted p of a family of m comparisons: the k-th smallest p (k = 0..)
    times (m - k), made non-decreasing, at most 1. An undefined p (NaN) stays NaN and counts in m
    as if it were the largest (conservative); `m` (at least len(ps)) is the declared family's
    size, so that a member that was not run or was left out still counts."""
    m = max(len(ps), m or 0)
    order = sorted((p, i) for i, p in enumerate(ps) if not math.isnan(p))
    out, running = [math.nan] * len(ps), 0.0
    for k, (p, i) in enumerate(order):
        running = max(running, min(1.0, (m - k) * p))
        out[i] = running
    return out


def _sd(v: np.ndarray) -> float:
    return float(v.std(ddof=1)) if v.size > 1 else math.nan


def compare(a: dict, b: dict, unit: str = "fold") -> dict:
    """The paired statistics of A - B (see the module docstring) from two case -> (unit, value)
    maps; `unit` names what the units are ("fold", "seed") wherever printed."""
    cases, va, vb, units, missing = pair(a, b)
    d = va - vb
    keys = sorted(set(units))
    unit_diffs = np.array([d[[u == k for u in units]].mean() for k in keys])
    sd_units, n_units = _sd(unit_diffs), int(unit_diffs.size)
    if n_units > 1 and no_spread(unit_diffs):
        sd_units = 0.0  # rounding, not spread (no_spread)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return {
            "unit": unit,
            "n_units": n_units,
            "unit_diffs": dict(zip((str(k) for k in keys), unit_diffs.tolist(), strict=True)),
            "mean_units": float(unit_diffs.mean()) if n_units else math.nan,
            "sd_units": sd_units,
            "ci_units": t_interval(unit_diffs),
            "p_units": t_p(unit_diffs),
            "mdd80": mdd80(sd_units, n_units),
            "mdd80_upper": mdd80(sd_upper(sd_units, n_units), n_units),
            "n": int(d.size),
            "n_nonzero": int(np.count_nonzero(d)),
            "mean_a": float(va.mean()) if d.size else math.nan,
            "mean_b": float(vb.mean()) if d.size else math.nan,
            "mean_diff": float(d.mean()) if d.size else math.nan,
            "sd_diff": _sd(d),
            "ci_cases": t_interval(d),
            "p_wilcoxon": wilcoxon_p(d),
            "wilcoxon_floor": wilcoxon_floor(int(np.count_nonzero(d))),
            "missing": missing,
        }


def _num(x: float, fmt: str) -> str:
    return "n/a" if x is None or math.isnan(x) else format(x, fmt)


def interval_text(ci) -> str:
    """ "[-0.012, +0.074]", or "n/a" for an undefined interval."""
    return "n/a" if math.isnan(ci[0]) else f"[{ci[0]:+.3f}, {ci[1]:+.3f}]"


def unit_text(c: dict) -> str:
    """The primary part: "+0.031 [-0.012, +0.074] over 5 folds, t p = 0.21; MDD80 0.050 (0.094
    at the spread's 95% upper bound)"; "n/a (1 fold)" below 2 units."""
    units = f"{c['n_units']} {c['unit']}{'s' if c['n_units'] != 1 else ''}"
    if c["n_units"] < 2:
        return f"{_num(c['mean_units'], '+.3f')}, n/a ({units}: no interval or test)"
    if c["mean_units"] != 0 and math.isnan(c["p_units"]):
        return (
            f"{c['mean_units']:+.3f} in every one of {units}, n/a (no spread: no interval or test)"
        )
    return (
        f"{c['mean_units']:+.3f} {interval_text(c['ci_units'])} over {units}, "
        f"t p = {_num(c['p_units'], '.2g')}; MDD80 {_num(c['mdd80'], '.3f')} "
        f"({_num(c['mdd80_upper'], '.3f')} at the spread's 95% upper bound)"
    )


def case_text(c: dict, label: str = "cases (descriptive): ") -> str:
    """The descriptive part: "cases (descriptive): +0.030 [-0.01, +0.07], Wilcoxon p = 0.1
    (floor 0.0625), n = 60, 58 non-zero" (`label` "" where a column header says it)."""
    return (
        f"{label}{_num(c['mean_diff'], '+.3f')} {interval_text(c['ci_cases'])}, "
        f"Wilcoxon p = {_num(c['p_wilcoxon'], '.2g')} (floor {c['wilcoxon_floor']:.2g}), "
        f"n = {c['n']}, {c['n_nonzero']} non-zero"
    )


def comparison_text(c: dict) -> str:
    """One line: the primary part, then the descriptive part, then what is missing."""
    if not c["n"]:
        return "-"
    missing = f"; missing {', '.join(c['missing'])}" if c["missing"] else ""
    return f"{unit_text(c)}; {case_text(c)}{missing}"
