"""No anchor: records the paper's experiments at CPU scale: all five recipes (full, B1-B4) x 2
folds with the demo preset, then `eval.py --summary` (Tables 2 and 3). Records wall time per
recipe and in total.

    python bench/bench_recipes.py [--out runs_demo] [--n-folds 2] [--recipes full B1 B2 B3 B4]

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
    p.add_argument("--recipes", nargs="+", default=["full", "B1", "B2", "B3", "B4"])
    a = p.parse_args()
    threads = torch.get_num_threads()
    print(f"# machine: {platform.machine()}, torch {torch.__version__}, {threads} threads")
    t_all = time.perf_counter()
    for recipe in a.recipes:
        t0 = time.perf_counter()
        cmd = [
            sys.executable,
            str(ROOT / "train.py"),
            "--recipe",
            recipe,
            "--fold",
            "all",
            "--preset",
            "demo",
            "--n-folds",
            str(a.n_folds),
            "--out",
            str(Path(a.out) / recipe),
            "--no-progress",
        ]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        print(
            f"recipe {recipe}: {a.n_folds} folds trained in {time.perf_counter() - t0:.0f} s",
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


if __name__ == "__main__":
    main()
