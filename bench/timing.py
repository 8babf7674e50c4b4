"""Shared timing helper of the benchmark scripts."""

from __future__ import annotations

import time


def best_of(fn, repeats: int):
    """(fastest wall time in s over `repeats` calls, the last result)."""
    out, times = None, []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out
