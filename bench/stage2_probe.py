"""No anchor: records a result as it comes out. What a checkpoint's scar head has learned below
the 0.5 threshold of the tables — docs/design.md §2 ("Why Stage II learned no scar at CPU size"
in bench/README.md).

    python bench/stage2_probe.py CKPT [CKPT ...]

For each checkpoint (Stage II or III), on its own fold's Task 1 validation cases (its data, cache
and fold; the preprocessed grid, as validation during training): the scar probabilities' largest
value, their mean inside and outside the scar label, and the mean Dice over the cases at the
thresholds 0.05, 0.1, 0.2, 0.3, 0.4 and 0.5 (0.5 is what every table uses). A head whose
probabilities order scar above background but stay under 0.5 shows it here.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lascar_ref.checkpoints import load_checkpoint  # noqa: E402
from lascar_ref.evaluation.evaluate import case_probs, evaluation_config  # noqa: E402
from lascar_ref.evaluation.metrics import dice  # noqa: E402
from lascar_ref.runtime.device import resolve_device  # noqa: E402
from lascar_ref.stage_data import fold_cases  # noqa: E402
from lascar_ref.stage_table import STAGES, build_model, predict_logits  # noqa: E402

THRESHOLDS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5)


def probe(path: Path) -> dict:
    """{"epoch", "max", "inside", "outside", "dice": {threshold: mean Dice}} of one checkpoint."""
    state = load_checkpoint(path, schema="eval")
    cfg = evaluation_config(state, {"progress": "off"})
    spec = STAGES[state["stage"]]
    if "scar" not in spec.outputs:
        raise SystemExit(f"{path}: a Stage {spec.number} checkpoint has no scar head")
    device = resolve_device(cfg.device)
    model = build_model(spec, cfg.feature_size)
    model.load_state_dict(state["model"])
    model.to(device).eval()
    _, val = fold_cases(cfg, task=1, say=lambda *_: None)
    k = spec.outputs.index("scar")
    top, inside, outside, dices = 0.0, [], [], {t: [] for t in THRESHOLDS}
    for p in val:
        prob = case_probs(p, predict_logits(model, spec), cfg, device, mirror=False)[k]
        truth = np.asarray(p.scar) > 0  # (X, Y, Z)
        top = max(top, float(prob.max()))
        inside.append(float(prob[truth].mean()) if truth.any() else np.nan)
        outside.append(float(prob[~truth].mean()))
        for t in THRESHOLDS:
            dices[t].append(dice(prob > t, truth))
    return {
        "epoch": state["epoch"],
        "n": len(val),
        "max": top,
        "inside": float(np.nanmean(inside)),
        "outside": float(np.mean(outside)),
        "dice": {t: float(np.mean(v)) for t, v in dices.items()},
    }


def main() -> None:
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    torch.set_grad_enabled(False)
    head = " ".join(f"Dice@{t:g}" for t in THRESHOLDS)
    print(f"checkpoint | epoch | n | max p | mean p inside scar | outside | {head}")
    for arg in sys.argv[1:]:
        r = probe(Path(arg))
        ds = " ".join(f"{r['dice'][t]:.3f}" for t in THRESHOLDS)
        print(
            f"{arg} | {r['epoch']} | {r['n']} | {r['max']:.3f} | {r['inside']:.3f} | "
            f"{r['outside']:.4f} | {ds}",
            flush=True,
        )


if __name__ == "__main__":
    main()
