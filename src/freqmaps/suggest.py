"""Starting values for a new dataset and model: an attack budget ``eps`` from the model's own minimal
perturbations, and the sparsity weight ``maps.lam`` from a short sweep (``python -m freqmaps.suggest CONFIG``,
after the model is trained: ``snakemake train_all``).

``eps``: DeepFool (L2, :class:`freqmaps.attacks.deepfool.BatchedDeepFool`) finds for each of a few correctly
classified test images a small perturbation that flips it. The minimal perturbation of an image in any norm
is at most the norm of this one, so at ``eps`` = the median of their norms a perturbation within the budget
exists for at least half of the images: a budget where an attack in that norm can succeed, not one where
every image falls. The L-inf figure is the median L-inf norm of the same (L2-minimal) perturbations.

``lam``: essential maps of the same images at each λ of :data:`LAMBDAS`, with a short optimisation; a larger
λ gives sparser maps and drops more images (their masked image loses the label). The suggestion is the
largest λ whose maps are still kept for at least :data:`MIN_KEPT` of the images: the sparsest maps that
still describe most images. Both are starting points, printed with what they rest on.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

LAMBDAS = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5)
MIN_KEPT = 0.8  # share of images whose essential map must still be kept at the suggested λ
SUPPORT = 0.5  # a map entry counts as kept at or above this value (as the baselines' matched level)


def minimal_perturbations(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """L2 and L-inf norms ``[N]`` of DeepFool's minimal L2 perturbation of each image (``images`` ``[N, C, H, W]``
    in [0, 1] on the model's device, ``labels`` ``[N]``); NaN where DeepFool did not flip the image."""
    from freqmaps.attacks.deepfool import BatchedDeepFool

    adversarial = BatchedDeepFool(model, steps=50, overshoot=0.02)(images, labels)
    with torch.no_grad():
        flipped = model(adversarial).argmax(1) != labels
    delta = (adversarial - images).flatten(1).double()
    nan = torch.tensor(math.nan, dtype=torch.float64, device=delta.device)
    return torch.where(flipped, delta.norm(dim=1), nan).cpu(), torch.where(flipped, delta.abs().amax(1), nan).cpu()


def lam_sweep(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    num_classes: int,
    device: torch.device,
    lambdas: tuple[float, ...] = LAMBDAS,
    max_steps: int = 150,
) -> list[dict[str, float]]:
    """Per λ: the share of images whose essential map is kept, the mean share of a kept map's entries at or
    above :data:`SUPPORT` (its support), and the share that stopped at ``max_steps``."""
    from freqmaps.maps import MapSettings, learn_maps
    from freqmaps.outcomes import stopped_at_max_steps

    rows = []
    for lam in lambdas:
        settings = MapSettings(lam=lam, min_steps=min(50, max_steps), max_steps=max_steps, batch_size=len(images))
        result = learn_maps(model, images, labels, settings, device, num_classes, progress=False)
        kept = result.kept
        support = (result.masks[kept] >= SUPPORT).flatten(1).double().mean(1)
        rows.append(
            {
                "lam": lam,
                "kept": float(kept.double().mean()),
                "support": float(support.mean()) if kept.any() else math.nan,
                "at_max_steps": float(stopped_at_max_steps(result.steps, max_steps).double().mean()),
            }
        )
    return rows


def suggested_lam(rows: list[dict[str, float]], min_kept: float = MIN_KEPT) -> float:
    """The largest λ of a sweep whose maps are kept for at least ``min_kept`` of the images (the smallest λ
    swept when none is)."""
    enough = [row["lam"] for row in rows if row["kept"] >= min_kept]
    return max(enough) if enough else min(row["lam"] for row in rows)


def suggest(
    *,
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    num_classes: int,
    device: torch.device,
    lambdas: tuple[float, ...] = LAMBDAS,
    max_steps: int = 150,
) -> dict[str, Any]:
    """The suggested ``eps`` (L2 and L-inf) and ``lam`` for a frozen classifier and a few correctly classified
    images, with the measurements behind them (module doc)."""
    images, labels = images.to(device), labels.to(device)
    l2, linf = minimal_perturbations(model, images, labels)
    flipped = torch.isfinite(l2)
    sweep = lam_sweep(model, images, labels, num_classes, device, lambdas, max_steps)
    return {
        "n_images": len(images),
        "n_flipped": int(flipped.sum()),
        "eps_l2": float(l2[flipped].median()) if flipped.any() else math.nan,
        "eps_linf": float(linf[flipped].median()) if flipped.any() else math.nan,
        "deepfool_l2": l2.tolist(),
        "deepfool_linf": linf.tolist(),
        "sweep": sweep,
        "lam": suggested_lam(sweep),
    }


