"""Preprocessed-cache read vs nibabel read of the raw volume; phantom generation time.

    python bench/bench_data.py [--repeats 5]

One realistic phantom (576 x 576 x 44 at 0.625 x 0.625 x 2.5 mm) is written in the LAScarQS layout
to a temporary folder and preprocessed once. Then, same run: nibabel load + decode of
enhanced.nii.gz versus loading the cached case (memory-mapped .npy) and touching every voxel of its
image, LA, scar and wall arrays. Target: cache >= 10x faster. Figures are in bench/README.md.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
from pathlib import Path

import nibabel as nib
import numpy as np
from timing import best_of, ratio_text

from lascar_ref.data import list_cases, preprocess_case, write_phantom_dataset


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--repeats", type=int, default=5)
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t_gen, root = best_of(
            lambda: write_phantom_dataset(Path(tmp) / "data", n_task1=1, n_task2_only=0), 1
        )
        case = list_cases(root, 1)[0]
        cache = Path(tmp) / "cache"
        t_pre, _ = best_of(lambda: preprocess_case(case, cache), 1)  # the first call fills it

        def raw():
            return np.asarray(nib.load(str(case.image)).dataobj).sum()

        def cached():
            c = preprocess_case(case, cache)
            return float(c.image.sum()) + int(c.la.sum()) + int(c.scar.sum()) + int(c.wall.sum())

        t_raw, t_cache = best_of(raw, a.repeats)[0], best_of(cached, a.repeats)[0]
    print(f"# machine: {platform.machine()}, {platform.python_version()}")
    print(
        f"phantom generation + write (576x576x44, one Task 1 case incl. Task 2 copy): {t_gen:.1f} s"
    )
    print(f"preprocessing (first call, fills the cache): {t_pre:.2f} s")
    print(
        f"nibabel read of enhanced.nii.gz: {t_raw * 1000:.1f} ms; "
        f"cache read (4 arrays): {t_cache * 1000:.1f} ms; "
        f"{ratio_text(t_cache, t_raw, 'nibabel')}"
    )


if __name__ == "__main__":
    main()
