"""Seeding, device choice and provenance: the facts recorded next to every result."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch

log = logging.getLogger("freqmaps")

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def fitted_seed(seed: int, bits: int) -> int:
    """``seed`` itself when it fits in ``bits`` bits (so every seed that always worked keeps its stream), else
    a ``bits``-bit seed derived from it by numpy's ``SeedSequence`` (any non-negative integer is valid)."""
    if seed < 0:
        raise ValueError(f"seed: {seed} is negative; seeds are non-negative integers")
    if seed < 2**bits:
        return seed
    words = np.random.SeedSequence(seed).generate_state(max(bits // 32, 1), np.uint32)
    return int(sum(int(word) << (32 * i) for i, word in enumerate(words)))


def stream_seed(seed: int, index: int) -> int:
    """The seed of random stream ``index`` (e.g. an attack shard) of a run with ``seed``: exact integer
    arithmetic, so no seed overflows; :func:`seed_everything` accepts the result whatever its size."""
    return seed * 100_003 + index


# ATEN_CPU_CAPABILITY values torch knows on x86, in increasing order; torch picks the best one the CPU has.
_CPU_CAPABILITIES = ("default", "avx2", "avx512")


def cpu_capabilities() -> list[str]:
    """Every ATEN_CPU_CAPABILITY value this CPU can run, up to the one torch picks here: the CPU kernel sets a
    result computed on another node of a cluster may have used (`make test-numerics` runs under each)."""
    best = torch.backends.cpu.get_cpu_capability().lower()
    if best not in _CPU_CAPABILITIES:  # e.g. an ARM or POWER machine: its own kernels and the scalar ones
        return ["default", best] if best != "default" else ["default"]
    return list(_CPU_CAPABILITIES[: _CPU_CAPABILITIES.index(best) + 1])


def seed_everything(seed: int, deterministic: bool = True) -> torch.Generator:
    """Seed python, numpy and torch (CPU and CUDA) and return a torch generator for DataLoaders.

    Any non-negative seed is valid: numpy's legacy seeding takes 32 bits and torch's CPU generator uses only
    the low 32 (seeds 0 and 2**32 would share a stream), so a larger seed is first reduced by
    :func:`fitted_seed`; a seed below 2**32 is used as it is, as it always was.
    With ``deterministic`` the cuDNN autotuner is off and deterministic algorithms are requested
    (warn-only, so an op without a deterministic kernel still runs and says so in the log).
    """
    random.seed(seed)
    seed32 = fitted_seed(seed, 32)
    np.random.seed(seed32)
    torch.manual_seed(seed32)
    torch.cuda.manual_seed_all(seed32)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
        torch.use_deterministic_algorithms(True, warn_only=True)
    generator = torch.Generator()
    generator.manual_seed(seed32)
    return generator


def resolve_device(choice: str = "auto") -> torch.device:
    """Turn the config's ``device`` (auto|cpu|cuda) into a torch device; asking for CUDA without one is an error."""
    if choice not in DEVICE_CHOICES:
        raise ValueError(f"device: {choice!r} is not one of {DEVICE_CHOICES}")
    if choice == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            "device: 'cuda' was requested but no CUDA device is visible "
            f"(torch {torch.__version__}, CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES')!r}); "
            "set device: auto or device: cpu in the config"
        )
    if choice == "auto":
        choice = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(choice)
    log.info("device: %s%s", device, f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else "")
    return device


def git_commit() -> str:
    """The commit of the freqmaps checkout, or 'unknown' outside a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def library_versions() -> dict[str, str]:
    """Versions of the packages a result depends on."""
    import importlib.metadata as md

    versions = {"python": platform.python_version()}
    for name in ("freqmaps", "torch", "torchvision", "torchattacks", "numpy", "scipy", "dadapy"):
        try:
            versions[name] = md.version(name)
        except md.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def config_hash(settings: Any) -> str:
    """A short, order-independent hash of a JSON-able settings object."""
    blob = json.dumps(settings, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def provenance(device: torch.device | str, seed: int | None, settings: Any = None) -> dict[str, Any]:
    """Everything needed to say where a result came from."""
    device = torch.device(device)
    record: dict[str, Any] = {
        "seed": seed,
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else platform.processor() or platform.machine(),
        "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
        "torch_threads": torch.get_num_threads(),
        "versions": library_versions(),
        "git_commit": git_commit(),
        "host": platform.node(),
        "argv": sys.argv[:1],
        "created_unix": time.time(),
    }
    if settings is not None:
        record["settings"] = settings
        record["config_hash"] = config_hash(settings)
    return record


def peak_memory_mb(device: torch.device) -> float:
    """Peak memory of this process: CUDA allocator peak on a GPU, max RSS on the CPU."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def fp32_precision(matmul: str, conv: str | None = None) -> Iterator[None]:
    """The arithmetic of float32 matrix products (CUDA and oneDNN) and, with ``conv``, of cuDNN
    convolutions inside the block: "ieee" (true float32) or "tf32"; restored afterwards.

    Only PyTorch's per-backend settings are used: reading a legacy flag (``allow_tf32``,
    ``get_float32_matmul_precision``) after the per-backend ones were set makes PyTorch raise.
    """
    wanted = {  # oneDNN has no TF32 on the CPU: "none" leaves it at its default
        torch.backends.cuda.matmul: matmul,
        torch.backends.mkldnn.matmul: "ieee" if matmul == "ieee" else "none",
    }
    if conv is not None:
        wanted[torch.backends.cudnn.conv] = conv
    before = {backend: backend.fp32_precision for backend in wanted}
    for backend, value in wanted.items():
        backend.fp32_precision = value
    try:
        yield
    finally:
        for backend, value in before.items():
            backend.fp32_precision = value
