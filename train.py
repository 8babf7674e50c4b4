"""Train the progressive stages — paper §3.2 (Stages I, II, III), §4.2-4.4; docs/design.md §2, §9.

  python train.py --stage 1                          Stage I on task 2 (LA), random init
  python train.py --stage 2 --init stage1.pt         Stage II, E and D_LA from Stage I
  python train.py --stage 3 --init stage2.pt         Stage III, E and D_scar from Stage II
  python train.py --stage all                        I -> II -> III into --out, chaining the best
                                                     checkpoints (complete stages are skipped,
                                                     interrupted ones resumed)
  python train.py --stage 2 --resume stage2.last.pt  continue an interrupted run exactly
  python train.py --recipe B4 --fold all --out runs/B4
                                                     an experiment (full, B1, B2, B3, B4) on every
                                                     fold, into runs/B4/fold{k}/
Recipes (paper Tables 2, 3): full = I -> II -> III; B1 = III from scratch; B2 = I -> III (D_scar
from D_LA); B3 = II from scratch; B4 = II from scratch -> III. A recipe always writes
OUT/fold{k}/ and OUT/recipe.json; `eval.py --summary RUNS` tabulates every recipe under RUNS.
Five folds on five GPUs: five commands `--recipe R --fold k --out runs/R` (k = 0..4).
One fold on N GPUs: `torchrun --nproc_per_node N train.py ...` (data parallel, effective batch
N x --batch-size, lr as given; README "Several GPUs", docs/design.md §11).
Without --data, a phantom dataset is generated once into --cache. --preset demo: a small model and
phantom set for CPUs (minutes).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from lascar_ref.checkpoints import load_checkpoint
from lascar_ref.config import make_config
from lascar_ref.config.cli import add_arguments, option_group
from lascar_ref.config.presets import PRESETS
from lascar_ref.data.splits import read_splits
from lascar_ref.errors import CheckpointError, DataError, TrainingError
from lascar_ref.recipe_table import RECIPES
from lascar_ref.runtime import distributed
from lascar_ref.stage_table import STAGES
from lascar_ref.training.fit import fit
from lascar_ref.training.recipes import resume_config, run_chain, run_folds


def parse(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    run = option_group(p, "what to run")
    what = run.add_mutually_exclusive_group(required=True)
    what.add_argument(
        "--stage",
        choices=[*map(str, STAGES), "all"],
        help="the stage to train, or all: I -> II -> III into --out (paper §3.2)",
    )
    what.add_argument(
        "--recipe",
        choices=sorted(RECIPES),
        help="an experiment's chain of stages: full, B1-B4 (paper §4.3-4.4, docs/design.md §9)",
    )
    run.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        default="paper",
        help="paper: the paper's settings; demo: a small CPU run on phantoms "
        "(docs/design.md §7; default: paper)",
    )
    option_group(p, "data and folds").add_argument(
        "--fold",
        default=argparse.SUPPRESS,
        help="validation fold 0..n_folds-1, or all: the folds one after another into "
        "OUT/fold{k}/ (paper §4.2; default: 0)",
    )
    add_arguments(p, skip=("stage", "fold"))
    return p.parse_args(argv)


def folds_of(args: dict, preset: str) -> list[int] | None:
    """--fold as a list (None: not given)."""
    if "fold" not in args:
        return None
    fold = args.pop("fold")
    if fold == "all":
        return list(range(args.get("n_folds", make_config(preset).n_folds)))
    try:
        return [int(fold)]
    except ValueError:
        raise ValueError(f"--fold {fold!r}: expected a fold number or 'all'") from None


def splits_folds(args: dict) -> None:
    """--splits decides the fold count: set --n-folds from the file (an error if it was given
    otherwise), so that --fold all runs the file's folds (data/splits.py)."""
    if not args.get("splits"):
        return
    n = read_splits(args["splits"]).n_folds
    if args.get("n_folds", n) != n:
        raise ValueError(f"--n-folds {args['n_folds']}: {args['splits']} has {n} folds")
    args["n_folds"] = n


def main(argv=None) -> int:
    args = vars(parse(argv))
    with distributed.start(args.get("device", "auto")):  # torchrun: join the process group
        return run(args)


def run(args: dict) -> int:
    """train.py's work for parsed options; 2 on an error that names its cause."""
    stage, recipe, preset = args.pop("stage"), args.pop("recipe"), args.pop("preset")
    warnings.filterwarnings("always", message=".*fp16 on the CPU.*")
    try:
        splits_folds(args)
        folds = folds_of(args, preset)
        out_given = "out" in args
        out = Path(args.pop("out", make_config(preset).out))
        make_config(preset, **args, out=str(out), fold=(folds or [0])[0])  # validate options first
        if (recipe or stage == "all") and args.get("init"):
            raise ValueError(
                "--init is for one stage; a chain initialises each stage from the previous"
            )
        if recipe and args.get("resume"):
            raise ValueError("a recipe resumes by itself: re-run the same --recipe command")
        if recipe:
            run_folds(recipe, args, preset, out, folds if folds is not None else [0])
            return 0
        if stage == "all" and folds is not None and len(folds) > 1:
            run_folds("full", args, preset, out, folds)
            return 0
        if folds is not None and len(folds) > 1 and stage != "all":
            raise ValueError(
                "--fold all trains a chain of stages per fold: use --recipe or --stage all"
            )
        fold = {"fold": folds[0]} if folds else {}
        if args.get("resume"):
            saved = load_checkpoint(args["resume"], schema="resume")
            if stage != "all" and int(stage) != saved["stage"]:
                raise CheckpointError(
                    f"{args['resume']}: a Stage {saved['stage']} checkpoint "
                    f"cannot resume Stage {stage}"
                )
            resumed_out = out if out_given else Path(saved["config"]["out"])
            fit(resume_config(args["resume"], {**args, **fold, "out": str(resumed_out)}))
            if stage == "all":  # continue the chain after the resumed stage (docs/design.md §9)
                rest = tuple(s for s in RECIPES["full"] if s.stage > saved["stage"])
                others = {k: v for k, v in args.items() if k != "resume"}
                run_chain(rest, {**others, **fold}, preset, resumed_out)
            return 0
        if stage == "all":
            run_chain(RECIPES["full"], {**args, **fold}, preset, out)
            return 0
        fit(make_config(preset, stage=int(stage), out=str(out), **args, **fold))
        return 0
    except (DataError, CheckpointError, TrainingError, ValueError) as e:
        print(f"train.py: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
