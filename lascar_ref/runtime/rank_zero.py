"""Work that rank 0 does alone under torchrun, with its errors shared — docs/design.md §11.

`main_only(fn, world)` runs `fn` on rank 0 only (taking the --out lock, writing a manifest);
`main_first` runs it on rank 0, then on the others (filling a cache once). An exception on rank 0
is raised on every rank, with rank 0's message and, for the errors train.py reports, its class,
instead of leaving the other ranks waiting. Without torchrun both just call `fn`.
Tests: tests/test_distributed.py
"""

from __future__ import annotations

from collections.abc import Callable

from ..errors import REPORTED
from .distributed import World, broadcast


def main_first(fn: Callable[[], object], world: World):
    """Run `fn` on rank 0, then on the other ranks (e.g. filling a cache once). An exception on
    rank 0 is raised on every rank, with rank 0's message, instead of leaving the others waiting."""
    result = main_only(fn, world)
    return result if world.main else fn()


def main_only(fn: Callable[[], object], world: World):
    """Run `fn` on rank 0 only (None elsewhere); rank 0's exception is raised on every rank."""
    if not world.active:
        return fn()
    error, result = None, None
    if world.main:
        try:
            result = fn()
        except Exception as e:  # re-raised below, after telling the other ranks
            error = e
    shared = broadcast(None if error is None else (type(error).__name__, str(error)))
    if error is not None:
        raise error
    if shared is not None:
        raise _rebuild(*shared)
    return result


def _rebuild(type_name: str, message: str) -> Exception:
    """Rank 0's exception on another rank: the same class when it is one train.py reports."""
    known = {c.__name__: c for c in REPORTED}
    return known.get(type_name, ValueError)(f"(rank 0) {message}")
