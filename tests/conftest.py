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
