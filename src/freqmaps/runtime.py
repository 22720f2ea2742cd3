"""Seeding, device choice, threads on shared cores and provenance: the facts recorded next to every result."""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import math
import os
import platform
import random
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch

import freqmaps

log = logging.getLogger("freqmaps")
T = TypeVar("T")

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


# A fixed thread count for the statistics engine, whatever the load (e.g. for timings): FREQMAPS_THREADS=n.
THREADS_VARIABLE = "FREQMAPS_THREADS"


def available_cores() -> int:
    """The cores this process may run on: its CPU affinity (taskset, a SLURM or container cpuset), lowered to a
    CPU quota where the cgroup sets one (``docker --cpus``, cgroup v2 ``cpu.max`` or v1 ``cfs_quota_us``)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # no affinity on this platform (macOS)
        cores = os.cpu_count() or 1
    quota = _cgroup_quota()
    return max(1, min(cores, math.ceil(quota))) if quota else max(1, cores)


# cgroup v2's quota and period in one file; v1's quota (its period beside it, cpu.cfs_period_us)
CGROUP_CPU_FILES = (Path("/sys/fs/cgroup/cpu.max"), Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"))


def _cgroup_quota() -> float | None:
    """CPUs' worth of time the cgroup grants per period, or None where it sets no limit (or none is readable)."""
    for path, split in zip(CGROUP_CPU_FILES, (True, False), strict=True):
        try:
            text = path.read_text().split()
            if split:  # "max 100000" or "200000 100000"
                quota, period = text[0], text[1]
            else:
                quota, period = text[0], path.with_name("cpu.cfs_period_us").read_text().split()[0]
        except (OSError, IndexError):
            continue
        if quota in ("max", "-1") or not (quota.isdigit() and period.isdigit() and int(period) > 0):
            return None
        return int(quota) / int(period)
    return None


LOADAVG = Path("/proc/loadavg")


def busy_cores(cores: int) -> float:
    """How many of this process's ``cores`` other processes keep busy now: the machine's runnable threads at
    this instant (``/proc/loadavg``'s fourth field, less the one reading it), scaled to this process's share of
    the machine's CPUs (which assumes the load is spread evenly); the one-minute load average where there is no
    /proc (it lags a new load by up to a minute and counts this process's own recent work)."""
    try:
        running = int(LOADAVG.read_text().split()[3].split("/")[0]) - 1
    except (OSError, IndexError, ValueError):
        try:
            running = os.getloadavg()[0]
        except (AttributeError, OSError):  # Windows: neither
            return 0.0
    return max(0.0, running) * cores / max(cores, os.cpu_count() or 1)


def shared_core_count(cores: int, busy: float, cap: int, *, spinning: bool, fixed: int | None = None) -> int:
    """Threads for work on cores that other processes may share: at most ``cap`` (the threads the caller allows)
    and the ``cores`` available. Where idle OpenMP threads sleep, that is the choice: under a competing load
    each thread is a share of the cores (on 2 cores with 2 busy processes 2 threads were faster than one,
    BENCHMARKS.md "Shared cores"). Where they spin (``spinning``: torch loaded before freqmaps could set the wait
    policy), also no more than the cores other processes leave free (``busy``, rounded to the nearest whole
    core), at least one: a spinning thread takes the core a working one waits for. ``fixed``
    (FREQMAPS_THREADS) overrides the choice."""
    if fixed is not None:
        return max(1, fixed)
    threads = min(cap, cores)
    if spinning:
        threads = min(threads, cores - math.floor(busy + 0.5))
    return max(1, threads)


def _fixed_threads() -> int | None:
    value = os.environ.get(THREADS_VARIABLE, "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{THREADS_VARIABLE}={value!r} is not a positive whole number of threads")
    return int(value)


_NOTED = []  # whether note_spinning_threads has warned in this process


def note_spinning_threads() -> None:
    """Warn once per process where torch was imported before freqmaps (so OpenMP's idle threads spin, and on a
    busy machine the map engine and training run several times slower: BENCHMARKS.md "Shared cores")."""
    if freqmaps.TORCH_FIRST and not _NOTED:
        _NOTED.append(True)
        warnings.warn(
            "torch was imported before freqmaps, so OpenMP's idle threads spin and take cores other processes "
            "need; import freqmaps first (or set OMP_WAIT_POLICY=PASSIVE before starting Python)",
            RuntimeWarning,
            stacklevel=3,
        )


def chosen_threads() -> int:
    """The threads :func:`shared_core_threads` would run on now."""
    cores = available_cores()
    spinning = freqmaps.IDLE_THREADS_SPIN
    busy = busy_cores(cores) if spinning else 0.0
    return shared_core_count(cores, busy, torch.get_num_threads(), spinning=spinning, fixed=_fixed_threads())


@contextmanager
def shared_core_threads() -> Iterator[int]:
    """Run the block on the threads :func:`shared_core_count` chooses now (cores available, the wait policy and,
    where threads spin, the busy cores; capped by the torch threads in effect, e.g. a rule's ``threads`` or the
    user's ``torch.set_num_threads``); the thread count is restored afterwards. Only for work whose results do
    not depend on the thread count (the certified neighbour engine: every rank is decided exactly)."""
    note_spinning_threads()
    before = torch.get_num_threads()
    threads = chosen_threads()
    if threads != before:
        torch.set_num_threads(threads)
    try:
        yield threads
    finally:
        if threads != before:
            torch.set_num_threads(before)


def on_shared_cores(function: Callable[..., T]) -> Callable[..., T]:
    """``function`` run inside :func:`shared_core_threads`, the choice made anew at each call."""

    @functools.wraps(function)
    def run(*args: Any, **kwargs: Any) -> T:
        with shared_core_threads():
            return function(*args, **kwargs)

    return run


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
