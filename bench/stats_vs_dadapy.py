"""Information imbalance (both directions, k = 1) and TwoNN: freqmaps against DADApy, same data, one run.

Data: GOLDEN.md's map-like construction (N maps of D = 3072 entries in [0, 1] driven by a shared latent),
tie-free. Prints one JSON object with times, ratios and whether the values are identical.

    python bench/stats_vs_dadapy.py [--sizes 2000 5000] [--device cpu|cuda] [--no-dadapy] [--nulls P]

With ``--nulls P`` it also times the re-pairing null as ``compare()`` computes it (P random re-pairings of
the rows, k = 1, both directions, one pass per space) against DADApy called once per re-pairing (on the
first three, extrapolated per draw), and checks those draws are identical.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np
import torch
from measure import bench_report

from freqmaps import stats


def map_like(n: int, d: int = 3072, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(n, 20))
    A = np.clip(Z @ rng.normal(size=(20, d)) * 0.3 + 0.5, 0, 1)
    B = np.clip(np.tanh(Z[:, :10]) @ rng.normal(size=(10, d)) * 0.3 + 0.5, 0, 1)
    return A, B


def timed(fn):
    start = time.perf_counter()
    value = fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return value, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 5000])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--no-dadapy", action="store_true", help="skip the reference (e.g. where it is not installed)")
    parser.add_argument("--nulls", type=int, default=0, help="also time P re-pairing null draws")
    args = parser.parse_args()
    device = torch.device(args.device)
    runs = []
    for n in args.sizes:
        A, B = map_like(n)
        tA, tB = torch.from_numpy(A).to(device), torch.from_numpy(B).to(device)
        stats.information_imbalance(tA[:200], tB[:200])  # warm-up
        ours, ours_s = timed(lambda tA=tA, tB=tB: stats.information_imbalance(tA, tB, k=1))
        id_ours, id_ours_s = timed(lambda tA=tA: stats.twonn_dadapy(tA))
        run = {
            "n": n,
            "d": A.shape[1],
            "ours_ii_seconds": ours_s,
            "ours_twonn_seconds": id_ours_s,
            "ours_ii": [ours["x_to_y"], ours["y_to_x"]],
            "ours_twonn": id_ours,
            "ties": ours["ties"],
        }
        if not args.no_dadapy:
            from dadapy import Data, MetricComparisons

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                theirs, theirs_s = timed(
                    lambda A=A, B=B, n=n: MetricComparisons(A).return_information_imbalace(B, k=1, subset_size=n)
                )
                id_theirs, id_theirs_s = timed(lambda A=A: Data(A).compute_id_2NN()[0])
            run.update(
                {
                    "dadapy_ii_seconds": theirs_s,
                    "dadapy_twonn_seconds": id_theirs_s,
                    "dadapy_ii": [float(theirs[0][0]), float(theirs[1][0])],
                    "dadapy_twonn": float(id_theirs),
                    "ii_speedup": theirs_s / ours_s,
                    "twonn_speedup": id_theirs_s / id_ours_s,
                    "ii_identical": [ours["x_to_y"], ours["y_to_x"]] == [float(theirs[0][0]), float(theirs[1][0])],
                    "twonn_relative_difference": abs(id_ours - id_theirs) / id_theirs,
                }
            )
        if args.nulls:
            generator = torch.Generator().manual_seed(0)
            perms = [torch.randperm(n, generator=generator) for _ in range(args.nulls)]
            ranks, null_s = timed(lambda tA=tA, tB=tB, perms=perms: stats.imbalance_ranks(tA, tB, 1, perms))
            ours_null = [[r.double().mean().item() / (n / 2.0) for r in ranks[d][1:]] for d in ("x_to_y", "y_to_x")]
            run.update({"null_draws": args.nulls, "ours_null_seconds_per_draw": null_s / args.nulls})
            if not args.no_dadapy:
                from dadapy import MetricComparisons

                checked = perms[:3]
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    theirs_null, theirs_null_s = timed(
                        lambda A=A, B=B, n=n, checked=checked: [
                            MetricComparisons(A).return_information_imbalace(B[p.numpy()], k=1, subset_size=n)
                            for p in checked
                        ]
                    )
                run.update(
                    {
                        "dadapy_null_seconds_per_draw": theirs_null_s / len(checked),
                        "null_speedup": (theirs_null_s / len(checked)) / (null_s / args.nulls),
                        "null_identical": all(
                            [ours_null[0][i], ours_null[1][i]] == [float(v[0][0]), float(v[1][0])]
                            for i, v in enumerate(theirs_null)
                        ),
                    }
                )
        runs.append(run)
        print(json.dumps(run), flush=True)
    print(bench_report("stats_vs_dadapy", device, runs))


if __name__ == "__main__":
    main()
