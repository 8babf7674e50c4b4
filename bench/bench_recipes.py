"""No anchor: records the paper's experiments at CPU scale: all five recipes (full, B1-B4) x 2
folds with the demo preset, then `eval.py --summary` (Tables 2 and 3). Records wall time per
recipe and in total.

    python bench/bench_recipes.py [--out runs_demo] [--n-folds 2] [--folds all]
                                  [--recipes full B1 B2 B3 B4]

--folds: "all" (default) or fold numbers, e.g. `--n-folds 5 --folds 0`: the demo's own fold
(its full recipe is then exactly the README demo), about 40 minutes on 2 CPU cores.

Whatever the tables say is the result (no tuning toward the paper's ordering); the figures are
recorded in bench/README.md.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--out", default="runs_demo")
    p.add_argument("--n-folds", type=int, default=2)
    p.add_argument("--folds", nargs="+", default=["all"], help="all, or fold numbers")
    p.add_argument("--recipes", nargs="+", default=["full", "B1", "B2", "B3", "B4"])
    a = p.parse_args()
    threads = torch.get_num_threads()
    print(f"# machine: {platform.machine()}, torch {torch.__version__}, {threads} threads")
    t_all = time.perf_counter()
    for recipe in a.recipes:
        t0 = time.perf_counter()
        for fold in a.folds:
            train(recipe, fold, a)
        print(
            f"recipe {recipe}: folds {' '.join(a.folds)} of {a.n_folds} trained in "
            f"{time.perf_counter() - t0:.0f} s",
            flush=True,
        )
    t0 = time.perf_counter()
    summary = subprocess.run(
        [sys.executable, str(ROOT / "eval.py"), "--summary", a.out],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    print(f"summary (evaluation of every fold and stage): {time.perf_counter() - t0:.0f} s")
    print(summary)
    print(f"total wall time: {(time.perf_counter() - t_all) / 60:.1f} min")


def train(recipe: str, fold: str, a) -> None:
    """train.py --recipe for one fold (or all) of the demo preset, output discarded."""
    cmd = [
        sys.executable,
        str(ROOT / "train.py"),
        "--recipe",
        recipe,
        "--fold",
        fold,
        "--preset",
        "demo",
        "--n-folds",
        str(a.n_folds),
        "--out",
        str(Path(a.out) / recipe),
        "--no-progress",
    ]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


if __name__ == "__main__":
    main()
