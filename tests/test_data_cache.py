"""The preprocessing and phantom cache (lascar_ref/stage_data.py, data/preprocess.py;
docs/design.md §5, §8): two first-time generations share one folder, and cache folders follow
the umask."""

import multiprocessing
import os
from pathlib import Path

import pytest

from lascar_ref.config import make_config


def _make_phantoms(cache):
    from lascar_ref.stage_data import phantom_root

    cfg = make_config(
        cache=cache,
        phantom_task1=2,
        phantom_task2_only=1,
        phantom_shape=(32, 32, 8),
        phantom_spacing=(2.5, 2.5, 5.0),
        progress=False,
    )
    return str(phantom_root(cfg))


@pytest.mark.slow  # starts processes
def test_two_first_time_phantom_generations_share_one_cache(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        roots = pool.map(_make_phantoms, [str(tmp_path)] * 2)
    assert roots[0] == roots[1] and Path(roots[0]).is_dir()
    assert not list(tmp_path.glob(".tmp-phantoms-*"))


def test_cache_folders_follow_the_umask(tmp_path, tiny_data):
    from lascar_ref.data import PreprocessConfig, list_cases, preprocess_case

    old = os.umask(0o022)
    try:
        cfg = PreprocessConfig(spacing_mm=(2.5, 2.5, 5.0), size=(48, 48, 16))
        preprocess_case(list_cases(tiny_data, 1)[0], tmp_path / "cache", cfg)
    finally:
        os.umask(old)
    cached = next((tmp_path / "cache").glob("task1-train_1-*"))
    assert cached.stat().st_mode & 0o777 == 0o755
