"""The maps stage: learn the essential or adversarial maps of one shard of the admitted images (workflow rules
`essential_maps_shard`, `adversarial_maps_shard`; docs/METHOD.md §2)."""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from freqmaps import maps
from freqmaps.classifier import analysed_images, load_frozen_classifier
from freqmaps.io import load_tensors, save_tensors
from freqmaps.outcomes import ATTACK_FAILED, KEPT, MISCLASSIFIED_CLEAN, ON_BOUNDARY
from freqmaps.runtime import peak_memory_mb, provenance, seed_everything
from freqmaps.stages.shards import parse_shard
from freqmaps.training import predict

log = logging.getLogger(__name__)


def _admitted(
    kind: str, dataset: str, data_cfg: dict[str, Any], weights_path, model, dev, attack_path: str | Path | None
):
    """Images, targets, true labels and ids the method admits, and the outcome of every configured image."""
    if kind == "essential":
        data, _ = analysed_images(dataset, data_cfg, weights_path)
        images, labels = data.floats(), data.labels
        correct = predict(model, images, dev) == labels
        selection = torch.where(correct, KEPT, MISCLASSIFIED_CLEAN)
        targets = labels
    elif kind == "adversarial":
        if attack_path is None:
            raise ValueError("adversarial maps need the attack file")
        tensors, _ = load_tensors(attack_path)
        images, labels, targets = tensors["adversarial"], tensors["labels"], tensors["adversarial_labels"]
        correct = tensors["clean_predictions"] == labels
        attacked = torch.where(tensors["on_boundary"], ON_BOUNDARY, ATTACK_FAILED)
        selection = torch.where(correct, torch.where(tensors["success"], KEPT, attacked), MISCLASSIFIED_CLEAN)
    else:
        raise ValueError(f"map kind must be 'essential' or 'adversarial', not {kind!r}")
    ids = (selection == KEPT).nonzero().squeeze(1)
    return images, targets, labels, ids, selection


MEASURED = ("lam", "max_steps", "min_steps", "objective", "parameterisation")  # settings that change the maps


def announce_map_settings(kind: str, map_cfg: dict[str, Any], settings: maps.MapSettings) -> None:
    """Log, before any work, the map settings that change what is measured, each marked given or default (the
    schema's default lam is the papers' CIFAR-10 value: a new dataset needs its own; run.csv records them)."""
    shown = ", ".join(
        f"{key} {getattr(settings, key)} ({'given' if key in map_cfg else 'default'})" for key in MEASURED
    )
    log.info("%s maps: settings that change what is measured: %s", kind, shown)


def learn_maps_shard(
    *,
    kind: str,
    dataset: str,
    data_cfg: dict[str, Any],
    weights_path: str | Path,
    map_cfg: dict[str, Any],
    shard: str,
    seed: int,
    device: str,
    out_path: str | Path,
    attack_path: str | Path | None = None,
) -> None:
    """Learn the per-image maps of one shard of the admitted images (docs/METHOD.md §2)."""
    settings = maps.MapSettings.from_config(map_cfg)
    announce_map_settings(kind, map_cfg, settings)
    index, total = parse_shard(shard)
    seed_everything(seed)
    classifier = load_frozen_classifier(dataset=dataset, data_cfg=data_cfg, weights_path=weights_path, device=device)
    model, dev, info = classifier.model, classifier.device, classifier.info
    images, targets, labels, ids, selection = _admitted(kind, dataset, data_cfg, weights_path, model, dev, attack_path)
    mine = ids.tensor_split(total)[index - 1]
    log.info(
        "%s maps, shard %d of %d: %d of %d admitted images (of %d configured)",
        kind,
        index,
        total,
        len(mine),
        len(ids),
        len(selection),
    )
    result = maps.learn_maps(model, images[mine], targets[mine], settings, dev, info.num_classes)
    tensors = {
        "maps": result.masks,  # shifted, as every maps file stores them
        "ids": mine,
        "targets": targets[mine],
        "labels": labels[mine],
        "steps": result.steps,
        "outcome": result.outcome,
        "final_loss": result.final_loss,
        "selection": selection,
    }
    meta = {
        "kind": kind,
        "shard": shard,
        "engine": result.stats,
        "peak_memory_mb": peak_memory_mb(dev),
        **provenance(dev, seed, asdict(settings)),
    }
    save_tensors(out_path, tensors, meta)
    log.info("%s shard %s: %s", kind, shard, result.stats)
