"""The training stage: prepare one classifier as its training mode says and save it (workflow rule `train`)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from freqmaps.data.registry import dataset_info, dataset_source, load_dataset
from freqmaps.data.selection import test_selection
from freqmaps.models.registry import model_input_spec
from freqmaps.models.spec import ModelSpec, architecture_name
from freqmaps.runtime import resolve_device, seed_everything
from freqmaps.training import TRAINING_MODES, TrainSettings, flip_warning, save_classifier, train_classifier

log = logging.getLogger(__name__)


def announce_defaults(dataset: str, data_cfg: dict[str, Any], train_cfg: dict[str, Any], augmentation: str) -> None:
    """Log, before any work, the settings of this model that change what is measured and whether each was
    given or is a default (run.csv records the values); warn when an image folder flips by default."""
    given_augmentation = "augmentation" in data_cfg or train_cfg.get("base_augmentation") is not None
    selection = test_selection(dataset, data_cfg)
    log.info(
        "settings that change what is measured: training augmentation %s (%s), test-image selection %s (%s)",
        augmentation,
        "given" if given_augmentation else f"default of {dataset_source(dataset, data_cfg)}",
        selection,
        "given" if "selection" in data_cfg else "default",
    )
    warning = flip_warning(dataset, dataset_source(dataset, data_cfg), data_cfg, train_cfg, augmentation)
    if warning:
        log.warning("%s", warning)


def train(
    *,
    dataset: str,
    data_cfg: dict[str, Any],
    model_cfg: dict[str, Any],
    seed: int,
    device: str,
    weights_path: str | Path,
) -> None:
    """Prepare one classifier as its training mode says (train it, its head, or nothing) and save it with its
    metrics, source, weights hash and input."""
    settings = TrainSettings(arch=architecture_name(model_cfg), **model_cfg.get("train", {}))
    spec = ModelSpec.from_config(model_cfg)
    generator = seed_everything(seed)
    dev = resolve_device(device)
    info = dataset_info(dataset, data_cfg)
    announce_defaults(dataset, data_cfg, model_cfg.get("train", {}), settings.base_augmentation or info.augmentation)
    size = model_input_spec(spec, info).size  # images at the model's resolution
    test_set = load_dataset(dataset, "test", data_cfg, size)
    trains = TRAINING_MODES[settings.mode].trainable is not None
    train_set = load_dataset(dataset, "train", data_cfg, size) if trains else test_set
    model, metrics = train_classifier(train_set, test_set, settings, dev, generator, spec)
    save_classifier(
        model, weights_path, info=test_set.info, settings=settings, metrics=metrics, device=dev, seed=seed, spec=spec
    )
