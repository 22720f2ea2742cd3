"""Training throughput: the project's training loop on CIFAR-size inputs, standard and adversarial (PGD) batches.

Random uint8 images (throughput does not depend on the pixels), one epoch through ``train_classifier``
(augmentation, SGD, the per-epoch test pass excluded from the rate). FLOPs of one training image step
(forward + backward, counted by torch's FlopCounterMode; a PGD batch adds its attack steps' forward +
input-gradient passes) set against the device's measured fp32 matrix-multiply rate. Prints JSON.

    python bench/train_throughput.py [--device cpu|cuda] [--arch resnet20] [--images 2048] [--batch-size 128]
        [--variants standard adversarial]
"""

from __future__ import annotations

import argparse
import json
import time

import torch
from measure import bench_report, matmul_rate, synchronize
from torch.utils.flop_counter import FlopCounterMode

from freqmaps.data import CIFAR10, ImageSet
from freqmaps.models import build_model, freeze
from freqmaps.training import TrainSettings, train_classifier


def flops_per_train_image(arch: str, device: torch.device, batch: int = 8) -> tuple[float, float]:
    """(forward + backward of the weights, forward + backward to the input) FLOPs per image."""
    model = build_model(arch, CIFAR10).to(device)
    x = torch.rand(batch, 3, 32, 32, device=device)
    y = torch.zeros(batch, dtype=torch.long, device=device)
    with FlopCounterMode(display=False) as counter:
        torch.nn.functional.cross_entropy(model(x), y).backward()
    weights = counter.get_total_flops() / batch
    freeze(model)  # an attack step differentiates with respect to the input only
    x.requires_grad_(True)
    with FlopCounterMode(display=False) as counter:
        torch.nn.functional.cross_entropy(model(x), y).backward()
    return weights, counter.get_total_flops() / batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--arch", default="resnet20")
    parser.add_argument("--images", type=int, default=2048)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--variants", nargs="+", choices=["standard", "adversarial"], default=["standard"])
    args = parser.parse_args()
    device = torch.device(args.device)
    peak = matmul_rate(device)
    g = torch.Generator().manual_seed(0)
    train = ImageSet(
        torch.randint(0, 256, (args.images, 3, 32, 32), dtype=torch.uint8, generator=g),
        torch.randint(0, 10, (args.images,), generator=g),
        CIFAR10,
    )
    test = ImageSet(train.images[:1], train.labels[:1], CIFAR10)
    weights_flops, input_flops = flops_per_train_image(args.arch, device)
    runs = []
    for variant in args.variants:
        settings = TrainSettings(arch=args.arch, variant=variant, epochs=1, batch_size=args.batch_size)
        warm = TrainSettings(**{**settings.__dict__, "n_train": args.batch_size})
        train_classifier(train, test, warm, device, torch.Generator().manual_seed(0))  # warm-up
        synchronize(device)
        start = time.perf_counter()
        _, metrics = train_classifier(train, test, settings, device, torch.Generator().manual_seed(0))
        synchronize(device)
        seconds = time.perf_counter() - start
        attack_passes = settings.adv_steps if variant == "adversarial" else 0
        flops = weights_flops + attack_passes * input_flops
        rate = args.images / seconds
        run = {
            "variant": variant,
            "arch": args.arch,
            "images": args.images,
            "batch_size": args.batch_size,
            "seconds": seconds,
            "images_per_s": rate,
            "flops_per_image": flops,
            "gflops": rate * flops / 1e9,
            "fraction_of_matmul_peak": rate * flops / peak,
            "peak_memory_mb": metrics["peak_memory_mb"],
        }
        runs.append(run)
        print(json.dumps(run), flush=True)
    print(bench_report("train_throughput", device, runs, matmul_fp32_gflops=peak / 1e9))


if __name__ == "__main__":
    main()
