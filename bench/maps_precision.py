"""Mixed precision in the map engine: how far bf16 / fp16 autocast maps are from fp32 maps.

Same setting for every precision: a small CNN trained for one epoch on 6000 Fashion-MNIST images
(the Debian dataset must be installed), the same test images and targets (the model's predictions),
the engine with each precision. Prints JSON: max / mean absolute mask difference against fp32, how many kept
decisions and step counts differ, and the time of each run.

    python bench/maps_precision.py [--device cpu|cuda] [--images 64] [--max-steps 150]
"""

from __future__ import annotations

import argparse
import time

import torch
from measure import bench_report

from freqmaps.data import head, load_split
from freqmaps.maps import MapSettings, learn_maps
from freqmaps.models import freeze
from freqmaps.runtime import seed_everything
from freqmaps.training import TrainSettings, train_classifier


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--max-steps", type=int, default=150)
    args = parser.parse_args()
    device = torch.device(args.device)
    generator = seed_everything(0)
    train = load_split("fashion_mnist", "train")
    test = head(load_split("fashion_mnist", "test"), args.images)
    model, metrics = train_classifier(
        train, test, TrainSettings(epochs=1, n_train=6000, base_augmentation="none"), device, generator
    )
    model = freeze(model)
    images = test.floats().to(device)
    targets = model(images).argmax(1)
    runs, reference = [], None
    for precision in ("fp32", "bf16", "fp16"):
        settings = MapSettings(lam=0.05, min_steps=50, max_steps=args.max_steps, precision=precision, batch_size=64)
        start = time.perf_counter()
        try:
            result = learn_maps(model, images, targets, settings, device, 10, progress=False)
        except RuntimeError as err:  # e.g. fp16 autocast unsupported for an op on this device
            runs.append({"precision": precision, "error": str(err)[:200]})
            continue
        seconds = time.perf_counter() - start
        run = {"precision": precision, "seconds": seconds, "kept": int(result.kept.sum())}
        if reference is None:
            reference = result
        else:
            difference = (result.masks - reference.masks).abs()
            run.update(
                {
                    "max_abs_difference": difference.max().item(),
                    "mean_abs_difference": difference.mean().item(),
                    "kept_decisions_differing": int((result.kept != reference.kept).sum()),
                    "step_counts_differing": int((result.steps != reference.steps).sum()),
                }
            )
        runs.append(run)
    print(bench_report("maps_precision", device, runs, images=args.images, test_accuracy=metrics["test_accuracy"]))


if __name__ == "__main__":
    main()
