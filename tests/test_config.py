"""Training configuration and train.py's command line (lascar_ref/config/; docs/design.md §2,
§8): defaults equal the paper's numbers, -h in titled groups with sources, bad options refused
before any data is read, --progress auto on a file."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import load_script, opts, train_cli

from lascar_ref.config import HELP_GROUPS, TrainConfig, make_config
from lascar_ref.data import PreprocessConfig

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow  # starts a process
def test_cli_help_is_grouped_and_says_what_then_source():
    out = subprocess.run(
        [sys.executable, str(ROOT / "train.py"), "-h"],
        capture_output=True,
        text=True,
        check=True,
        env={"COLUMNS": "200", "PATH": ""},
    ).stdout
    titles = [line[:-1] for line in out.splitlines() if line and not line[0].isspace()]
    assert titles[-len(HELP_GROUPS) :] == list(HELP_GROUPS)  # every group, titled, in order
    flat = " ".join(out.split())  # one line per option whatever the wrapping
    assert "--patience PATIENCE early-stopping patience in epochs (paper §4.2; default: 30)" in flat
    assert "--beta-scar BETA_SCAR weight of L_scar (Eq. 5; default: 0.7)" in flat
    assert "'updated cautiously' (paper §3.2, docs/design.md §2; default: 0.1)" in flat
    options = flat[flat.index("options:") :]
    before = re.findall(r"(\S+) §\d", options)  # every section says whose it is
    assert before and all(
        w.strip("(") in ("paper", "docs/design.md") or w[-1] == "," for w in before
    )
    assert "STYLE" not in out


def test_config_rejects_the_papers_228_patch():
    with pytest.raises(ValueError, match="224 instead of the paper's 228"):
        make_config(patch=(228, 192, 32))


def test_config_defaults_are_the_papers_numbers():
    """The paper's numbers typed once here (§4.1-4.2, Eq. 1, 5, 6), and our settled values
    (docs/design.md §0, §2, §6), against the defaults train.py uses."""
    c = TrainConfig()
    assert (c.lr, c.batch_size, c.max_epochs, c.patience, c.min_delta) == (1e-4, 1, 250, 30, 1e-4)
    assert (c.n_folds, c.spacing_mm, c.size) == (5, (0.625, 0.625, 2.5), (384, 256, 40))
    assert (c.lam, c.beta_la, c.beta_scar) == (0.5, 0.3, 0.7)
    assert (c.delta_in_mm, c.delta_out_mm) == (3.0, 2.5)
    assert (c.alpha_max, c.alpha_ramp_epochs, c.pretrained_lr_scale) == (1.0, 50, 0.1)
    assert (c.patch, c.overlap, c.weight_decay, c.feature_size) == ((224, 192, 32), 0.5, 1e-5, 48)
    assert PreprocessConfig().spacing_mm == c.spacing_mm  # and preprocessing agrees


def test_progress_auto_draws_bars_only_on_a_terminal(monkeypatch):
    class Stream:
        def __init__(self, tty):
            self.tty = tty

        def isatty(self):
            return self.tty

    for out_tty, err_tty, bars in ((True, True, True), (False, True, False), (True, False, False)):
        monkeypatch.setattr(sys, "stdout", Stream(out_tty))
        monkeypatch.setattr(sys, "stderr", Stream(err_tty))
        assert make_config().bars is bars
    assert make_config(progress="on").bars and not make_config(progress=False).bars
    assert make_config(progress=True).progress == "on"  # older checkpoints stored a bool
    with pytest.raises(ValueError, match="--progress 'sometimes'"):
        make_config(progress="sometimes")


@pytest.mark.parametrize(
    "option,value,message",
    [
        ("--lr", "-1", "--lr -1.0: must be > 0"),
        ("--batch-size", "0", "--batch-size 0: must be >= 1"),
        ("--n-folds", "1", "--n-folds 1: must be at least 2"),
    ],
)
def test_bad_options_fail_before_data_is_read(tmp_path, capsys, tiny_train, option, value, message):
    rc, text = train_cli(
        ["--stage", "1", *opts(tiny_train, data=str(tmp_path / "no_data")), option, value], capsys
    )
    assert rc == 2 and message in text and "no_data" not in text


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_cuda_fails_before_data_is_read(tmp_path, capsys, tiny_train):
    rc, text = train_cli(
        ["--stage", "1", *opts(tiny_train, data=str(tmp_path / "no_data"), device="cuda")], capsys
    )
    assert rc == 2 and "--device cuda: CUDA is not available" in text and "no_data" not in text


def test_progress_options_parse():
    parse = load_script("train").parse
    assert "progress" not in vars(parse(["--stage", "1"]))  # unset: the config's auto
    assert vars(parse(["--stage", "1", "--no-progress"]))["progress"] == "off"
    assert vars(parse(["--stage", "1", "--progress"]))["progress"] == "on"
    assert vars(parse(["--stage", "1", "--progress", "auto"]))["progress"] == "auto"
