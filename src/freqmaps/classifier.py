"""A trained classifier ready to be explained: frozen, on the configured device, with its dataset's info."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from freqmaps.data.core import DatasetInfo, ImageSet
from freqmaps.data.registry import dataset_info
from freqmaps.data.selection import select_test_images
from freqmaps.models.wrappers import freeze
from freqmaps.runtime import resolve_device
from freqmaps.training import classifier_input_spec, load_classifier


@dataclass(frozen=True)
class FrozenClassifier:
    """A classifier in eval mode without parameter gradients, the device it lives on and its dataset's info."""

    model: nn.Module
    info: DatasetInfo
    device: torch.device


def load_frozen_classifier(
    *, dataset: str, data_cfg: dict[str, Any], weights_path: str | Path, device: str
) -> FrozenClassifier:
    """Load the weights of a classifier of the configured ``dataset`` onto ``device`` (auto|cpu|cuda), frozen."""
    dev = resolve_device(device)
    info = dataset_info(dataset, data_cfg)
    return FrozenClassifier(freeze(load_classifier(weights_path, info, dev)), info, dev)


def analysed_images(dataset: str, data_cfg: dict[str, Any], weights_path: str | Path) -> tuple[ImageSet, torch.Tensor]:
    """The configured test images (and their ids in the test split) at the resolution of the classifier saved at
    ``weights_path``, so that attacks and masks act on exactly the image the model sees."""
    size = classifier_input_spec(weights_path, dataset_info(dataset, data_cfg)).size
    return select_test_images(dataset, data_cfg, size)
