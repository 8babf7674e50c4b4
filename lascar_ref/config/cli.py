"""train.py's options, generated from the configuration's fields — docs/design.md §2, §8.

`add_arguments` adds one --option per config.TrainConfig field, in its titled group
(config.HELP_GROUPS), with the help `help_text` builds from the field: what it does, its source
and its default (`python train.py -h`). Defaults are suppressed, so that explicit values are
known (a preset's value is replaced only by an explicit one). `add_progress_options` is shared by
train.py, eval.py and predict.py.
Tests: tests/test_config.py
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import get_type_hints

from .checks import AMP_CHOICES, PROGRESS_CHOICES
from .train_config import HELP_GROUPS, TrainConfig


def help_text(f: dataclasses.Field) -> str:
    """ "early-stopping patience in epochs (paper §4.2; default: 30)": what, source, default."""
    source = f"{f.metadata['source']}; " if f.metadata["source"] else ""
    default = " ".join(map(str, f.default)) if isinstance(f.default, tuple) else f.default
    return f"{f.metadata['help']} ({source}default: {default})"


def add_arguments(parser: argparse.ArgumentParser, skip: tuple[str, ...] = ("stage",)) -> None:
    """One --option per field in its titled group; defaults suppressed (so that explicit values
    are known), help as `help_text`."""
    hints = get_type_hints(TrainConfig)
    groups = {title: option_group(parser, title) for title in HELP_GROUPS}
    for f in dataclasses.fields(TrainConfig):
        if f.name in skip:
            continue
        group, name, kind = (
            groups[f.metadata["group"]],
            "--" + f.name.replace("_", "-"),
            hints[f.name],
        )
        common = dict(default=argparse.SUPPRESS, help=help_text(f))
        if f.name == "progress":
            add_progress_options(group, argparse.SUPPRESS, common["help"])
        elif kind is bool:
            group.add_argument(name, action=argparse.BooleanOptionalAction, **common)
        elif str(kind).startswith("tuple"):
            elem = float if "float" in str(kind) else int
            group.add_argument(name, type=elem, nargs=3, metavar=("X", "Y", "Z"), **common)
        elif f.name == "amp":
            group.add_argument(name, choices=AMP_CHOICES, **common)
        else:
            group.add_argument(name, type={int: int, float: float}.get(kind, str), **common)


def add_progress_options(parser, default="auto", help: str | None = None) -> None:
    """--progress [auto|on|off] (a bare --progress: on) and --no-progress (= off), sharing one
    destination; train.py, eval.py and predict.py all read them (show_bars)."""
    help = help or "progress bars: on, off, or auto: only on a terminal (default: auto)"
    parser.add_argument(
        "--progress", nargs="?", const="on", choices=PROGRESS_CHOICES, default=default, help=help
    )
    parser.add_argument(
        "--no-progress",
        dest="progress",
        action="store_const",
        const="off",
        default=argparse.SUPPRESS,
        help="--progress off",
    )


def option_group(parser: argparse.ArgumentParser, title: str):
    """The parser's argument group of that title (created on first use, so that train.py can add
    its own options to the same groups before the fields)."""
    for g in parser._action_groups:
        if g.title == title:
            return g
    return parser.add_argument_group(title)
