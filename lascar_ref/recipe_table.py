"""The paper's experiments by name — paper §4.3 (Table 2: Stages I, I+II, I+II+III) and §4.4
(Table 3: baselines B1-B4); docs/design.md §9.

  full  I -> II -> III      the proposed method
  B1    III                 direct supervised learning, no pretraining
  B2    I -> III            D_scar initialised from D_LA, no Stage II
  B3    II                  Stage II from scratch
  B4    II -> III           Stage II from scratch, then Stage III
Data only: training/recipes.py runs a chain, evaluation/summary.py tabulates it.
Tests: tests/test_recipes.py
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChainLink:
    """Train `stage`, initialised from the best checkpoint of `init_stage` (None: random)."""

    stage: int
    init_stage: int | None


RECIPES: dict[str, tuple[ChainLink, ...]] = {
    "full": (ChainLink(1, None), ChainLink(2, 1), ChainLink(3, 2)),
    "B1": (ChainLink(3, None),),
    "B2": (ChainLink(1, None), ChainLink(3, 1)),
    "B3": (ChainLink(2, None),),
    "B4": (ChainLink(2, None), ChainLink(3, 2)),
}
MANIFEST = "recipe.json"  # written into a recipe's --out; eval.py --summary finds runs by it
