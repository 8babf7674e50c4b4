"""Where and how a run computes: device, mixed precision, determinism — docs/design.md §2.

`resolve_device("auto")` picks CUDA when present; an explicit device that is absent is refused
before any data is read. `resolve_amp` maps --amp to an autocast dtype (bf16 on CUDA when
supported, off on CPU by default; a GradScaler is used only for fp16, docs/design.md §2), and
`autocast_for` builds the one autocast context that training, validation, evaluation and
prediction enter.
`determinism` implements --deterministic (docs/design.md §2, "Determinism").
Tests: tests/test_train_resume.py (determinism), tests/test_config.py (a missing device)
"""

from __future__ import annotations

import contextlib
import functools
import os
import warnings
from collections.abc import Iterator

import torch

from ..config.checks import AMP_CHOICES

DETERMINISTIC_THREADS = 2  # fixed intra-op thread count under --deterministic on the CPU


def autocast_for(device: torch.device, amp_dtype: torch.dtype | None) -> functools.partial:
    """A factory of the run's autocast context: `with autocast():` runs in `amp_dtype` on
    `device`'s type (None: float32, autocast off)."""
    return functools.partial(
        torch.autocast, device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None
    )


def resolve_device(name: str) -> torch.device:
    """ "auto" -> cuda if available, else cpu; a named device must exist (ValueError naming it)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as e:
        raise ValueError(f"--device {name!r} is not a torch device ({e})") from e
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"--device {name}: CUDA is not available on this machine (use --device cpu or auto)"
        )
    if (
        device.type == "cuda"
        and device.index is not None
        and device.index >= torch.cuda.device_count()
    ):
        raise ValueError(
            f"--device {name}: only {torch.cuda.device_count()} CUDA device(s) present"
        )
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"--device {name}: MPS is not available on this machine")
    return device


def resolve_amp(amp: str, device: torch.device) -> torch.dtype | None:
    """--amp -> autocast dtype or None (float32). fp16 on the CPU is allowed but warned about."""
    if amp not in AMP_CHOICES:
        raise ValueError(f"--amp must be one of {AMP_CHOICES}, got {amp!r}")
    if amp == "auto":
        return torch.bfloat16 if device.type == "cuda" and torch.cuda.is_bf16_supported() else None
    if amp == "fp16" and device.type == "cpu":
        warnings.warn(
            "--amp fp16 on the CPU is slow and gains nothing (no fp16 tensor cores); "
            "use --amp off or bf16",
            stacklevel=2,
        )
    return {"bf16": torch.bfloat16, "fp16": torch.float16, "off": None}[amp]


@contextlib.contextmanager
def determinism(deterministic: bool, device: torch.device) -> Iterator[None]:
    """--deterministic: deterministic kernels everywhere (an op without one raises), cuDNN without
    benchmarking, a fixed CPU thread count; the previous global settings are restored on exit.
    Without the flag torch's defaults are kept."""
    if not deterministic:
        yield
        return
    saved = (
        torch.are_deterministic_algorithms_enabled(),
        torch.backends.cudnn.deterministic,
        torch.backends.cudnn.benchmark,
        torch.get_num_threads(),
    )
    os.environ.setdefault(
        "CUBLAS_WORKSPACE_CONFIG", ":4096:8"
    )  # required by cuBLAS for determinism
    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    if device.type == "cpu":
        torch.set_num_threads(min(DETERMINISTIC_THREADS, os.cpu_count() or 1))
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(saved[0])
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = saved[1], saved[2]
        torch.set_num_threads(saved[3])
