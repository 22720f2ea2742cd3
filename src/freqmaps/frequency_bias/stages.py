"""The study's stages per (variant model, seed): a dataset-level mask, single-image maps, class-level maps.

Each writes its tensors and a JSON sidecar (the paths are passed, not derived); the Snakemake scripts call
exactly one of these, with keywords.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from freqmaps import maps
from freqmaps.classifier import load_frozen_classifier
from freqmaps.config import defaults_at
from freqmaps.data.registry import load_dataset
from freqmaps.data.selection import head, select_test_images
from freqmaps.fourier import apply_mask, full_spectrum, shifted
from freqmaps.io import load_tensors, save_tensors, write_json
from freqmaps.outcomes import KEPT
from freqmaps.runtime import provenance, seed_everything
from freqmaps.shared_masks import (
    ClassMapSettings,
    DatasetMaskSettings,
    FilteredImages,
    class_level_maps,
    dataset_level_mask,
)
from freqmaps.training import accuracy, predict

GALLERY = 6  # images in the masked / complement gallery


def _full_shifted(mask: torch.Tensor, parameterisation: str, width: int) -> torch.Tensor:
    return shifted(full_spectrum(mask, parameterisation, width))


def dataset_mask(
    *,
    dataset: str,
    data_cfg: dict[str, Any],
    weights_path: str | Path,
    mask_cfg: dict[str, Any],
    seed: int,
    device: str,
    mask_path: str | Path,
    sidecar_path: str | Path,
) -> None:
    """One invariance-loss mask for the whole dataset; accuracy unmasked, masked, and under its complement."""
    cfg = dict(mask_cfg)
    n_train = cfg.pop("n_train_images", None)
    settings = DatasetMaskSettings(**cfg)
    generator = seed_everything(seed)
    classifier = load_frozen_classifier(dataset=dataset, data_cfg=data_cfg, weights_path=weights_path, device=device)
    model, dev = classifier.model, classifier.device
    test, _ = select_test_images(dataset, data_cfg)  # the images the main experiment analyses
    train = head(load_dataset(dataset, "train", data_cfg), n_train)
    result = dataset_level_mask(model, train, test, settings, dev, generator)
    mask = result["mask"][None].to(dev)
    complement = 1.0 - (mask > settings.zero).float()  # [P1]: 1 - 1[M > 1e-8]
    gallery = test.floats()[:GALLERY].to(dev)
    tensors = {
        "mask": result["mask"].cpu(),
        "shifted": _full_shifted(result["mask"], settings.parameterisation, test.images.shape[-1]).cpu(),
        "gallery": gallery.cpu(),
        "gallery_masked": apply_mask(gallery, mask, settings.parameterisation).cpu(),  # not clamped: the
        "gallery_complement": apply_mask(gallery, complement, settings.parameterisation).cpu(),  # filter's output
    }
    record = {
        "unmasked_accuracy": result["unmasked_accuracy"],
        "masked_accuracy": result["masked_accuracy"],
        "complement_accuracy": accuracy(model, FilteredImages.of(test, complement, settings.parameterisation), dev),
        "density": (result["mask"] > settings.zero).double().mean().item(),
        "saved_epoch": result["saved_epoch"],
        "accuracy_rule_met": result["saved_epoch"] is not None,  # else the mask is the last epoch's
        "epochs_run": len(result["history"]),
        "history": result["history"],
        **provenance(dev, seed, {**asdict(settings), "n_train_images": n_train}),
    }
    save_tensors(mask_path, tensors, {"seed": seed})
    write_json(sidecar_path, record)


def image_maps(
    *,
    dataset: str,
    data_cfg: dict[str, Any],
    weights_path: str | Path,
    map_cfg: dict[str, Any],
    seed: int,
    device: str,
    maps_path: str | Path,
    sidecar_path: str | Path,
) -> None:
    """[P1] single-image maps (invariance loss, the model's own prediction as target) of the first test images."""
    cfg = {**defaults_at("frequency_bias", "image_maps"), **map_cfg}  # [P1]: invariance loss, shared mask
    n_images = cfg.pop("n_images", None)
    settings = maps.MapSettings(**cfg)
    seed_everything(seed)
    classifier = load_frozen_classifier(dataset=dataset, data_cfg=data_cfg, weights_path=weights_path, device=device)
    model, dev = classifier.model, classifier.device
    test = head(select_test_images(dataset, data_cfg)[0], n_images)
    images = test.floats()
    targets = predict(model, images, dev)
    result = maps.learn_maps(model, images, targets, settings, dev, test.info.num_classes)
    tensors = {
        "maps": result.masks.cpu(),  # full spectrum, shifted
        "labels": test.labels,
        "targets": targets,
        "steps": result.steps,
        "outcome": result.outcome,
    }
    record = {"kept": int((result.outcome == KEPT).sum()), "n_images": len(test), "engine": result.stats}
    save_tensors(maps_path, tensors, {"seed": seed})
    write_json(sidecar_path, {**record, **provenance(dev, seed, asdict(settings))})


def class_maps(
    *,
    dataset: str,
    data_cfg: dict[str, Any],
    weights_path: str | Path,
    attack_path: str | Path,
    class_cfg: dict[str, Any],
    seed: int,
    device: str,
    maps_path: str | Path,
    sidecar_path: str | Path,
) -> None:
    """[P2] class-level maps from one attack's images, and how many attacks they undo."""
    settings = ClassMapSettings(**class_cfg)
    seed_everything(seed)
    classifier = load_frozen_classifier(dataset=dataset, data_cfg=data_cfg, weights_path=weights_path, device=device)
    attack, _ = load_tensors(attack_path)  # the images come from the attack file
    result = class_level_maps(
        model=classifier.model,
        attack=attack,
        num_classes=classifier.info.num_classes,
        settings=settings,
        device=classifier.device,
    )
    width = attack["clean"].shape[-1]
    tensors = {
        "maps": _full_shifted(result["masks"], settings.parameterisation, width).cpu(),
        "iterations": result["iterations"],
        "n_adversarial": result["n_adversarial"],
        "n_clean": result["n_clean"],
    }
    keys = ("attacks_reverted", "clean_accuracy_kept", "n_attacked", "n_correct")
    record = {key: result[key] for key in keys}
    save_tensors(maps_path, tensors, {"seed": seed})
    write_json(sidecar_path, {**record, **provenance(classifier.device, seed, asdict(settings))})
