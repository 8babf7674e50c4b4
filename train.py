"""Train the progressive stages — paper §3.2 (Stages I, II, III), §4.2; docs/design.md §2.

  python train.py --stage 1                          Stage I on task 2 (LA), random init
  python train.py --stage 2 --init stage1.pt         Stage II, E and D_LA from Stage I
  python train.py --stage 3 --init stage2.pt         Stage III, E and D_scar from Stage II
  python train.py --stage all                        I -> II -> III, chaining the best checkpoints
  python train.py --stage 2 --resume stage2.last.pt  continue an interrupted run exactly
Ablations (paper Table 3): B1 --stage 3; B2 --stage 3 --init stage1.pt; B3 --stage 2;
B4 --stage 2 then --stage 3 --init stage2.pt. Without --data, a phantom dataset is generated once
into --cache. --preset demo: a small model and phantom set for CPUs (minutes).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from lascar_ref.checkpoint import CheckpointError, load_checkpoint
from lascar_ref.config import OVERRIDABLE_ON_RESUME, PRESETS, add_arguments, make_config
from lascar_ref.data.nifti_io import DataError
from lascar_ref.fit import fit
from lascar_ref.trainer import TrainingError


def parse(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--stage", required=True, choices=["1", "2", "3", "all"], help="§3.2: which stage to train"
    )
    p.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        default="paper",
        help="paper: the paper's settings; demo: small CPU run on phantoms (default: paper)",
    )
    add_arguments(p)
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = vars(parse(argv))
    stage, preset = args.pop("stage"), args.pop("preset")
    try:
        if args.get("resume"):
            saved = load_checkpoint(args["resume"], schema="resume")
            if stage != "all" and int(stage) != saved["stage"]:
                raise CheckpointError(
                    f"{args['resume']}: a Stage {saved['stage']} checkpoint "
                    f"cannot resume Stage {stage}"
                )
            ignored = sorted(k for k in args if k not in OVERRIDABLE_ON_RESUME | {"resume"})
            if ignored:
                print(f"note: resuming with the checkpoint's configuration; ignoring {ignored}")
            fields = {f.name for f in dataclasses.fields(make_config())}
            values = {k: v for k, v in saved["config"].items() if k in fields}
            values.update(
                {k: v for k, v in args.items() if k in OVERRIDABLE_ON_RESUME | {"resume"}}
            )
            fit(make_config(**values))
            return 0
        if stage != "all":
            fit(make_config(preset, stage=int(stage), **args))
            return 0
        out = Path(args.get("out", make_config(preset).out))
        for s in (1, 2, 3):
            init = None if s == 1 else str(out / f"stage{s - 1}.pt")
            fit(make_config(preset, **{**args, "stage": s, "init": init}))
        return 0
    except (DataError, CheckpointError, TrainingError, ValueError) as e:
        print(f"train.py: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
