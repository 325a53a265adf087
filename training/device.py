"""Which device and autocast type a run uses, and the peak FLOP/s its MFU is measured
against."""

from __future__ import annotations

import contextlib
import warnings
from pathlib import Path

import torch

from gristmill.checks import DEVICE
from training.errors import TrainingError

# Dense bf16 tensor-core peaks from the vendors' data sheets (SXM parts), in TFLOP/s.
PEAK_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0, "L4": 121.0,
               "A10": 125.0, "4090": 165.2, "3090": 71.0}


def pick_device(requested: str, local_rank: int, flag: str = "run.device") -> torch.device:
    """The device `requested` names (`flag` is how the user set it, for the message)."""
    if not DEVICE.fullmatch(requested):
        raise TrainingError(f"{flag}={requested}: unknown device; use auto, cpu, cuda, cuda:N "
                            "or mps")
    if requested == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank)
        return torch.device("cpu")
    device = torch.device(requested)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise TrainingError(f"{flag}={requested} but PyTorch sees no CUDA GPU; use "
                            f"{flag}=cpu (or auto)")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise TrainingError(f"{flag}={requested} but PyTorch sees no Apple GPU (MPS); use "
                            f"{flag}=cpu (or auto)")
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", local_rank)
    return device


def pick_dtype(requested: str, device: torch.device) -> torch.dtype:
    """bfloat16 autocast where it is fast: GPUs with bf16, CPUs with AVX512-BF16 or AMX."""
    if requested == "float32":
        return torch.float32
    supported = (torch.cuda.is_bf16_supported() if device.type == "cuda"
                 else _cpu_has_bf16())
    if requested == "bfloat16":
        if not supported:
            warnings.warn(f"{device} has no fast bfloat16 (no AVX512-BF16/AMX or a GPU "
                          "without bf16): autocast may run many times slower than float32; "
                          "run.dtype=auto picks the fast one", stacklevel=2)
        return torch.bfloat16
    return torch.bfloat16 if supported else torch.float32


def autocast(device: torch.device, dtype: torch.dtype) -> contextlib.AbstractContextManager:
    if dtype == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)


def peak_flops(device: torch.device, configured: float | None) -> float | None:
    """FLOP/s that 100% MFU means: the configured value, or a known GPU's bf16 peak."""
    if configured:
        return configured * 1e12
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    for key, tflops in PEAK_TFLOPS.items():
        if key in name:
            return tflops * 1e12
    return None


def _cpu_has_bf16() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags
