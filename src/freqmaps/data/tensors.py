"""Safetensors files prepared elsewhere: a folder with train.safetensors and test.safetensors, each holding uint8
``images`` [N, C, S, S] and int64 ``labels`` [N]; headers checked without reading the data, large splits read in
batches, normalisation statistics from the train split unless given."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch

from freqmaps.data.core import DatasetError, DatasetInfo, ImageSet, configured_root, in_memory_or_lazy
from freqmaps.data.normalisation import (
    given_statistics,
    measured_statistics,
    refuse_constant_channels,
    with_train_statistics,
)

CHECKED_BYTES = 256 * 2**20  # a tensors file's train images up to this size are read by the check before any job


def _tensor_file(name: str, cfg: dict[str, Any], split: str) -> Path:
    path = configured_root(name, cfg) / f"{split}.safetensors"
    if not path.is_file():
        raise DatasetError(
            f"datasets.{name}.root: {path} not found; a tensors dataset is a folder with train.safetensors and "
            "test.safetensors, each holding uint8 `images` [N, C, H, W] and int64 `labels` [N]"
        )
    return path


def _tensor_header(path: Path) -> tuple[tuple[int, ...], int]:
    """Shape of ``images`` and length of ``labels`` in a tensors file, checked without reading the data."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            keys = set(handle.keys())
            if not {"images", "labels"} <= keys:
                raise DatasetError(f"{path}: expected tensors 'images' and 'labels', found {sorted(keys)}")
            images, labels = handle.get_slice("images"), handle.get_slice("labels")
            dtypes, shapes = (
                (images.get_dtype(), labels.get_dtype()),
                (tuple(images.get_shape()), tuple(labels.get_shape())),
            )
    except (SafetensorError, OSError) as err:
        raise DatasetError(f"{path}: not a readable safetensors file ({err})") from err
    if dtypes != ("U8", "I64") or len(shapes[0]) != 4 or shapes[1] != shapes[0][:1] or shapes[0][2] != shapes[0][3]:
        raise DatasetError(
            f"{path}: expected uint8 images [N, C, S, S] and int64 labels [N], found {dtypes[0]} {list(shapes[0])} "
            f"and {dtypes[1]} {list(shapes[1])}"
        )
    return shapes[0], shapes[1][0]


def _read_tensor_labels(path: Path) -> torch.Tensor:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        return handle.get_tensor("labels")


def describe(name: str, cfg: dict[str, Any]) -> DatasetInfo:
    shape, _ = _tensor_header(_tensor_file(name, cfg, "train"))
    names = cfg.get("class_names")
    if names is None:
        names = [str(c) for c in range(int(_read_tensor_labels(_tensor_file(name, cfg, "train")).max()) + 1)]
    channels = shape[1]
    return given_statistics(
        DatasetInfo(name, len(names), channels, shape[2], (0.0,) * channels, (1.0,) * channels, tuple(names), "crop"),
        cfg,
    )


def check(name: str, source: str, cfg: dict[str, Any]) -> None:
    train, _ = _tensor_header(_tensor_file(name, cfg, "train"))
    test, _ = _tensor_header(_tensor_file(name, cfg, "test"))
    if train[1:] != test[1:]:
        raise DatasetError(f"datasets.{name}: train images {list(train[1:])} and test images {list(test[1:])} differ")
    num_classes = describe(name, cfg).num_classes
    for split in ("train", "test"):
        path = _tensor_file(name, cfg, split)
        labels = _read_tensor_labels(path)
        if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
            given = "datasets.{name}.class_names names" if cfg.get("class_names") else "the train labels give"
            raise DatasetError(
                f"{path}: labels range over [{int(labels.min())}, {int(labels.max())}], but {given.format(name=name)} "
                f"{num_classes} classes (labels 0 to {num_classes - 1})"
            )
        if split == "test" and labels.unique().numel() < 2:
            raise DatasetError(
                f"{path}: every test image has label {labels.unique().tolist()}: with one class there is no "
                "within-class null and no class to tell apart; the test split needs at least two classes"
            )
    if "mean" not in cfg and math.prod(train) <= CHECKED_BYTES:  # small enough to read now: a constant channel
        from safetensors import safe_open

        with safe_open(str(_tensor_file(name, cfg, "train")), framework="pt") as handle:
            mean, std = measured_statistics(handle.get_tensor("images"))
        refuse_constant_channels(name, mean, std, "train images")


def load(info: DatasetInfo, source: str, split: str, cfg: dict[str, Any]) -> ImageSet:
    from safetensors import safe_open

    path = _tensor_file(info.name, cfg, split)
    shape, _ = _tensor_header(path)

    def read(ids: list[int]) -> torch.Tensor:
        with safe_open(str(path), framework="pt") as handle:
            images = handle.get_slice("images")
            if ids == list(range(ids[0], ids[-1] + 1)):
                return images[ids[0] : ids[-1] + 1]
            return torch.cat([images[i : i + 1] for i in ids])

    subset = ImageSet(in_memory_or_lazy(shape[0], tuple(shape[1:]), read), _read_tensor_labels(path), info)
    return with_train_statistics(subset, split, cfg)


def count_test_images(name: str, source: str, cfg: dict[str, Any]) -> int:
    """The test split's size, from its file's header."""
    return _tensor_header(_tensor_file(name, cfg, "test"))[1]
