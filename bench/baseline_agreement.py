"""Agreement tables: seconds of one baseline against one map set at each level, with the statistics' nulls and
neighbour orders (stats defaults of config.yaml: random and within-class nulls, k = 1 and 5) against the
agreement's own defaults (baselines.nulls [random], baselines.k [1]). Maps of N synthetic 1x28x28 images
(smoothed noise clamped to [0, 1], about 45 % of the entries >= 0.5), the baseline a noisy copy; the
config.yaml draws (100 nulls, 200 bootstrap, 100 random halves). Prints one JSON object.

    python bench/baseline_agreement.py [--images 450] [--levels image matched]
"""

from __future__ import annotations

import argparse
import time

import freqmaps  # noqa: F401  (before torch: idle OpenMP threads sleep, as in every freqmaps process)

# isort: split
import torch
from measure import bench_report

from freqmaps import stats
from freqmaps.baselines import agreement

SETTINGS = {  # name -> (nulls, k)
    "stats_nulls_and_k": (["random", "within_class"], [1, 5]),
    "baselines_defaults": (["random"], [1]),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=450)
    parser.add_argument("--levels", nargs="+", default=list(agreement.LEVELS))
    args = parser.parse_args()
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(args.images) % 10
    noise = torch.randn(args.images, 1, 28, 28, generator=generator)
    smooth = torch.nn.functional.avg_pool2d(noise, 3, 1, 1) * 2 + 0.2 + 0.05 * labels[:, None, None, None]
    learned = smooth.clamp(0, 1)
    baseline = (learned + 0.5 * torch.randn(learned.shape, generator=generator)).abs()
    runs = []
    for name, (nulls, k) in SETTINGS.items():
        settings = stats.StatsSettings(
            statistics=["cosine", "information_imbalance"], nulls=nulls, k=k, n_null=100, n_half_samples=100
        )
        for level in args.levels:
            start = time.perf_counter()
            rows, _ = agreement.compare_with_map(
                baseline, learned, labels, ("B", "E"), settings, [level], 0, torch.device("cpu")
            )
            seconds = time.perf_counter() - start
            delta = [r["value"] for r in rows if r["statistic"] == "information_imbalance" and r["k"] == 1]
            runs.append({"settings": name, "level": level, "seconds": seconds, "delta_k1": delta})
    support = float(agreement.support(learned).float().mean())
    print(bench_report("baseline_agreement", "cpu", runs, images=args.images, support_share=support))


if __name__ == "__main__":
    main()
