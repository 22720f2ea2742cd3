"""What every dataset concern shares: a split as tensors (:class:`~freqmaps.data.ImageSet`: uint8 images
[N, C, H, W], in memory or read on indexing, and int64 labels [N]), what a model needs to know about its dataset
(:class:`~freqmaps.data.DatasetInfo`), the errors and warnings about data, the configured root folder, and the
in-memory limit."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

log = logging.getLogger(__name__)

DEBIAN_FASHION_MNIST = "/usr/share/datasets/fashion-mnist"
IN_MEMORY_LIMIT_BYTES = 4 * 2**30  # folder and tensor-file splits larger than this are read in batches


class DatasetError(RuntimeError):
    """The data cannot be found or read; the message names the file or key and says how to fix it."""


@dataclass(frozen=True)
class DatasetInfo:
    """What a model needs to know about a dataset.

    ``mean``/``std`` are the per-channel statistics the model normalises with. Datasets whose statistics
    come from their train split (folders and tensor files without given ``mean``/``std``) carry the
    identity (0, 1) until that split is loaded; a trained model stores its own statistics in its weights.
    ``augmentation`` is the dataset's default training augmentation (a key of :data:`AUGMENTATIONS`).
    """

    name: str
    num_classes: int
    channels: int
    size: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    class_names: tuple[str, ...]
    augmentation: str = "crop_flip"


class LazyImages:
    """uint8 images [N, C, S, S] read from disk on indexing, for splits too large to hold in memory."""

    def __init__(self, count: int, shape: tuple[int, int, int], read: Callable[[list[int]], torch.Tensor]) -> None:
        self.count, self.image_shape, self._read = count, shape, read

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.count, *self.image_shape)

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: torch.Tensor | slice | int) -> torch.Tensor:
        ids = torch.arange(self.count)[index].reshape(-1).tolist()
        if not ids:
            return torch.empty(0, *self.image_shape, dtype=torch.uint8)
        return self._read(ids)


@dataclass
class ImageSet:
    """A split: uint8 images [N, C, H, W] (in memory, or :class:`LazyImages`) and int64 labels [N]."""

    images: torch.Tensor | LazyImages
    labels: torch.Tensor
    info: DatasetInfo

    def __len__(self) -> int:
        return len(self.labels)

    def floats(self, index: torch.Tensor | slice | None = None, device: torch.device | str = "cpu") -> torch.Tensor:
        """Images as float32 in [0, 1] (all, or the rows selected by ``index``)."""
        images = self.images[slice(None) if index is None else index]
        return images.to(device).float().div_(255)

    def subset(self, ids: torch.Tensor) -> ImageSet:
        """The images ``ids`` (held in memory)."""
        return ImageSet(self.images[ids], self.labels[ids], self.info)


class DataWarning(UserWarning):
    """Data that are read, but perhaps not as the user meant (the check before any job reports these)."""


def configured_root(name: str, cfg: dict[str, Any]) -> Path:
    """The configured root, or the default: Debian's folder for Fashion-MNIST, ./data otherwise."""
    return Path(cfg.get("root") or (DEBIAN_FASHION_MNIST if name == "fashion_mnist" else "data"))


def in_memory_or_lazy(
    count: int, shape: tuple[int, int, int], read: Callable[[list[int]], torch.Tensor]
) -> torch.Tensor | LazyImages:
    """All images in memory when they fit IN_MEMORY_LIMIT_BYTES, else read in batches on indexing."""
    if count * int(np.prod(shape)) <= IN_MEMORY_LIMIT_BYTES:
        return read(list(range(count))) if count else torch.empty(0, *shape, dtype=torch.uint8)
    log.info("%d images of %s exceed the in-memory limit: reading them in batches", count, shape)
    return LazyImages(count, shape, read)
