"""Contrasts and the alignment map (issue 31): seconds of one contrast per statistic and view, and of one
alignment map, at the default run's size (N image pairs of 1x28x28 maps, band views of 32 bands; config.yaml's
draws: 100 swaps, 200 bootstrap draws, 100 random halves, k = 1 and 5; 999 re-pairings for the alignment map).
Cell a's A maps are a noisy copy of E, cell b's unrelated. Prints one JSON object.

    OMP_WAIT_POLICY=PASSIVE python bench/contrasts_alignment.py [--images 450] [--threads 1]
"""

from __future__ import annotations

import argparse
import time

import torch
from measure import bench_report

from freqmaps import stats
from freqmaps.alignment import alignment_map
from freqmaps.contrasts import contrast_rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=450)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--statistics", nargs="+", default=list(stats.STATISTICS))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    generator = torch.Generator().manual_seed(0)
    n = args.images
    runs = []
    for view, features in (("maps", 784), ("bands", 32)):
        E = torch.rand(n, features, generator=generator)
        A_a = E + torch.rand(n, features, generator=generator)
        A_b = torch.rand(n, features, generator=generator)
        for name in args.statistics:
            settings = stats.StatsSettings(statistics=[name], k=[1, 5], n_null=100, n_bootstrap=200, n_half_samples=100)
            start = time.perf_counter()
            contrast_rows(E, A_a, E, A_b, settings, 0)
            runs.append({"stage": "contrast", "view": view, "statistic": name, "seconds": time.perf_counter() - start})
    maps_e = torch.rand(n, 1, 28, 28, generator=generator)
    maps_a = torch.rand(n, 1, 28, 28, generator=generator)
    start = time.perf_counter()
    alignment_map(maps_e, maps_a, torch.arange(n) % 10, 999, 0)
    runs.append({"stage": "alignment_map", "view": "maps", "seconds": time.perf_counter() - start})
    print(bench_report("contrasts_alignment", "cpu", runs, images=n, threads=args.threads))


if __name__ == "__main__":
    main()
