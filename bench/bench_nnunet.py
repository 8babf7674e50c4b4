"""No anchor of its own: nnU-Net v2 on our folds, as Table 3's peer row — paper §4.4 (Table 3);
docs/design.md §14. nnU-Net runs from its own environment (never a dependency of ours):

    python -m venv NNENV && NNENV/bin/pip install torch==2.13.0 torchvision==0.28.0 nnunetv2
    python bench/bench_nnunet.py --nnunet-env NNENV --data PHANTOMS --work bench_nnunet \\
        --runs RUNS [--folds 0 1 2 3 4] [--epochs 10 --iterations 10 --val-iterations 2]
    python bench/bench_nnunet.py ... --calibrate      # seconds per training iteration only

Steps, each command printed before it runs; a finished step is skipped, so the script resumes:
 1. python -m lascar_ref.data nnunet PHANTOMS RAW/Dataset501_LAScarDemo: the LA + scar cases and
    our fold assignment (its splits_final.json); nnU-Net cannot use the LA-only scans.
 2. A trainer subclass written where nnU-Net looks for trainers (nnunetv2/training/nnUNetTrainer/
    lascar_ref_*.py): nnU-Net's own mechanism for a shorter schedule, setting num_epochs,
    num_iterations_per_epoch and num_val_iterations_per_epoch only; its plans are not changed.
    At the folder's top level because nnU-Net's search imports every trainer module until it
    finds the name, top-level modules first: under variants/ it would first import primus/,
    whose timm -> torchvision import fails where the registry's torchvision 0.28.0 (a CUDA wheel)
    sits beside a CPU torch ("operator torchvision::nms does not exist").
 3. nnUNetv2_plan_and_preprocess -d 501 -c 3d_fullres -np 1, then our splits_final.json copied
    into PREPROCESSED/Dataset501_LAScarDemo/ (nnU-Net uses a splits_final.json it finds there).
 4. Per fold: nnUNetv2_train 501 3d_fullres K -tr TRAINER -device cpu (timed).
 5. Per fold: nnUNetv2_predict on fold K's validation images only, with its defaults (mirroring
    on, checkpoint_final.pth), -npp 1 -nps 1 (timed).
 6. eval.py --pred PRED --data PHANTOMS --fold all --name NAME --out RUNS/ROW (--name nnU-Net,
    --row nnunet by default), so that `eval.py --summary RUNS` has nnU-Net as a Table 3 row.
    Predictions lie in WORK/pred/TRAINER/foldK, timings in WORK/timings.json under TRAINER, so
    a longer schedule on one fold (--folds 0 --epochs ... --name "nnU-Net, 1 h" --row
    nnunet_long) sits beside the five-fold one.
The schedule is the budget, chosen so that a fold's training takes about as long as our full
chain's on the same cores (--calibrate measures nnU-Net's seconds per iteration; the choice and
both wall-clocks are recorded in bench/README.md). Nothing is tuned toward either side's score.
Environment of every nnU-Net command: nnUNet_raw, nnUNet_preprocessed, nnUNet_results under
WORK; nnUNet_n_proc_DA=0 for training (augmentation in the training process, as ours; 1 for
planning, whose memory estimate cannot take 0). Threads: nnU-Net's CPU entry points set torch to
every core (run_training.py, predict_from_raw_data.py: torch.set_num_threads(cpu_count())), so
train and predict run through WORK/launch.py, which calls nnU-Net's own entry point with
torch.set_num_threads capped at --threads (default: torch's count in this process, i.e.
OMP_NUM_THREADS): the cores our recipes ran on, nothing else changed. Timings go to
WORK/timings.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
DATASET_ID, DATASET = 501, "Dataset501_LAScarDemo"
TRAINER_FILE = """import torch

from nnunetv2.training.nnUNetTrainer.nnUNetTrainer import nnUNetTrainer


class {name}(nnUNetTrainer):
    \"\"\"Written by lascar_ref's bench/bench_nnunet.py: a shorter schedule, nothing else.\"\"\"

    def __init__(self, plans: dict, configuration: str, fold: int, dataset_json: dict,
                 device: torch.device = torch.device("cuda")):
        super().__init__(plans, configuration, fold, dataset_json, device)
        self.num_epochs = {epochs}
        self.num_iterations_per_epoch = {iterations}
        self.num_val_iterations_per_epoch = {val}
