"""Null draws of the representation statistics: reduce each side once and permute it, against recomputing.

A re-pairing of the rows permutes each side's reduction exactly (CKA: the centred Gram matrix; SVCCA: the
orthonormal basis of the top directions), so `compare()` redoes only the cheap combination per draw. This
times both ways on the same draws and data (map-like rows, a shared latent) and checks they agree. Prints JSON.

    python bench/stats_nulls.py [--n 440] [--d 784] [--draws 50] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from measure import bench_report, synchronize

from freqmaps import stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=440)
    parser.add_argument("--d", type=int, default=784)
    parser.add_argument("--draws", type=int, default=50)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    rng = np.random.default_rng(0)
    base = rng.random((args.n, args.d))
    E = torch.from_numpy(base + 0.3 * rng.random((args.n, args.d))).to(device)
    A = torch.from_numpy(base + 0.3 * rng.random((args.n, args.d))).to(device)
    generator = torch.Generator().manual_seed(0)
    perms = [torch.randperm(args.n, generator=generator).to(device) for _ in range(args.draws)]
    runs = []
    for name, (side, combine) in stats.matrix_statistics(stats.StatsSettings()).items():

        def direct(X: torch.Tensor, Y: torch.Tensor, side=side, combine=combine) -> float:
            return combine(side(X), side(Y))

        combine(side(E), side(A))  # warm-up: library loading and first-call allocations, for both ways
        synchronize(device)
        start = time.perf_counter()
        of_e, of_a = side(E), side(A)
        reused = [combine(of_e, of_a.permuted(p)) for p in perms]
        synchronize(device)
        reused_s = time.perf_counter() - start
        start = time.perf_counter()
        recomputed = [direct(E, A[p]) for p in perms]
        synchronize(device)
        recomputed_s = time.perf_counter() - start
        run = {
            "statistic": name,
            "n": args.n,
            "d": args.d,
            "draws": args.draws,
            "reused_seconds": reused_s,
            "recomputed_seconds": recomputed_s,
            "speedup": recomputed_s / reused_s,
            "max_abs_difference": max(abs(a - b) for a, b in zip(reused, recomputed, strict=True)),
        }
        runs.append(run)
        print(json.dumps(run), flush=True)
    print(bench_report("stats_nulls", device, runs))


if __name__ == "__main__":
    main()
