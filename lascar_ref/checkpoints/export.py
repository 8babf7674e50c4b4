"""Export a checkpoint as MONAI SwinUNETR weights — docs/design.md §1, §10.

  python -m lascar_ref.checkpoints.export stage3.pt OUT.pt [--decoder la|scar]

Writes a state dict that MONAI's SwinUNETR(in_channels=1, out_channels=1, feature_size=F) loads
with strict=True (models/monai_keys.py): E and one decoder of a lascar_ref checkpoint (its
decoders from the stage table: Stage I: D_LA, Stage III: D_scar, Stage II: --decoder, default
scar). Reads the checkpoint with torch.load(weights_only=True). Tests: tests/test_monai_weights.py
"""

from __future__ import annotations

import argparse
import sys

import torch

from ..models.monai_keys import export_monai_state_dict
from ..models.swin_unetr import SwinUNETR
from ..stage_table import ONE_DECODER, STAGES


def single_decoder_state(state: dict, decoder: str | None) -> tuple[dict, str]:
    """A lascar_ref checkpoint -> (our single-decoder SwinUNETR state dict, the structure kept)."""
    stage = state["stage"]
    choices = STAGES[stage].decoders  # structure -> decoder prefix
    structure = decoder or ("scar" if "scar" in choices else "la")
    if structure not in choices:
        raise ValueError(
            f"a Stage {stage} checkpoint has no {structure} decoder (has {sorted(choices)})"
        )
    prefix = choices[structure] + "."
    encoder, decoder = ONE_DECODER["E"] + ".", ONE_DECODER["decoder"] + "."
    out = {k: v for k, v in state["model"].items() if k.startswith(encoder)}
    out.update(
        {decoder + k[len(prefix) :]: v for k, v in state["model"].items() if k.startswith(prefix)}
    )
    return out, structure


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m lascar_ref.checkpoints.export",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("ckpt", help="a lascar_ref checkpoint (stage{N}.pt)")
    p.add_argument("out", help="the MONAI SwinUNETR state dict to write")
    p.add_argument(
        "--decoder", choices=["la", "scar"], help="Stage II: which decoder (default: scar)"
    )
    a = p.parse_args(argv)
    try:
        state = torch.load(a.ckpt, map_location="cpu", weights_only=True)
        if not isinstance(state, dict) or "model" not in state or state.get("stage") not in STAGES:
            raise ValueError("not a lascar_ref checkpoint (no stage and model)")
        weights, structure = single_decoder_state(state, a.decoder)
        model = SwinUNETR(feature_size=state["arch"]["feature_size"])
        model.load_state_dict(weights, strict=True)
        torch.save(export_monai_state_dict(model), a.out)
    except (OSError, RuntimeError, ValueError, KeyError) as err:
        print(f"python -m lascar_ref.checkpoints.export: error: {a.ckpt}: {err}", file=sys.stderr)
        return 2
    print(
        f"wrote {a.out}: MONAI SwinUNETR(in_channels=1, out_channels=1, "
        f"feature_size={model.feature_size}), the {structure} decoder of Stage {state['stage']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
