"""Shared test helpers.

`monai` tests (parity with the anchor) skip when monai is absent, except when the environment
variable LASCAR_REQUIRE_MONAI=1 is set (as in CI), where a missing monai is a failure.
"""

import importlib
import os

import pytest


def require_monai():
    """Import monai or skip; fail instead of skipping under LASCAR_REQUIRE_MONAI=1."""
    try:
        return importlib.import_module("monai")
    except ImportError:
        if os.environ.get("LASCAR_REQUIRE_MONAI") == "1":
            pytest.fail("monai is required (LASCAR_REQUIRE_MONAI=1) but is not installed")
        pytest.skip("monai not installed (install the [test] extra)")


@pytest.fixture
def monai():
    return require_monai()


TINY_SHAPE = (96, 96, 24)
TINY_SPACING = (1.25, 1.25, 2.5)


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory):
    """A small phantom dataset in the LAScarQS layout:
    3 Task 1 scans, 5 Task 2 scans (read-only use)."""
    from lascar_ref.data import write_phantom_dataset

    root = tmp_path_factory.mktemp("phantoms")
    return write_phantom_dataset(
        root, n_task1=3, n_task2_only=2, shape=TINY_SHAPE, spacing=TINY_SPACING, seed=7
    )


TINY_TRAIN = dict(
    feature_size=12,
    patch=(64, 32, 32),
    spacing_mm=(2.5, 2.5, 5.0),
    size=(64, 48, 32),
    phantom_shape=(48, 48, 16),
    phantom_spacing=(2.5, 2.5, 5.0),
    phantom_task1=3,
    phantom_task2_only=1,
    n_folds=2,
    max_epochs=1,
    progress=False,
    sw_batch_size=2,
)


@pytest.fixture(scope="session")
def tiny_train(tmp_path_factory):
    """make_config values for a seconds-long training
    run on tiny phantoms (cached once per session)."""
    cache = tmp_path_factory.mktemp("train_cache")
    return dict(TINY_TRAIN, cache=str(cache))


def tiny_cli(values: dict) -> list[str]:
    """The same values as train.py options."""
    args = []
    for key, value in values.items():
        flag = "--" + key.replace("_", "-")
        if isinstance(value, bool):
            args.append(flag if value else "--no-" + key.replace("_", "-"))
        elif isinstance(value, tuple):
            args += [flag, *map(str, value)]
        else:
            args += [flag, str(value)]
    return args


def load_script(name: str):
    """Import train.py / eval.py from the repository root as a module."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"lascar_script_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tiny_batch():
    """A fixed (1, 1, 64, 32, 32) image and (1, 3, 64, 32, 32) binary labels (LA, scar, wall)."""
    import torch

    g = torch.Generator().manual_seed(0)
    image = torch.randn(1, 1, 64, 32, 32, generator=g)
    labels = (torch.rand(1, 3, 64, 32, 32, generator=g) > 0.7).float()
    return image, labels


def one_step(model, spec, optimizer, weights, **kw):
    """One train_step of the stage's loss on tiny_batch(), without a GradScaler; `weights` holds
    every loss weight (lam, alpha_t, beta_la, beta_scar), the stage's loss takes its own."""
    import torch

    from lascar_ref.runtime.device import autocast_for
    from lascar_ref.training.fit import train_step

    image, labels = tiny_batch()
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    off = autocast_for(torch.device("cpu"), None)
    mine = {k: weights[k] for k in spec.loss_weights}
    return train_step(model, image, labels, optimizer, scaler, spec.loss, mine, off, **kw)


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    """A dataset in the geometry of TINY_TRAIN, for copying and breaking."""
    from lascar_ref.data import write_phantom_dataset

    root = tmp_path_factory.mktemp("tiny_data") / "data"
    return write_phantom_dataset(
        root, n_task1=3, n_task2_only=1, shape=(48, 48, 16), spacing=(2.5, 2.5, 5.0), seed=0
    )


@pytest.fixture
def data(tmp_path, tiny_data):
    """A private copy of tiny_data."""
    import shutil

    root = tmp_path / "data"
    shutil.copytree(tiny_data, root)
    return root


def train_cli(argv, capsys):
    """train.py's main(argv) in this process: (exit status, everything it printed)."""
    rc = load_script("train").main(argv)
    captured = capsys.readouterr()
    return rc, captured.out + captured.err


def opts(tiny_train, **kw):
    """TINY_TRAIN values (updated by kw) as train.py options."""
    return tiny_cli({**tiny_train, **kw})
