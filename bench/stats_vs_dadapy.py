"""Information imbalance (both directions) at every k: freqmaps against DADApy and the plain exact method.

Grid: k x N x D on these constructions, side by side in one run:

- ``nonlinear``: X ~ N(0, 1)^D, Y = tanh(X W / sqrt(D)) + 0.3 N(0, 1) (a nonlinear relation between spaces);
- ``tanh_half`` and ``sine_half``: X of width D, Y of width D/2: tanh or sine of a random projection of X
  plus 0.3 noise (spaces of different widths, as a user's representations are);
- ``golden``: GOLDEN.md's map-like construction (D = 3072 entries in [0, 1] driven by a shared latent; its D is
  fixed, so it runs once per N);
- ``binary``: the nonlinear pair thresholded to 0/1 (X > 1, Y > 0.5), as masks at a matched sparsity are: full
  of exact ties, whose order (by index) DADApy does not define, so only the plain method is its reference.

freqmaps is imported before torch, as a user's ``import freqmaps`` would be, so the library's own settings
apply: idle OpenMP threads sleep (``freqmaps/__init__.py``); ``--torch-first`` imports torch first (a notebook
that did), so OpenMP's threads spin and the neighbour engine keeps off the busy cores at each call
(``freqmaps.runtime.shared_core_threads``). ``FREQMAPS_THREADS=n`` fixes ours' threads. Per case the three
methods are called interleaved in the same process (ours, DADApy, plain, repeated), and each time is the median
of ``--repeats`` calls, so a competing load hits all three alike. DADApy 0.3.4:
``MetricComparisons(X, maxk=N-1).return_information_imbalace(Y, k=k, subset_size=N)``, timed from construction
to result. The plain exact method: a float64 squared-distance matrix (Gram identity), one stable sort per row,
ranks by inverse permutation. Prints one JSON line per case (times, ratios, whether the values are identical,
the load average, and the threads ours would choose just after) and the report last.

    python bench/stats_vs_dadapy.py [--ks 1 2 ... 10] [--sizes 1500 5000] [--dims 50 500 3072]
        [--data nonlinear golden tanh_half sine_half binary] [--repeats 3] [--threads 2] [--device cpu|cuda]
        [--no-dadapy] [--no-plain] [--contend P] [--nulls P] [--torch-first]

``--contend P`` starts P competing single-thread processes (float64 matrix products) before the first case and
stops them after the last (a shared node: a colleague's job, a second notebook). ``--nulls P`` also times P
random re-pairing null draws at k = 5 as ``compare()`` computes them (one pass per space) against DADApy called
once per re-pairing (the first three, per draw), and checks those draws.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository, for tests.golden
if "--torch-first" in sys.argv:
    import torch  # noqa: F401  (OpenMP starts before freqmaps can choose its wait policy)
# isort: off
import freqmaps  # noqa: E402  (before torch: idle OpenMP threads sleep)

# isort: on
import numpy as np  # noqa: E402
import torch  # noqa: E402
from measure import bench_report, busy_processes, synchronize  # noqa: E402

from freqmaps import runtime, stats  # noqa: E402
from tests.golden import GOLDEN_DIM, golden_map_like  # noqa: E402


def nonlinear(n: int, d: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """X ~ N(0, 1)^d and Y = tanh(X W / sqrt(d)) + 0.3 noise: tie-free, related nonlinearly."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    Y = np.tanh(X @ rng.normal(size=(d, d)) / np.sqrt(d)) + 0.3 * rng.normal(size=(n, d))
    return X, Y