"""


LAUNCHER = """import sys

import torch

if __name__ == "__main__":  # nnU-Net's spawned workers import this file again
    cap, entry = int(sys.argv[1]), sys.argv[2]
    sys.argv = [entry] + sys.argv[3:]
    _set = torch.set_num_threads
    torch.set_num_threads = lambda n: _set(max(1, min(int(n), cap)))
    torch.set_num_threads(cap)
    if entry == "nnUNetv2_train":
        from nnunetv2.run.run_training import run_training_entry as main
    else:
        from nnunetv2.inference.predict_from_raw_data import predict_entry_point as main
    sys.exit(main())
"""


def run(cmd: list[str], env: dict, log: Path | None = None) -> float:
    """Run one command (printed first), its output appended to `log`; the wall time in s."""
    print("$ " + " ".join(map(str, cmd)), flush=True)
    t0 = time.perf_counter()
    with open(log, "a") if log else open(os.devnull, "w") as out:
        done = subprocess.run(list(map(str, cmd)), env=env, stdout=out, stderr=subprocess.STDOUT)
    if done.returncode:
        where = f"; see {log}" if log else ""
        what = " ".join(map(str, cmd[:4]))
        sys.exit(f"bench_nnunet: {what} failed (exit {done.returncode}){where}")
    return time.perf_counter() - t0


def nnunet_env(work: Path) -> dict:
    env = dict(os.environ)
    env.update(
        nnUNet_raw=str(work / "raw"),
        nnUNet_preprocessed=str(work / "preprocessed"),
        nnUNet_results=str(work / "results"),
        nnUNet_n_proc_DA="0",
    )
    return env


def nnunet_command(env_bin: Path, work: Path, threads: int, entry: str) -> list:
    """nnU-Net's train or predict entry point at `threads` torch threads (see the docstring)."""
    launcher = work / "launch.py"
    launcher.write_text(LAUNCHER)
    return [env_bin / "python", launcher, threads, entry]


