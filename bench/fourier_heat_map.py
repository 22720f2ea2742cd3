"""Fourier heat map: batched over frequencies and images against the per-frequency loop, same model, images
and signs (ResNet-20 on 3x32x32 inputs by default). Both give the same map; the JSON says how long each took
and whether they agree. Prints one JSON object.

    python bench/fourier_heat_map.py [--device cpu|cuda] [--images 16] [--batch-sizes 256 1024 4096]
        [--arch resnet20]
"""

from __future__ import annotations

import argparse
import time

import torch
from measure import bench_report, synchronize

from freqmaps.baselines import measures
from freqmaps.data import CIFAR10
from freqmaps.models import build_model, freeze
from freqmaps.runtime import resolve_device


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--arch", default="resnet20")
    parser.add_argument("--images", type=int, default=16)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[256, 1024])
    args = parser.parse_args()
    device = resolve_device(args.device)
    torch.manual_seed(0)
    model = freeze(build_model(args.arch, CIFAR10).to(device))
    images = torch.rand(args.images, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    labels = torch.randint(0, 10, (args.images,), generator=torch.Generator().manual_seed(2))
    n_frequencies = len(measures.half_spectrum_entries(32, 32))
    settings = measures.HeatMapSettings(norm=4.0, n_images=args.images)
    measures.fourier_heat_map(model, images[:2], labels[:2], settings, device)  # warm-up
    synchronize(device)
    start = time.perf_counter()
    reference = measures.fourier_heat_map_loop(model, images, labels, settings, device)
    synchronize(device)
    loop = time.perf_counter() - start
    runs = []
    for batch_size in args.batch_sizes:
        settings = measures.HeatMapSettings(norm=4.0, n_images=args.images, batch_size=batch_size)
        synchronize(device)
        start = time.perf_counter()
        batched = measures.fourier_heat_map(model, images, labels, settings, device)
        synchronize(device)
        seconds = time.perf_counter() - start
        run = {
            "batch_size": batch_size,
            "batched_seconds": seconds,
            "perturbed_images_per_s": n_frequencies * args.images / seconds,
            "speedup_over_loop": loop / seconds,
        }
        run["error_rate_equal"] = bool(torch.equal(batched["error_rate"], reference["error_rate"]))
        run["loss_change_max_abs_difference"] = float((batched["loss_change"] - reference["loss_change"]).abs().max())
        runs.append(run)
    print(
        bench_report(
            "fourier_heat_map",
            device,
            runs,
            arch=args.arch,
            images=args.images,
            frequencies=n_frequencies,
            loop_seconds=loop,
        )
    )


if __name__ == "__main__":
    main()
