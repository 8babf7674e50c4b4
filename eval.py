"""Evaluate checkpoints — paper §4.2-4.3 (Table 2); docs/design.md §6.

  python eval.py --ckpt stage3.pt [--data DIR] [--fold k] [--out DIR] [--cases NAME ...]
                 [--grid original|preprocessed]
                 [--mirror] [--device cpu] [--no-chain] [--preset demo]

Runs sliding-window inference on the fold's validation cases (the fold, data and preprocessing
stored in the checkpoint unless given), writes predictions as NIfTI in each case's original
geometry and per-case metrics as CSV and JSON under OUT/stage{N}/, and prints the paper's Table 2
layout. The stage (I: LA, II: LA and scar, III: scar) is read from the checkpoint. By default the
checkpoint's --init chain is followed (stage3.pt <- stage2.pt <- stage1.pt, where those files
exist), giving Table 2's rows I, I+II, I+II+III. Every row is scored on the same Task 1
validation cases of the fold (the paper's n = 12), Stage I's LA included; only a dataset without
Task 1 (LA only) scores Stage I on its Task 2 validation cases.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from lascar_ref.checkpoint import CheckpointError, load_checkpoint
from lascar_ref.config import PRESETS, make_config
from lascar_ref.data.layout import has_task
from lascar_ref.data.nifti_io import DataError
from lascar_ref.evaluate import evaluate, table2
from lascar_ref.runtime import resolve_device
from lascar_ref.stage_data import data_root
from lascar_ref.stage_table import STAGES, build_model


def init_chain(path: Path, follow: bool) -> list[tuple[Path, dict]]:
    """[(path, state)] from the first stage to `path`, following each checkpoint's --init."""
    chain = [(path, load_checkpoint(path, schema="eval"))]
    while follow and chain[0][1]["config"].get("init"):
        init = Path(chain[0][1]["config"]["init"])
        candidate = next((p for p in (chain[0][0].parent / init.name, init) if p.is_file()), None)
        if candidate is None:
            break
        chain.insert(0, (candidate, load_checkpoint(candidate, schema="eval")))
    return chain


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--ckpt", required=True, help="a stage{N}.pt or stage{N}.last.pt")
    p.add_argument("--data", help="dataset root (default: the one the checkpoint was trained on)")
    p.add_argument(
        "--fold",
        type=int,
        help="fold whose validation cases are evaluated (default: the checkpoint's)",
    )
    p.add_argument("--out", default="eval", help="output folder (default: eval)")
    p.add_argument("--cases", nargs="+", help="only these validation cases (e.g. task1/train_3)")
    p.add_argument(
        "--grid",
        choices=["original", "preprocessed"],
        default="original",
        help="metric grid: each case's original grid (challenge, default) or the preprocessed one",
    )
    p.add_argument(
        "--mirror", action="store_true", help="mirroring test-time augmentation (8 flips)"
    )
    p.add_argument("--device", default=None, help="default: the checkpoint's (auto)")
    p.add_argument("--cache", default=None, help="preprocessed cache (default: the checkpoint's)")
    p.add_argument(
        "--no-chain", action="store_true", help="evaluate only --ckpt, not its --init chain"
    )
    p.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        default=None,
        help="accepted for symmetry with train.py; each checkpoint's own configuration is used",
    )
    p.add_argument("--no-progress", action="store_true")
    a = p.parse_args(argv)
    fields = {f.name for f in dataclasses.fields(make_config())}
    results, label = [], []
    try:
        for path, state in init_chain(Path(a.ckpt), not a.no_chain):
            values = {k: v for k, v in state["config"].items() if k in fields}
            values.update(
                {
                    k: v
                    for k, v in (
                        ("data", a.data),
                        ("fold", a.fold),
                        ("device", a.device),
                        ("cache", a.cache),
                    )
                    if v is not None
                }
            )
            values.update(init=None, resume=None, progress=not a.no_progress)
            cfg = make_config(**values)
            spec = STAGES[cfg.stage]
            device = resolve_device(cfg.device)
            model = build_model(spec, cfg.feature_size)
            model.load_state_dict(state["model"])
            model.to(device)
            out = Path(a.out) / f"stage{cfg.stage}"
            task = 1 if has_task(data_root(cfg), 1) else spec.task
            rows = evaluate(model, cfg, spec, device, out, task, a.grid, a.cases, a.mirror)
            label.append(spec.roman)
            results.append(("+".join(label), rows))
            print(
                f"Stage {spec.roman} ({path}), fold {cfg.fold}, task {task}, {a.grid} grid: "
                f"predictions and metrics in {out}/"
            )
    except (DataError, CheckpointError, ValueError) as e:
        print(f"eval.py: error: {e}", file=sys.stderr)
        return 2
    print(table2(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
