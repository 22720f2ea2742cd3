"""SVHN: MATLAB files (train_32x32.mat, test_32x32.mat), optionally downloaded by torchvision first; the digit 0,
stored as label 10, becomes label 0."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

from freqmaps.data.core import DatasetError, DatasetInfo, ImageSet, configured_root

log = logging.getLogger(__name__)


def _svhn_file(cfg: dict[str, Any], split: str, download: bool = False) -> Path:
    root = configured_root("svhn", cfg)
    path = root / f"{split}_32x32.mat"
    if download and not path.is_file():
        import torchvision

        log.info("downloading svhn into %s", root)
        torchvision.datasets.SVHN(str(root), split=split, download=True)
    if not path.is_file():
        raise DatasetError(
            f"datasets.svhn.root: {path.name} not found in {root}; point `root` at it, or set `download: true`"
        )
    return path


def _read_svhn(path: Path) -> tuple[np.ndarray, np.ndarray]:
    from scipy.io import loadmat

    try:
        mat = loadmat(path, variable_names=["X", "y"])
    except (ValueError, TypeError, OSError, NotImplementedError) as err:
        raise DatasetError(f"{path}: not a MATLAB file of SVHN images ({err})") from err
    if "X" not in mat or "y" not in mat:
        raise DatasetError(
            f"{path}: expected variables X and y, found {sorted(k for k in mat if not k.startswith('__'))}"
        )
    images, labels = mat["X"], mat["y"].reshape(-1)
    if (
        images.dtype != np.uint8
        or images.ndim != 4
        or images.shape[:3] != (32, 32, 3)
        or len(labels) != images.shape[3]
    ):
        raise DatasetError(f"{path}: expected uint8 X [32, 32, 3, N] and N labels, found {images.dtype} {images.shape}")
    labels = labels.astype(np.int64)
    labels[labels == 10] = 0  # SVHN stores the digit 0 as label 10
    return np.ascontiguousarray(images.transpose(3, 2, 0, 1)), labels


def check(name: str, source: str, cfg: dict[str, Any]) -> None:
    if not cfg.get("download"):
        for split in ("train", "test"):
            _svhn_file(cfg, split)


def load(info: DatasetInfo, source: str, split: str, cfg: dict[str, Any]) -> ImageSet:
    images, labels = _read_svhn(_svhn_file(cfg, split, cfg.get("download", False)))
    return ImageSet(torch.from_numpy(images), torch.from_numpy(labels), info)