def projected(n: int, d: int, squash, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """X ~ N(0, 1)^d and Y = squash(X W / sqrt(d)) + 0.3 noise of width d // 2: tie-free, different widths."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    width = max(1, d // 2)
    return X, squash(X @ rng.normal(size=(d, width)) / np.sqrt(d)) + 0.3 * rng.normal(size=(n, width))


def binary(n: int, d: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The nonlinear pair thresholded to 0/1 masks (about 16 % and 30 % ones): heavy exact ties."""
    X, Y = nonlinear(n, d, seed)
    return (X > 1.0).astype(np.float64), (Y > 0.5).astype(np.float64)


DATA = {
    "nonlinear": nonlinear,
    "tanh_half": lambda n, d: projected(n, d, np.tanh),
    "sine_half": lambda n, d: projected(n, d, np.sin),
    "golden": lambda n, d: golden_map_like(n),
    "binary": binary,
}


def plain_ranks(X: torch.Tensor, k: int, block: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    """The plain exact method for one space: a float64 squared-distance matrix (the Gram identity, as sklearn
    and so DADApy compute it), one stable sort per row. Returns each row's k nearest other points and the rank
    of every point in every row."""
    n = len(X)
    norms = (X * X).sum(1)
    neighbours = torch.empty(n, k, dtype=torch.long)
    rank = torch.empty(n, n, dtype=torch.long)
    positions = torch.arange(n).expand(block, n)
    for start in range(0, n, block):
        rows = X[start : start + block]
        d2 = norms[start : start + block, None] + norms[None, :] - 2 * rows @ X.T
        d2[torch.arange(len(rows)), torch.arange(start, start + len(rows))] = -torch.inf
        order = d2.argsort(dim=1, stable=True)
        neighbours[start : start + len(rows)] = order[:, 1 : k + 1]
        rank[start : start + len(rows)].scatter_(1, order, positions[: len(rows)])
    return neighbours, rank


def plain_imbalance(X: torch.Tensor, Y: torch.Tensor, k: int) -> tuple[float, float]:
    nn_x, rank_x = plain_ranks(X, k)
    nn_y, rank_y = plain_ranks(Y, k)
    n = len(X)
    return (
        rank_y.gather(1, nn_x).double().mean().item() / (n / 2.0),
        rank_x.gather(1, nn_y).double().mean().item() / (n / 2.0),
    )


def dadapy_imbalance(X: np.ndarray, Y: np.ndarray, k: int) -> tuple[float, float]:
    from dadapy import MetricComparisons

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = MetricComparisons(X, maxk=len(X) - 1).return_information_imbalace(Y, k=k, subset_size=len(X))
    return float(theirs[0][0]), float(theirs[1][0])


def median_seconds(fn, repeats: int) -> tuple[object, float]:
    times, value = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return value, statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ks", type=int, nargs="+", default=list(range(1, 11)))
    parser.add_argument("--sizes", type=int, nargs="+", default=[1500, 5000])
    parser.add_argument("--dims", type=int, nargs="+", default=[50, 500, 3072])
    parser.add_argument("--data", nargs="+", default=["nonlinear", "golden"], choices=list(DATA))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2, help="torch threads allowed, as the correlate rule's")
    parser.add_argument("--device", default="cpu", help="where ours runs (DADApy and the plain method: CPU)")
    parser.add_argument("--no-dadapy", action="store_true", help="skip the reference (e.g. where it is not installed)")
    parser.add_argument("--no-plain", action="store_true", help="skip the plain exact method")
    parser.add_argument("--contend", type=int, default=0, help="competing busy single-thread processes")
    parser.add_argument("--torch-first", action="store_true", help="import torch before freqmaps (a notebook)")
    parser.add_argument("--nulls", type=int, default=0, help="also time P re-pairing null draws at k = 5")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    runs = []
    with busy_processes(args.contend):
        for data in args.data:
            for n in args.sizes:
                for d in [GOLDEN_DIM] if data == "golden" else args.dims:
                    X, Y = DATA[data](n, d)
                    tX, tY = torch.from_numpy(X).to(args.device), torch.from_numpy(Y).to(args.device)
                    stats.information_imbalance(tX[:200], tY[:200], k=1)  # warm-up
                    if not args.no_dadapy:
                        dadapy_imbalance(X[:200], Y[:200], 1)  # its imports too
                    for k in args.ks:
                        runs.append(one_case(data, n, d, k, X, Y, tX, tY, args))
                        print(json.dumps(runs[-1]), flush=True)
                    if args.nulls:
                        runs.append(null_case(data, n, d, X, Y, tX, tY, args))
                        print(json.dumps(runs[-1]), flush=True)
    print(
        bench_report(
            "stats_vs_dadapy",
            args.device,
            runs,
            threads=args.threads,
            contend=args.contend,
            repeats=args.repeats,
            omp_wait_policy=os.environ.get("OMP_WAIT_POLICY"),
            idle_threads_spin=freqmaps.IDLE_THREADS_SPIN,
            fixed_threads=os.environ.get(runtime.THREADS_VARIABLE),
            torch_first=args.torch_first,
            load_average_end=os.getloadavg(),
        )
    )


def both_directions(result: dict) -> tuple[float, float]:
    return result["x_to_y"], result["y_to_x"]


def one_case(data, n, d, k, X, Y, tX, tY, args) -> dict:
    """Ours, DADApy's and the plain method's Δ in both directions, interleaved, median of the repeats."""
    times: dict[str, list[float]] = {"ours": [], "dadapy": [], "plain": []}
    values: dict[str, tuple[float, float]] = {}
    calls = {"ours": lambda: both_directions(stats.information_imbalance(tX, tY, k=k))}
    if not args.no_dadapy:
        calls["dadapy"] = lambda: dadapy_imbalance(X, Y, k)
    if not args.no_plain:
        calls["plain"] = lambda: plain_imbalance(tX.cpu(), tY.cpu(), k)
    for _ in range(args.repeats):
        for name, call in calls.items():
            start = time.perf_counter()
            values[name] = call()
            synchronize(torch.device(args.device))
            times[name].append(time.perf_counter() - start)
    run = {
        "data": data,
        "n": n,
        "d": d,
        "d_y": Y.shape[1],
        "k": k,
        "load_average": os.getloadavg()[0],
        "busy_cores": runtime.busy_cores(runtime.available_cores()),
        "threads_now": runtime.chosen_threads(),  # what ours would run on now
        "ours_seconds": statistics.median(times["ours"]),
        "ours": values["ours"],
    }
    for name in ("dadapy", "plain"):
        if name in values:
            run[f"{name}_seconds"] = statistics.median(times[name])
            run[f"{name}_over_ours"] = run[f"{name}_seconds"] / run["ours_seconds"]
            run[f"identical_to_{name}"] = values[name] == values["ours"]
    return run


def null_case(data, n, d, X, Y, tX, tY, args) -> dict:
    """P random re-pairings at k = 5, as compare() ranks them, against DADApy once per re-pairing."""
    generator = torch.Generator().manual_seed(0)
    perms = [torch.randperm(n, generator=generator) for _ in range(args.nulls)]
    ranks, seconds = median_seconds(lambda: stats.imbalance_ranks(tX, tY, 5, perms), 1)
    ours = [[r[:, :5].double().mean().item() / (n / 2.0) for r in ranks[d][1:]] for d in ("x_to_y", "y_to_x")]
    run = {
        "data": data,
        "n": n,
        "d": d,
        "k": 5,
        "null_draws": args.nulls,
        "ours_null_seconds_per_draw": seconds / args.nulls,
    }
    if not args.no_dadapy:
        checked = perms[:3]
        theirs, theirs_s = median_seconds(lambda: [dadapy_imbalance(X, Y[p.numpy()], 5) for p in checked], 1)
        run.update(
            {
                "dadapy_null_seconds_per_draw": theirs_s / len(checked),
                "null_dadapy_over_ours": (theirs_s / len(checked)) / (seconds / args.nulls),
                "null_identical": all((ours[0][i], ours[1][i]) == theirs[i] for i in range(len(checked))),
            }
        )
    return run


if __name__ == "__main__":
    main()