def write_trainer(python: Path, name: str, epochs: int, iterations: int, val: int) -> Path:
    """The trainer subclass, in nnU-Net's trainer folder of its environment."""
    where = subprocess.run(
        [str(python), "-c", "import nnunetv2, os; print(os.path.dirname(nnunetv2.__file__))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    path = Path(where) / "training" / "nnUNetTrainer" / f"lascar_ref_{name}.py"
    path.write_text(TRAINER_FILE.format(name=name, epochs=epochs, iterations=iterations, val=val))
    return path


def plans_text(work: Path) -> str:
    """nnU-Net's version and 3d_fullres plan: patch, batch, network."""
    plans = json.loads((work / "preprocessed" / DATASET / "nnUNetPlans.json").read_text())
    c = plans["configurations"]["3d_fullres"]
    arch = c.get("architecture", {})
    kw = arch.get("arch_kwargs", {})
    net = f"{arch.get('network_class_name', '?').rsplit('.', 1)[-1]}, {kw.get('n_stages')} stages"
    return (
        f"patch {c['patch_size']}, batch {c['batch_size']}, spacing {c['spacing']}, "
        f"network {net}, features {kw.get('features_per_stage')}"
    )


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--nnunet-env", required=True, help="the virtual environment with nnunetv2")
    p.add_argument("--data", required=True, help="the dataset our recipes trained on")
    p.add_argument("--work", default="bench_nnunet", help="nnU-Net's folders and the logs")
    p.add_argument("--runs", required=True, help="the recipes' RUNS folder (gets RUNS/nnunet)")
    p.add_argument("--folds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--iterations", type=int, default=10, help="training iterations per epoch")
    p.add_argument("--val-iterations", type=int, default=2)
    p.add_argument("--name", default="nnU-Net", help="its Table 3 row")
    p.add_argument("--row", default="nnunet", help="the folder under RUNS its metrics go to")
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--calibrate", action="store_true", help="time 1 epoch of 10 iterations only")
    a = p.parse_args()
    env_bin = Path(a.nnunet_env) / "bin"
    work = Path(a.work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    env, log = nnunet_env(work), work / "nnunet.log"
    timings_path = work / "timings.json"
    timings = json.loads(timings_path.read_text()) if timings_path.is_file() else {}
    version = (
        subprocess.run([str(env_bin / "pip"), "show", "nnunetv2"], capture_output=True, text=True)
        .stdout.split("Version: ")[-1]
        .split()[0]
    )
    print(f"# nnunetv2 {version}; torch threads for train and predict: {a.threads}")
    train = nnunet_command(env_bin, work, a.threads, "nnUNetv2_train")
    predict = nnunet_command(env_bin, work, a.threads, "nnUNetv2_predict")
    raw = work / "raw" / DATASET
    if not (raw / "dataset.json").is_file():
        run([sys.executable, "-m", "lascar_ref.data", "nnunet", a.data, raw], dict(os.environ))
    pre = work / "preprocessed" / DATASET
    if not (pre / "nnUNetPlans.json").is_file():
        cmd = [env_bin / "nnUNetv2_plan_and_preprocess", "-d", DATASET_ID, "-c", "3d_fullres"]
        plan_env = dict(env, nnUNet_n_proc_DA="1")
        timings["plan_and_preprocess_s"] = run(cmd + ["-np", "1"], plan_env, log)
    shutil.copyfile(raw / "splits_final.json", pre / "splits_final.json")
    print(f"# plans: {plans_text(work)}")
    if a.calibrate:
        name = "nnUNetTrainer_lascar_calibrate"
        write_trainer(env_bin / "python", name, 1, 10, 2)
        cmd = train + [DATASET_ID, "3d_fullres", a.folds[0], "-tr", name]
        seconds = run(cmd + ["-device", "cpu"], env, log)
        print(f"calibration: 1 epoch of 10 + 2 validation iterations in {seconds:.0f} s")
        return
    name = f"nnUNetTrainer_lascar_E{a.epochs}_I{a.iterations}_V{a.val_iterations}"
    write_trainer(env_bin / "python", name, a.epochs, a.iterations, a.val_iterations)
    timings.update(version=version, plans=plans_text(work))
    mine = timings.setdefault(name, {"threads": a.threads, "row": a.row})
    splits = json.loads((raw / "splits_final.json").read_text())
    mapping = json.loads((raw / "lascar_ref_cases.json").read_text())
    results = work / "results" / DATASET / f"{name}__nnUNetPlans__3d_fullres"
    for k in a.folds:
        if not (results / f"fold_{k}" / "checkpoint_final.pth").is_file():
            cmd = train + [DATASET_ID, "3d_fullres", k, "-tr", name]
            cmd += ["-device", "cpu"]
            if (results / f"fold_{k}" / "checkpoint_latest.pth").is_file():
                cmd.append("--c")
            key = f"train_fold{k}_s"  # summed over a resumed run's parts
            mine[key] = mine.get(key, 0.0) + run(cmd, env, log)
            timings_path.write_text(json.dumps(timings, indent=1))
        out = work / "pred" / name / f"fold{k}"
        if not all((out / f"{c}.nii.gz").is_file() for c in splits[k]["val"]):
            images = work / "val_images" / f"fold{k}"  # the same for every schedule
            images.mkdir(parents=True, exist_ok=True)
            for c in splits[k]["val"]:
                target = images / f"{c}_0000.nii.gz"
                if not target.exists():
                    target.symlink_to(raw / "imagesTr" / f"{c}_0000.nii.gz")
            cmd = predict + ["-i", images, "-o", out, "-d", DATASET_ID]
            cmd += ["-c", "3d_fullres", "-f", k, "-tr", name, "-device", "cpu"]
            mine[f"predict_fold{k}_s"] = run(cmd + ["-npp", "1", "-nps", "1"], env, log)
            mine[f"predict_fold{k}_cases"] = len(splits[k]["val"])
            timings_path.write_text(json.dumps(timings, indent=1))
    print(f"# cases: {len(mapping['cases'])}, split {mapping['split_sha256'][:12]}...")
    print(json.dumps(timings, indent=1))
    folds = "all" if sorted(a.folds) == list(range(len(splits))) else str(a.folds[0])
    pred = work / "pred" / name
    pred = pred if folds == "all" else pred / f"fold{a.folds[0]}"
    cmd = [sys.executable, ROOT / "eval.py", "--pred", pred, "--data", a.data, "--fold", folds]
    cmd += ["--name", a.name, "--out", Path(a.runs) / a.row, "--n-folds", len(splits)]
    print("$ " + " ".join(map(str, cmd)), flush=True)
    subprocess.run(list(map(str, cmd)), check=True)


if __name__ == "__main__":
    main()