def report(found: dict[str, Any], where: str) -> str:
    """The suggestion in words, with a config snippet."""
    lines = [
        f"# freqmaps suggest: {where}, {found['n_images']} correctly classified test images",
        f"# DeepFool flipped {found['n_flipped']} of them; median minimal perturbation: L2 "
        f"{found['eps_l2']:.4g}, L-inf {found['eps_linf']:.4g} (pixel units, images in [0, 1]).",
        "# At eps = the median, a perturbation within the budget exists for at least half of the images.",
        "# lam sweep (essential maps): lam, share kept, mean support of a kept map, share at max_steps",
    ]
    for row in found["sweep"]:
        lines.append(
            f"#   {row['lam']:<6g} kept {row['kept']:.2f}  support {row['support']:.2f}  "
            f"at max_steps {row['at_max_steps']:.2f}"
        )
    lines += [
        f"# lam: the largest with at least {MIN_KEPT:.0%} of the maps kept.",
        "attacks:",
        "  pgd:   # L-inf",
        f"    params: {{eps: {found['eps_linf']:.3g}, alpha: {found['eps_linf'] / 4:.3g}, steps: 10}}",
        "  pgd_l2:",
        "    method: PGDL2",
        f"    params: {{eps: {found['eps_l2']:.3g}, alpha: {found['eps_l2'] / 4:.3g}, steps: 10}}",
        "maps:",
        f"  lam: {found['lam']:g}",
    ]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """``python -m freqmaps.suggest CONFIG [--dataset D] [--model M] [--seed S] [--images N] [--json PATH]``:
    suggestions for a trained model of the experiment (default: its first dataset, model and seed); ``--json``
    also writes the measurements and their wall and CPU time."""
    from freqmaps.classifier import analysed_images, load_frozen_classifier
    from freqmaps.config import experiment_name, read_config
    from freqmaps.training import predict

    parser = argparse.ArgumentParser(prog="python -m freqmaps.suggest", description=__doc__.split("\n\n")[0])
    parser.add_argument("config", nargs="?", default="config.yaml")
    parser.add_argument("--dataset")
    parser.add_argument("--model")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--images", type=int, default=16, help="correctly classified test images to measure on")
    parser.add_argument("--max-steps", type=int, default=150, help="map optimisation steps in the lam sweep")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (one suits a small model best)")
    parser.add_argument("--json", type=Path, help="also write the measurements and the time they took here")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    config = read_config(args.config)
    dataset = args.dataset or next(iter(config["datasets"]))
    model_name = args.model or next(iter(config["models"]))
    seed = config["seeds"][0] if args.seed is None else args.seed
    experiment = experiment_name(config, [] if args.config == "config.yaml" else [args.config])
    weights = Path("results") / experiment / dataset / model_name / f"seed{seed}" / "model.safetensors"
    if not weights.is_file():
        print(f"{weights}: no trained model; train it first: snakemake train_all", file=sys.stderr)
        return 1
    data_cfg = config["datasets"][dataset]
    classifier = load_frozen_classifier(
        dataset=dataset, data_cfg=data_cfg, weights_path=weights, device=config.get("device", "auto")
    )
    test, _ = analysed_images(dataset, data_cfg, weights)  # at the model's resolution
    images = test.floats()
    correct = (predict(classifier.model, images, classifier.device) == test.labels).nonzero().squeeze(1)
    chosen = correct[: args.images]
    wall, cpu = time.perf_counter(), time.process_time()
    found = suggest(
        model=classifier.model,
        images=images[chosen],
        labels=test.labels[chosen],
        num_classes=classifier.info.num_classes,
        device=classifier.device,
        max_steps=args.max_steps,
    )
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    where = f"{dataset} / {model_name} / seed {seed}"
    print(report(found, where))
    if args.json:  # the guide's timing (freqmaps.docs_numbers): what ran, on how many threads, how long
        record = {"where": where, "threads": args.threads, "max_steps": args.max_steps, **found}
        args.json.write_text(json.dumps(record | {"wall_s": round(wall, 1), "cpu_s": round(cpu, 1)}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
