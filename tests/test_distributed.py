"""torchrun data parallelism on the CPU (gloo) — docs/design.md §11,
lascar_ref/runtime/distributed.py.

Two processes with batch 1 each must train exactly what one process with batch 2 trains when fed
the same patches (the loss is a per-sample mean, Eq. 1, and DDP averages the gradients); only rank
0 writes; validation is sharded and gathered; --resume continues exactly under the same N.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import load_script, tiny_cli

from lascar_ref.augment import augment
from lascar_ref.checkpoints import load_checkpoint
from lascar_ref.config import make_config
from lascar_ref.runtime.distributed import World, augment_seed, shard_batches
from lascar_ref.stage_data import fold_cases, to_device
from lascar_ref.stage_table import STAGES
from lascar_ref.training.fit import epoch_order, loss_weights, train_step
from lascar_ref.training.setup import setup_run
from lascar_ref.training.validation import validate

pytestmark = pytest.mark.slow  # starts torchrun processes

ROOT = Path(__file__).resolve().parents[1]
STEPS = 2  # patches per epoch: one step of 2 x 1 patches under torchrun
LR = 1e-5  # see test_two_processes_equal_one_process_with_batch_two


def quiet(*args, **kwargs):
    pass


def torchrun(nproc: int, out: Path, tiny: dict, *extra: str) -> subprocess.CompletedProcess:
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={nproc}",
        str(ROOT / "train.py"),
        "--stage",
        "1",
        "--device",
        "cpu",
        "--out",
        str(out),
        "--steps-per-epoch",
        str(STEPS),
        "--lr",
        str(LR),
        *tiny_cli(tiny),
        *extra,
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def state(path: Path) -> dict:
    return load_checkpoint(path, schema="resume")


def log_records(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "stage1.log.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def ddp_runs(tiny_train, tmp_path_factory):
    """Stage I under `torchrun --nproc_per_node 2`: "one" = epoch 0 (one step per rank);
    "resumed" = "one" resumed for epoch 1; "straight" = epochs 0 and 1 uninterrupted."""
    tiny = dict(tiny_train)
    base = tmp_path_factory.mktemp("ddp")
    runs = {name: base / name for name in ("one", "resumed", "straight")}
    done = torchrun(2, runs["one"], tiny)
    shutil.copytree(runs["one"], runs["resumed"])
    last = runs["resumed"] / "stage1.last.pt"
    torchrun(2, runs["resumed"], tiny, "--resume", str(last), "--max-epochs", "2")
    torchrun(2, runs["straight"], tiny, "--max-epochs", "2")
    return runs, tiny, done


def one_process_epoch(run, cases, cfg, rng_by_rank: list[dict]) -> None:
    """What 2 ranks train in one epoch, as one process with batch 2: the shared order, each
    rank's share drawn with that rank's augmentation stream, rank 0's patch first."""
    spec = STAGES[1]
    sampler = torch.Generator()
    sampler.set_state(rng_by_rank[0]["sampler"])
    augs = [torch.Generator() for _ in rng_by_rank]
    for g, rng in zip(augs, rng_by_rank, strict=True):
        g.set_state(rng["augment"])
    order = epoch_order(len(cases), STEPS, sampler)
    shares = [shard_batches(order, 1, World(r, len(augs))) for r in range(len(augs))]
    assert sorted(torch.cat(shares).tolist()) == sorted(order.tolist())  # nothing dropped
    weights = loss_weights(spec, cfg, 0)
    for step in range(len(shares[0])):
        patches = []
        for r, share in enumerate(shares):
            case = cases[int(share[step])]
            patches.append(
                augment(
                    case.image,
                    case.labels,
                    cfg.patch,
                    cfg.spacing_mm,
                    augs[r],
                    fg_indices=[case.fg],
                )
            )
        _, finite = train_step(
            run.model,
            torch.cat([p["image"] for p in patches]),  # (2, 1, *patch)
            torch.cat([p["labels"] for p in patches]),  # (2, 3, *patch)
            run.optimizer,
            run.scaler,
            spec.loss,
            weights,
            run.autocast,
        )
        assert finite


def first_rng(cfg) -> list[dict]:
    """Every rank's random streams at the start of a fresh run (2 ranks)."""
    return [
        {
            "sampler": torch.Generator().manual_seed(cfg.seed).get_state(),
            "augment": torch.Generator().manual_seed(augment_seed(cfg.seed, r)).get_state(),
        }
        for r in range(2)
    ]


def max_diff(a: dict, b: dict) -> float:
    return max(float((a[k] - b[k]).abs().max()) for k in a)


