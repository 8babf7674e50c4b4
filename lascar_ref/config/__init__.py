"""The training configuration, one room — paper §3.2, §4.1, §4.2; docs/design.md §2, §7, §8, §12.

train_config.py: the frozen dataclass TrainConfig (every default tagged with its source) and
`make_config`; checks.py: the checks of its values; presets.py: the presets (paper, demo); cli.py:
train.py's options generated from the fields. This file only re-exports the dataclass's face.
Tests: tests/test_config.py
"""

from .train_config import (
    HELP_GROUPS,
    OVERLAP,
    OVERRIDABLE_ON_RESUME,
    PATCH,
    TrainConfig,
    config_dict,
    make_config,
    show_bars,
)

__all__ = [
    "HELP_GROUPS",
    "OVERLAP",
    "OVERRIDABLE_ON_RESUME",
    "PATCH",
    "TrainConfig",
    "config_dict",
    "make_config",
    "show_bars",
]
