"""When training stops (lascar_ref/training/stopping.py; paper §4.2; docs/design.md §2): early
stopping on a hand-written sequence, and the budget of non-finite steps."""

import torch

from lascar_ref.training.stopping import EarlyStopping, NonFiniteBudget


def test_early_stopping_stub_sequence():
    stopper = EarlyStopping(patience=3, min_delta=1e-4)
    seq = [0.10, 0.20, 0.20005, 0.19, 0.2001]
    improved, stops = [], []
    for epoch, v in enumerate(seq):
        improved.append(stopper.update(v, epoch))
        stops.append(stopper.stop)
    # 0.20005 and 0.2001 do not beat 0.20 by more than 1e-4: three bad epochs after epoch 1 -> stop
    assert improved == [True, True, False, False, False]
    assert stops == [False, False, False, False, True]
    assert stopper.best == 0.20 and stopper.best_epoch == 1


def test_non_finite_budget_resets_on_a_finite_step():
    budget = NonFiniteBudget.for_amp(torch.float16)
    assert budget.allowance == 5 and NonFiniteBudget.for_amp(None).allowance == 0
    assert all(budget.spend() for _ in range(5)) and not budget.spend()
    budget.reset()
    assert budget.left == 5
