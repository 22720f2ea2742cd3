"""Where information imbalance spends its time: each stage of the exact-rank engine timed in place.

Wraps the engine's stage functions (`freqmaps.stats.neighbours`) with timers and counts the exact float64
re-checks, then calls `imbalance_ranks` as `stats.information_imbalance` does (best of ``--repeats``; stages
nest: the Gram product runs inside the spaces' set-up, re-checks inside neighbours and ranks). Prints one JSON
line per k and the report last.

    python bench/imbalance_stages.py [--n 1500] [--d 3072] [--ks 1 5 10] [--data nonlinear|golden|binary]
        [--threads 2] [--repeats 3] [--dadapy]
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository, for tests.golden

import freqmaps  # noqa: E402, F401  (before torch: idle OpenMP threads sleep, as in every freqmaps process)

# isort: split
import torch  # noqa: E402
from measure import bench_report  # noqa: E402
from stats_vs_dadapy import DATA, dadapy_imbalance, median_seconds  # noqa: E402

from freqmaps.stats import neighbours  # noqa: E402

STAGES = {  # stage name: (owner, function)
    "spaces (centring, norms, Gram product)": (neighbours, "spaces"),
    "Gram product": (neighbours.Space, "_all_distances"),
    "nearest neighbours": (neighbours, "_neighbours_of"),
    "ranks": (neighbours, "_ranks_of"),
    "counting passes": (neighbours, "_counted_cpu"),
    "window members": (neighbours, "_window_members"),
    "exact re-checks": (neighbours.Space, "exact"),
    "plain rows": (neighbours.Space, "exact_rows"),
}


def instrument(seconds: dict, pairs: dict) -> None:
    for name, (owner, attribute) in STAGES.items():
        function = getattr(owner, attribute)

        def timed(*args, _function=function, _name=name, **kwargs):
            start = time.perf_counter()
            try:
                return _function(*args, **kwargs)
            finally:
                seconds[_name] += time.perf_counter() - start

        setattr(owner, attribute, timed)
    exact = neighbours.Space.exact

    def counted(self, i, j):
        pairs["exact re-checks"] += i.numel()
        return exact(self, i, j)

    neighbours.Space.exact = counted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1500)
    parser.add_argument("--d", type=int, default=3072)
    parser.add_argument("--ks", type=int, nargs="+", default=[1, 5, 10])
    parser.add_argument("--data", default="nonlinear", choices=list(DATA))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--dadapy",
        action="store_true",
        help="also time DADApy on the same data: DADApy / Gram product bounds the speed-up of any method that forms "
        "the two float32 products (if all else cost nothing)",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    X, Y = (torch.from_numpy(a) for a in DATA[args.data](args.n, args.d))
    seconds: dict[str, float] = collections.defaultdict(float)
    pairs: dict[str, int] = collections.defaultdict(int)
    instrument(seconds, pairs)
    neighbours.imbalance_ranks(X[:200], Y[:200], 1)  # warm-up
    runs = []
    for k in args.ks:
        best = None
        for _ in range(args.repeats):
            seconds.clear()
            pairs.clear()
            start = time.perf_counter()
            neighbours.imbalance_ranks(X, Y, k)
            wall = time.perf_counter() - start
            if best is None or wall < best["seconds"]:
                best = {"seconds": wall, "stages": dict(seconds), "exact_pairs": pairs["exact re-checks"]}
        runs.append({"data": args.data, "n": args.n, "d": args.d, "k": k, **best})
        if args.dadapy:
            _, theirs = median_seconds(lambda k=k: dadapy_imbalance(X.numpy(), Y.numpy(), k), args.repeats)
            runs[-1]["dadapy_seconds"] = theirs
            runs[-1]["dadapy_over_ours"] = theirs / best["seconds"]
            runs[-1]["dadapy_over_gram_product"] = theirs / best["stages"]["Gram product"]
        print(json.dumps(runs[-1]), flush=True)
    print(bench_report("imbalance_stages", "cpu", runs, threads=args.threads, repeats=args.repeats))


if __name__ == "__main__":
    main()
