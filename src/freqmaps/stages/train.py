"""The training stage: prepare one classifier as its training mode says and save it (workflow rule `train`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from freqmaps.data import dataset_info, load_dataset
from freqmaps.models import ModelSpec, architecture_name, model_input_spec
from freqmaps.runtime import resolve_device, seed_everything
from freqmaps.training import TRAINING_MODES, TrainSettings, save_classifier, train_classifier


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
    size = model_input_spec(spec, dataset_info(dataset, data_cfg)).size  # images at the model's resolution
    test_set = load_dataset(dataset, "test", data_cfg, size)
    trains = TRAINING_MODES[settings.mode].trainable is not None
    train_set = load_dataset(dataset, "train", data_cfg, size) if trains else test_set
    model, metrics = train_classifier(train_set, test_set, settings, dev, generator, spec)
    save_classifier(
        model, weights_path, info=test_set.info, settings=settings, metrics=metrics, device=dev, seed=seed, spec=spec
    )
