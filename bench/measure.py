"""How the bench scripts measure and report: waiting for the device, the device's fp32 matrix-multiply rate
(the yardstick every throughput is set against) and the JSON object each script prints last.

These live in bench/, not in the library: the workflow's jobs never run them, so editing them reruns nothing.
"""

from __future__ import annotations

import json
import time
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
