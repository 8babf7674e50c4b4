"""The one timing helper of the benchmark scripts, and the one way they print a ratio.

`best_of(fn, repeats)`: the fastest of `repeats` timed calls after `warmup` untimed ones (the
minimum is the least disturbed by other work on the machine); on CUDA pass `sync` (e.g.
torch.cuda.synchronize) so that queued kernels are inside the timing.
`ratio_text(ours, anchor)`: every script prints ours / anchor in time (below 1 = faster than the
anchor); the anchor / ours form is never printed. Scripts without an anchor say so in their first
docstring line and print no ratio.
"""

from __future__ import annotations

import time


def best_of(fn, repeats: int, warmup: int = 0, sync=None):
    """(fastest wall time in s over `repeats` calls, the last result)."""
    for _ in range(warmup):
        fn()
    if sync:
        sync()
    out, times = None, []
    for _ in range(max(repeats, 1)):
        t0 = time.perf_counter()
        out = fn()
        if sync:
            sync()
        times.append(time.perf_counter() - t0)
    return min(times), out


def ratio_text(ours: float, anchor: float, anchor_name: str) -> str:
    """ "ratio ours / MONAI 0.51x" — seconds of ours over seconds of the anchor, same run."""
    return f"ratio ours / {anchor_name} {ours / anchor:.2f}x"
