"""Speed options of one device: channels-last memory and torch.compile — docs/design.md §11.

Neither changes the mathematics of the model (paper §3.1, Eq. 3-4); both are off by default.
- `--channels-last`: the convolution weights and the network input use `channels_last_3d`
  memory (channels innermost, (B, X, Y, Z, C) in memory while the shape stays (B, C, X, Y, Z)),
  the layout tensor-core convolutions work in. A forward pre-hook converts the input, so callers,
  checkpoints and state-dict keys are unchanged. fp32 outputs equal the default layout within
  1e-5 (tests/test_speed_options.py). Measured slower on an H200 (1.15x; cuDNN converts around
  InstanceNorm, bench/README.md), so it stays off.
- `--compile`: `nn.Module.compile()` compiles the module's forward in place (TorchInductor), so
  state-dict keys stay those of the eager model and checkpoints are interchangeable. The first
  epoch pays the compilation (about 2 minutes on an H200, training and validation graphs);
  outputs and gradients equal eager within 1e-5 in fp32; 0.51x MONAI's forward+backward time on
  an H200 (bench/README.md).
Benchmark: bench/bench_model.py --impls ours ours-cl ours-compile, bench/bench_train.py --options.
"""

from __future__ import annotations

import torch

MEMORY_FORMAT = torch.channels_last_3d


def _to_channels_last(module: torch.nn.Module, args: tuple) -> tuple:
    """Forward pre-hook: the (B, C, X, Y, Z) input in channels_last_3d memory."""
    x, *rest = args
    return (x.contiguous(memory_format=MEMORY_FORMAT), *rest)


def use_channels_last(model: torch.nn.Module) -> torch.nn.Module:
    """5-D parameters (3-D convolution kernels) and every input in channels_last_3d; in place."""
    model.to(memory_format=MEMORY_FORMAT)
    model.register_forward_pre_hook(_to_channels_last)
    return model


def apply_speed_options(
    model: torch.nn.Module, channels_last: bool = False, compile: bool = False
) -> torch.nn.Module:
    """--channels-last and --compile on `model`, in place (same module, same state-dict keys)."""
    if channels_last:
        use_channels_last(model)
    if compile:
        model.compile()
    return model
