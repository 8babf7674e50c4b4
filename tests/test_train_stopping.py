"""When training stops (lascar_ref/training/stopping.py, fit.NonFiniteBudget; paper §4.2;
docs/design.md §2): early stopping on a hand-written sequence, the budget of non-finite steps,
and Stage II selected only once alpha(t) of Eq. 7 is at its maximum."""

import torch

from lascar_ref.config import make_config
from lascar_ref.stage_table import STAGES, selection_start
from lascar_ref.training.fit import NonFiniteBudget, loss_weights
from lascar_ref.training.setup import early_stopping
from lascar_ref.training.stopping import EarlyStopping


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


def test_stage2_selection_starts_where_alpha_reaches_its_maximum():
    """docs/design.md §2: with ramp 50 and patience 30, Stage II can neither keep a checkpoint
    nor stop before epoch 50, even when its validation Dice only falls from epoch 0 on."""
    cfg = make_config(stage=2)
    assert (
        selection_start(STAGES[2], cfg.select_from, cfg.alpha_ramp_epochs)
        == 50
        == cfg.alpha_ramp_epochs
    )
    assert (
        selection_start(STAGES[1], cfg.select_from, cfg.alpha_ramp_epochs) == 0
        and selection_start(STAGES[3], cfg.select_from, cfg.alpha_ramp_epochs) == 0
    )
    stopper = early_stopping(STAGES[2], cfg)
    kept, stopped = [], None
    for epoch in range(200):
        if stopper.update(1.0 - epoch / 1000, epoch):  # best at epoch 0 without the rule
            kept.append(epoch)
        if stopper.stop:
            stopped = epoch
            break
    assert kept == [50] and stopped == 50 + 30  # 30 epochs without improvement after 50
    assert loss_weights(STAGES[2], cfg, 50)["alpha_t"] == cfg.alpha_max
    assert loss_weights(STAGES[2], cfg, 49)["alpha_t"] < cfg.alpha_max
    assert loss_weights(STAGES[3], cfg, 50) == {"lam": cfg.lam}  # no alpha(t) outside Stage II


def test_the_demo_preset_selects_stage2_from_its_ramp_end():
    cfg = make_config("demo", stage=2)
    start = selection_start(STAGES[2], cfg.select_from, cfg.alpha_ramp_epochs)
    assert start == cfg.alpha_ramp_epochs == 3 and start < cfg.max_epochs
    stopper = early_stopping(STAGES[2], cfg)
    kept = [e for e in range(cfg.max_epochs) if stopper.update(0.5 - e / 100, e)]
    assert kept == [3] and not stopper.stop  # patience 16 >= the 8 epochs of the demo
    assert early_stopping(STAGES[2], make_config(stage=2, select_from=0)).start_epoch == 0
    assert early_stopping(STAGES[3], make_config(stage=3, select_from=7)).start_epoch == 7


def test_a_flat_dice_does_not_keep_the_first_eligible_epoch():
    """A Stage II head that predicts nothing above 0.5 scores Dice 0 in every epoch; its soft
    Dice rises as it learns. The paper's rule alone keeps epoch 3 (the first eligible) and stops
    after patience; the tie-break keeps the epoch whose soft Dice is best and restarts patience."""
    stopper = EarlyStopping(patience=3, min_delta=1e-4, start_epoch=3)
    soft = [0.004, 0.004, 0.005, 0.005, 0.010, 0.030, 0.029, 0.0300, 0.03005, 0.02]
    kept = [e for e, s in enumerate(soft) if stopper.update(0.0, e, s)]
    # epoch 3 is the first eligible; 4, 5 raise the soft Dice; 6 and 7 do not beat 0.030 by
    # more than 1e-4, nor 8 (0.03005): three bad epochs after 5 -> stop (9 is a fourth)
    assert kept == [3, 4, 5] and stopper.best_epoch == 5 and stopper.best_soft == 0.030
    assert stopper.bad_epochs == 4 and stopper.stop
    plain = EarlyStopping(patience=3, min_delta=1e-4, start_epoch=3)
    assert [e for e in range(10) if plain.update(0.0, e)] == [3]  # without soft Dice: epoch 3
    # a real Dice gain still wins over any soft Dice, and a lower Dice never counts as a tie
    mixed = EarlyStopping(patience=5, min_delta=1e-4)
    assert mixed.update(0.2, 0, 0.5) and not mixed.update(0.1, 1, 0.9)
    assert mixed.update(0.3, 2, 0.1) and mixed.best == 0.3 and mixed.best_soft == 0.1
    # the state round-trips, and an older checkpoint's state (no best_soft) loads
    again = EarlyStopping(patience=5, min_delta=1e-4)
    again.load(mixed.state())
    assert again.state() == mixed.state()
    again.load({"best": 0.3, "best_epoch": 2, "bad_epochs": 0})
    assert again.best_soft == float("-inf")
