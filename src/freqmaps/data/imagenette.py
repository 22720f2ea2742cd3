"""Imagenette: a folder of ImageNet images named by WordNet ids (the official archives' layout), read as an
image folder with a chosen subset of its classes."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

from freqmaps.data.core import DatasetError, DatasetInfo, ImageSet, configured_root, in_memory_or_lazy
from freqmaps.data.folders import list_image_folder, read_files

log = logging.getLogger(__name__)


IMAGENETTE_CLASSES = {
    "n01440764": "tench",
    "n02102040": "English springer",
    "n02979186": "cassette player",
    "n03000684": "chain saw",
    "n03028079": "church",
    "n03394916": "French horn",
    "n03417042": "garbage truck",
    "n03425413": "gas pump",
    "n03445777": "golf ball",
    "n03888605": "parachute",
}
IMAGENETTE_DEFAULTS = {"classes": list(IMAGENETTE_CLASSES)[:5], "size": 128, "grayscale": True}  # [P1]
_IMAGENETTE_SPLITS = {"train": "train", "test": "val"}


def _imagenette_folder(cfg: dict[str, Any], download: bool = False) -> Path:
    """The folder holding train/ and val/: the root itself or one of the official archives' folders."""
    root = configured_root("imagenette", cfg)
    candidates = (root, root / "imagenette2-320", root / "imagenette2-160", root / "imagenette2")
    if download and not any((f / "val").is_dir() for f in candidates):
        import torchvision

        log.info("downloading imagenette (320 px) into %s", root)
        for split in _IMAGENETTE_SPLITS.values():
            torchvision.datasets.Imagenette(str(root), split=split, size="320px", download=True)
    for folder in candidates:
        if (folder / "val").is_dir():
            return folder
    raise DatasetError(
        f"datasets.imagenette.root: no train/ and val/ folders in {root} (or its imagenette2* folder); "
        "unpack imagenette2-320.tgz there, or set `download: true`"
    )


def describe(name: str, cfg: dict[str, Any]) -> DatasetInfo:
    settings = {**IMAGENETTE_DEFAULTS, **{k: v for k, v in cfg.items() if k in IMAGENETTE_DEFAULTS}}
    unknown = [c for c in settings["classes"] if c not in IMAGENETTE_CLASSES]
    if unknown:
        raise DatasetError(f"datasets.{name}.classes: unknown {unknown}; known: {list(IMAGENETTE_CLASSES)}")
    gray = settings["grayscale"]
    return DatasetInfo(
        name,
        len(settings["classes"]),
        1 if gray else 3,
        settings["size"],
        (0.449,) if gray else (0.485, 0.456, 0.406),
        (0.226,) if gray else (0.229, 0.224, 0.225),
        tuple(IMAGENETTE_CLASSES[c] for c in settings["classes"]),
    )


def check(name: str, source: str, cfg: dict[str, Any]) -> None:
    if not cfg.get("download"):
        _imagenette_folder(cfg)


def load(info: DatasetInfo, source: str, split: str, cfg: dict[str, Any]) -> ImageSet:
    folder = _imagenette_folder(cfg, cfg.get("download", False)) / _IMAGENETTE_SPLITS[split]
    wnids = tuple(cfg.get("classes", IMAGENETTE_DEFAULTS["classes"]))
    try:
        _, files = list_image_folder(folder, wnids)
    except DatasetError as err:
        raise DatasetError(f"datasets.{info.name}.classes: {err}") from err
    order = np.random.default_rng(0).permutation(len(files))  # class-sorted folders: shuffle once, fixed
    paths, labels = [files[i][0] for i in order], torch.tensor([files[i][1] for i in order], dtype=torch.int64)
    images = in_memory_or_lazy(
        len(paths), (info.channels, info.size, info.size), read_files(paths, info.size, info.channels)
    )
    return ImageSet(images, labels, info)
