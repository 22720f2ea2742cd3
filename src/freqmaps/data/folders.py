"""Folders of PNG/JPEG images, one subfolder per class (``train/`` and ``test/`` or ``val/``): listing, decoding
(8- and 16-bit, at the model's square size), links out of the dataset's root said, normalisation statistics from
the train split unless given."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from freqmaps.data.core import DatasetError, DatasetInfo, DataWarning, ImageSet, configured_root, in_memory_or_lazy
from freqmaps.data.normalisation import given_statistics, with_train_statistics

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def decode_square(path: Path, size: int, channels: int) -> torch.Tensor:
    """One image file as uint8 [channels, size, size]: shorter side resized to size, then the central square.

    A 16-bit PNG is scaled by its own range (0..65535 onto 0..255, rounded), never read as if it were 8-bit
    (which put pixel values up to 257 into an [0, 1] pipeline); a path that is no readable file (a directory
    named like an image, a dangling link) is an error naming it."""
    from torchvision.io import ImageReadMode, decode_image
    from torchvision.transforms.v2.functional import center_crop, resize

    try:
        data = torch.frombuffer(bytearray(path.read_bytes()), dtype=torch.uint8)
    except OSError as err:
        raise DatasetError(f"{path}: not a readable image file ({err.strerror or err})") from err
    try:
        image = decode_image(data, mode=ImageReadMode.GRAY if channels == 1 else ImageReadMode.RGB)
    except (RuntimeError, ValueError) as err:
        raise DatasetError(f"{path}: not a readable PNG/JPEG image ({err})") from err
    if image.dtype == torch.uint16:
        image = ((image.to(torch.int32) * 255 + 32767) // 65535).to(torch.uint8)
    elif image.dtype != torch.uint8:
        raise DatasetError(f"{path}: {image.dtype} pixels; only 8- and 16-bit images are read")
    return center_crop(resize(image, [size], antialias=True), [size, size])


def read_files(files: list[Path], size: int, channels: int) -> Callable[[list[int]], torch.Tensor]:
    def read(ids: list[int]) -> torch.Tensor:
        with warnings.catch_warnings():  # torchvision 0.29 points to torchcodec; its decoders still work (0.26-0.29)
            warnings.filterwarnings("ignore", "The image decoding and encoding", DeprecationWarning)
            return torch.stack([decode_square(files[i], size, channels) for i in ids])

    return read


def _warn_links_outside(folder: Path, files: list[Path], root: Path) -> None:
    """Links to images outside the dataset's root are read (a subset made of links is a common layout), but said:
    a link that points elsewhere by mistake would silently add foreign images."""
    outside = [p for p in files if p.is_symlink() and not p.resolve().is_relative_to(root)]
    if outside:
        warnings.warn(
            f"{folder}: {len(outside)} image(s) are links to files outside the dataset's root {root} (e.g. "
            f"{outside[0].relative_to(folder)} -> {outside[0].resolve()}); they are read as images of their class",
            DataWarning,
            stacklevel=2,
        )


def list_image_folder(
    folder: Path, classes: tuple[str, ...] | None = None
) -> tuple[tuple[str, ...], tuple[tuple[Path, int], ...]]:
    """Class names (sorted subfolders, or ``classes``) and every (image file, label) under ``folder``; links to
    images outside the dataset's root (``folder``'s parent) are read and said (:class:`DataWarning`)."""
    names, files = _listed_image_folder(folder, classes)
    _warn_links_outside(folder, [path for path, _ in files], folder.resolve().parent)
    return names, files


@functools.lru_cache(maxsize=16)
def _listed_image_folder(
    folder: Path, classes: tuple[str, ...] | None = None
) -> tuple[tuple[str, ...], tuple[tuple[Path, int], ...]]:
    if not folder.is_dir():
        raise DatasetError(f"{folder}: no such folder")
    names = classes or tuple(sorted(p.name for p in folder.iterdir() if p.is_dir()))
    files = []
    for label, name in enumerate(names):
        found = sorted(p for p in (folder / name).glob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        if not found:
            raise DatasetError(f"{folder / name}: no PNG/JPEG images of class {name!r}")
        files += [(p, label) for p in found]
    return names, tuple(files)


_TEST_FOLDERS = ("test", "val")


def _folder_splits(name: str, cfg: dict[str, Any]) -> dict[str, Path]:
    root = configured_root(name, cfg)
    test = next((root / t for t in _TEST_FOLDERS if (root / t).is_dir()), None)
    if not (root / "train").is_dir() or test is None:
        raise DatasetError(
            f"datasets.{name}.root: {root} needs a train/ folder and a test/ (or val/) folder, each with one "
            "subfolder of PNG/JPEG images per class"
        )
    return {"train": root / "train", "test": test}


def _folder_classes(name: str, cfg: dict[str, Any]) -> tuple[str, ...]:
    train = _folder_splits(name, cfg)["train"]
    classes, _ = list_image_folder(train)
    if len(classes) < 2:
        raise DatasetError(f"datasets.{name}.root: {train} has {len(classes)} class folder(s); need 2 or more")
    return classes


def describe(name: str, cfg: dict[str, Any]) -> DatasetInfo:
    channels = 1 if cfg.get("grayscale", False) else 3
    classes = _folder_classes(name, cfg)
    return given_statistics(
        DatasetInfo(name, len(classes), channels, cfg.get("size", 224), (0.0,) * channels, (1.0,) * channels, classes),
        cfg,
    )


def check(name: str, source: str, cfg: dict[str, Any]) -> None:
    classes = _folder_classes(name, cfg)
    test_folder = _folder_splits(name, cfg)["test"]
    unknown = sorted(p.name for p in test_folder.iterdir() if p.is_dir() and p.name not in classes)
    if unknown:
        raise DatasetError(
            f"{test_folder}: class folders {unknown} have no train/ counterpart (train classes: {list(classes)})"
        )
    list_image_folder(test_folder, classes)


def load(info: DatasetInfo, source: str, split: str, cfg: dict[str, Any]) -> ImageSet:
    folder = _folder_splits(info.name, cfg)[split]
    _, files = list_image_folder(folder, info.class_names)
    order = np.random.default_rng(0).permutation(len(files))  # class-sorted folders: shuffle once, fixed, so
    paths = [files[i][0] for i in order]  # that the first n images (n_train, selection: first) mix the classes
    labels = torch.tensor([files[i][1] for i in order], dtype=torch.int64)
    images = in_memory_or_lazy(
        len(paths), (info.channels, info.size, info.size), read_files(paths, info.size, info.channels)
    )
    return with_train_statistics(ImageSet(images, labels, info), split, cfg)


def count_test_images(name: str, source: str, cfg: dict[str, Any]) -> int:
    """The test split's size, from a listing of its class folders."""
    return len(list_image_folder(_folder_splits(name, cfg)["test"], _folder_classes(name, cfg))[1])
