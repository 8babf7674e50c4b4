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
    """A small phantom dataset in the LAScarQS layout: 3 Task 1 scans, 5 Task 2 scans (read-only use)."""
    from lascar_ref.data import write_phantom_dataset
    root = tmp_path_factory.mktemp("phantoms")
    return write_phantom_dataset(root, n_task1=3, n_task2_only=2, shape=TINY_SHAPE, spacing=TINY_SPACING, seed=7)
