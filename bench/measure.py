"""How the bench scripts measure and report: waiting for the device, the device's fp32 matrix-multiply rate
(the yardstick every throughput is set against), competing busy processes (a shared node) and the JSON object
each script prints last.

These live in bench/, not in the library: the workflow's jobs never run them, so editing them reruns nothing.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import time
from collections.abc import Iterator
from typing import Any

import torch

from freqmaps.runtime import fp32_precision, provenance


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (for timings); nothing to wait for on the CPU."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_rate(device: torch.device, n: int = 2048, repeats: int = 10) -> float:
    """The device's measured fp32 matrix-multiply rate in FLOP/s (TF32 off): the yardstick for benchmarks."""
    with fp32_precision("ieee"):
        a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
        a @ b
        synchronize(device)
        start = time.perf_counter()
        for _ in range(repeats):
            a @ b
        synchronize(device)
        return 2 * n**3 * repeats / (time.perf_counter() - start)


def bench_report(benchmark: str, device: torch.device | str, runs: list[dict[str, Any]], **measured: Any) -> str:
    """The JSON object a bench script prints last: its runs, what else it measured, and the provenance."""
    return json.dumps({"benchmark": benchmark, **measured, **provenance(device, None), "runs": runs}, indent=2)


def _burn() -> None:  # a competing single-thread CPU load: float64 matrix products until terminated
    torch.set_num_threads(1)
    a = torch.randn(512, 512, dtype=torch.float64)
    while True:
        a = torch.tanh(a @ a)


@contextlib.contextmanager
def busy_processes(count: int) -> Iterator[None]:
    """``count`` competing single-thread processes (a colleague's job, a second notebook) while the block runs."""
    burners = [multiprocessing.Process(target=_burn, daemon=True) for _ in range(count)]
    for burner in burners:
        burner.start()
    try:
        yield
    finally:
        for burner in burners:
            burner.terminate()
            burner.join()