def test_two_processes_equal_one_process_with_batch_two(ddp_runs):
    """Two steps, each compared from the same state: epoch 0 from the seed's weights, epoch 1 from
    the 2-process checkpoint of epoch 0. The averaged gradients agree (AdamW's first moment,
    relative 1e-4; a sum instead of a mean, or other patches, would differ by O(1)); the weights
    of 2 processes x batch 1 equal one process x batch 2 within 1e-6 for all but a 1e-5 fraction of
    them after each step, and none moves more than 2 lr apart.
    Why not 1e-6 everywhere: AdamW's first step moves each weight by lr * g / (|g| + 1e-8), about
    lr * sign(g), so a weight whose gradient is within float32 rounding of 0 (one batch-2 backward
    vs two batch-1 backwards + all-reduce sum in another order) may move up to 2 lr apart. So a
    weight may differ by more than 1e-6 only where its first moment is itself within the moment
    tolerance (1e-4 of the largest) of 0, i.e. where the sign of its gradient is rounding noise.
    Measured, first step: 2 such weights of 4.1M on one machine, 820 on another (max 1.15e-5)."""
    runs, tiny, _ = ddp_runs
    torch.set_num_threads(1)
    cfg = make_config(stage=1, out=str(runs["one"]), steps_per_epoch=STEPS, lr=LR, **tiny)
    train_pre, _ = fold_cases(cfg, 2, 1, say=quiet)
    cases = [to_device(p, "la", torch.device("cpu")) for p in train_pre]
    run, _ = setup_run(cfg, STAGES[1], torch.device("cpu"), say=quiet)
    start = {k: v.clone() for k, v in run.model.state_dict().items()}
    one_process_epoch(run, cases, cfg, first_rng(cfg))
    for epoch, ddp in ((0, state(runs["one"] / "stage1.last.pt")), (1, None)):
        if ddp is None:  # epoch 1 starts from the 2-process checkpoint of epoch 0
            before = state(runs["one"] / "stage1.last.pt")
            run.model.load_state_dict(before["model"])
            run.optimizer.load_state_dict(before["optimizer"])
            one_process_epoch(run, cases, cfg, before["rng_by_rank"])
            ddp = state(runs["resumed"] / "stage1.last.pt")
        assert ddp["epoch"] == epoch
        ours = run.optimizer.state_dict()["state"]
        moment = max(float(s["exp_avg"].abs().max()) for s in ours.values())
        index = {
            id(p): i
            for i, p in enumerate(q for g in run.optimizer.param_groups for q in g["params"])
        }
        noisy, far, diff = 0, 0, 0.0
        for name, p in run.model.named_parameters():  # near-zero gradients: see the docstring
            apart = (ddp["model"][name] - p.detach()).abs()
            diff = max(diff, float(apart.max()))
            tiny = ours[index[id(p)]]["exp_avg"].abs() <= 1e-4 * moment
            noisy += int(((apart > 1e-6) & tiny).sum())
            far += int(((apart > 1e-6) & ~tiny).sum())
        assert far == 0 and diff <= 2 * LR, (epoch, far, noisy, diff)
        moment_diff = max(
            float((ddp["optimizer"]["state"][i]["exp_avg"] - s["exp_avg"]).abs().max())
            for i, s in ours.items()
        )
        assert moment_diff <= 1e-4 * moment, (epoch, moment_diff, moment)
    assert max_diff(run.model.state_dict(), start) > 1e-5  # the weights did move (2 steps)


def test_only_rank_zero_writes_and_validation_is_gathered(ddp_runs):
    runs, tiny, done = ddp_runs
    out = runs["one"]
    names = sorted(p.name for p in out.iterdir())
    assert names == ["stage1.last.pt", "stage1.log.jsonl", "stage1.pt"], names
    records = log_records(out)
    assert [r.get("event") for r in records] == ["start", None]  # one start, one epoch: one writer
    assert records[0]["world_size"] == 2
    assert done.stdout.count("stage 1, fold 0:") == 1  # rank 1 is silent
    # sharded validation (rank r scores cases r, r + 2, ...) equals one process on all cases
    cfg = make_config(stage=1, out=str(out), steps_per_epoch=STEPS, lr=LR, **tiny)
    _, val_pre = fold_cases(cfg, 2, 1, say=quiet)
    assert len(val_pre) >= 2  # both ranks scored a case
    run, _ = setup_run(cfg, STAGES[1], torch.device("cpu"), say=quiet)
    run.model.load_state_dict(state(out / "stage1.last.pt")["model"])
    single = validate(
        run.model,
        [to_device(p, "la", torch.device("cpu")) for p in val_pre],
        STAGES[1],
        patch=cfg.patch,
        overlap=cfg.overlap,
        sw_batch_size=cfg.sw_batch_size,
        spacing_mm=cfg.spacing_mm,
        amp_dtype=None,
    )
    for key, value in single.items():
        assert records[1][key] == pytest.approx(value, rel=1e-9, nan_ok=True), key


def test_resume_under_two_processes_is_exact(ddp_runs, capsys):
    runs, _, _ = ddp_runs
    a = state(runs["resumed"] / "stage1.last.pt")
    b = state(runs["straight"] / "stage1.last.pt")
    assert a["epoch"] == b["epoch"] == 1
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])
    assert len(a["rng_by_rank"]) == 2
    # the same checkpoint cannot resume in one process: its random streams are per rank
    code = load_script("train").main(
        ["--stage", "1", "--resume", str(runs["resumed"] / "stage1.last.pt"), "--max-epochs", "3"]
    )
    assert code == 2
    assert "saved by 2 process(es), resumed by 1" in capsys.readouterr().err


def test_shard_batches_deals_global_steps_in_rank_slices():
    order = torch.arange(10)
    # N = 2, B = 2: padded to 12 by wrapping (0, 1), global steps [0..3], [4..7], [8, 9, 0, 1]
    assert shard_batches(order, 2, World(0, 2)).tolist() == [0, 1, 4, 5, 8, 9]
    assert shard_batches(order, 2, World(1, 2)).tolist() == [2, 3, 6, 7, 0, 1]
    assert torch.equal(shard_batches(order, 3, World()), order)  # one process: unchanged
    assert augment_seed(5, 0) == 6  # rank 0 augments like one process (seed + 1)
    assert augment_seed(5, 1) != augment_seed(5, 0)
