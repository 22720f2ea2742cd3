"""Per-channel normalisation statistics of a dataset: given in the config (``mean``/``std``), or measured on its
train split; a channel of one value everywhere is refused (its standard deviation 0 would be divided by)."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import numpy as np
import torch

from freqmaps.data.core import DatasetError, DatasetInfo, ImageSet, LazyImages

log = logging.getLogger(__name__)


def measured_statistics(
    images: torch.Tensor | LazyImages, batch: int = 1024
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std of images in [0, 1], accumulated in batches (float64) about each channel's first
    pixel, so that a channel of one value has std exactly 0 (and no cancellation blurs a small one)."""
    total = squares = shift = 0
    for start in range(0, len(images), batch):
        x = images[start : start + batch].double().div_(255).transpose(0, 1).flatten(1)
        if start == 0:
            shift = x[:, :1].clone()
        x -= shift
        total, squares = total + x.sum(1), squares + (x**2).sum(1)
    count = len(images) * int(np.prod(images.shape[2:]))
    offset = total / count
    std = (squares / count - offset**2).clamp(min=0).sqrt()
    mean = offset + (shift[:, 0] if isinstance(shift, torch.Tensor) else 0)
    return tuple(mean.tolist()), tuple(std.tolist())


def refuse_constant_channels(name: str, mean: tuple[float, ...], std: tuple[float, ...], what: str) -> None:
    """A channel of one value everywhere has standard deviation 0: normalising by it gives NaN (or infinite)
    inputs, a NaN training loss and a model that classifies nothing."""
    constant = [c for c, s in enumerate(std) if not s > 0]
    if constant:
        values = [round(mean[c] * 255) for c in constant]
        raise DatasetError(
            f"datasets.{name}: channel(s) {constant} of the {what} hold one value each ({values} of 255): standard "
            "deviation 0, which the model's normalisation would divide by; drop the constant channel, or give "
            f"datasets.{name}.mean and std"
        )


def with_train_statistics(subset: ImageSet, split: str, cfg: dict[str, Any]) -> ImageSet:
    """Given statistics, or (train split) those of the split itself."""
    if split == "train" and "mean" not in cfg:
        mean, std = measured_statistics(subset.images)
        refuse_constant_channels(subset.info.name, mean, std, "train images")
        subset.info = replace(subset.info, mean=mean, std=std)
        log.info("%s: normalisation statistics from the train split: mean %s, std %s", subset.info.name, mean, std)
    return subset


def given_statistics(info: DatasetInfo, cfg: dict[str, Any]) -> DatasetInfo:
    if "mean" not in cfg:
        return info
    mean, std = tuple(cfg["mean"]), tuple(cfg.get("std", ()))
    if len(mean) != info.channels or len(std) != info.channels:
        raise DatasetError(
            f"datasets.{info.name}.mean/std: need {info.channels} values each, got {list(mean)} and {list(std)}"
        )
    return replace(info, mean=mean, std=std)
