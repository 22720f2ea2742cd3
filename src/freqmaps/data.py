"""Datasets as tensors: images uint8 [N, C, H, W], labels int64 [N], one registry entry per kind of dataset.

``DATASETS`` maps each source name (the schema's ``datasets.<name>.source`` enum) to a :class:`DatasetSource`:
what the dataset is (:class:`DatasetInfo`), how to check its files before any job runs, and how to load a
split. Loaders read the real on-disk formats (IDX for (Fashion-)MNIST, CIFAR python batches through a
restricted unpickler that admits only numpy arrays and plain containers, SVHN's MATLAB files, folders of
PNG/JPEG files, safetensors files), optionally letting torchvision download them first. Images reach
models as float in [0, 1]; normalisation lives in the model, so masks and attacks act in pixel space.
Damaged files raise :class:`DatasetError` naming the file and what is wrong.
"""

from __future__ import annotations

import functools
import gzip
import io
import logging
import math
import pickle
import struct
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from freqmaps.config import setting

log = logging.getLogger(__name__)

DEBIAN_FASHION_MNIST = "/usr/share/datasets/fashion-mnist"
IN_MEMORY_LIMIT_BYTES = 4 * 2**30  # folder and tensor-file splits larger than this are read in batches
CHECKED_BYTES = 256 * 2**20  # a tensors file's train images up to this size are read by the check before any job


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


# ------------------------------------------------------------------ files that name themselves when damaged
def _read_bytes(path: Path) -> bytes:
    """A file's bytes, gunzipped for .gz; a damaged archive names the file."""
    try:
        return gzip.open(path).read() if path.suffix == ".gz" else path.read_bytes()
    except (gzip.BadGzipFile, EOFError, zlib.error) as err:
        raise DatasetError(f"{path}: damaged or truncated gzip archive ({err}); download the file again") from err


_IDX_TYPES = {0x08: "uint8", 0x09: "int8", 0x0B: "int16", 0x0C: "int32", 0x0D: "float32", 0x0E: "float64"}


def _idx_header(path: Path, head: bytes) -> tuple[int, ...]:
    """The dims of an IDX file from its first bytes; refuse anything but uint8 data."""
    if len(head) < 4 or head[0] != 0 or head[1] != 0 or head[2] not in _IDX_TYPES:
        raise DatasetError(f"{path}: not an IDX file (bad magic number {head[:4].hex() or 'empty'})")
    if head[2] != 0x08:
        raise DatasetError(
            f"{path}: IDX data type {_IDX_TYPES[head[2]]} (0x{head[2]:02X}); images and labels must be uint8 (0x08)"
        )
    ndim = head[3]
    if len(head) < 4 + 4 * ndim:
        raise DatasetError(f"{path}: shorter than its IDX header ({len(head)} bytes, header needs {4 + 4 * ndim})")
    return struct.unpack(f">{ndim}I", head[4 : 4 + 4 * ndim])


def read_idx(path: str | Path) -> np.ndarray:
    """Parse a uint8 IDX file (optionally gzip-compressed): magic 0x000008DD, D big-endian dims, raw bytes."""
    path = Path(path)
    raw = _read_bytes(path)
    dims = _idx_header(path, raw)
    expected = int(np.prod(dims))
    data = raw[4 + 4 * len(dims) :]
    if len(data) != expected:
        raise DatasetError(f"{path}: truncated IDX file ({len(data)} data bytes, header says {expected})")
    return np.frombuffer(data, dtype=np.uint8).reshape(dims)


def check_idx(path: Path) -> tuple[int, ...]:
    """Check an IDX file's header and length without reading its data (gzip: its trailer's size field)."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path) as handle:
                head = handle.read(4 + 4 * 4)
            with open(path, "rb") as handle:
                handle.seek(-4, 2)
                stored = struct.unpack("<I", handle.read(4))[0]  # uncompressed size mod 2^32 (RFC 1952)
        else:
            with open(path, "rb") as handle:
                head, stored = handle.read(4 + 4 * 4), path.stat().st_size
    except (gzip.BadGzipFile, EOFError, zlib.error, OSError) as err:
        raise DatasetError(f"{path}: damaged or truncated gzip archive ({err}); download the file again") from err
    dims = _idx_header(path, head)
    expected = 4 + 4 * len(dims) + int(np.prod(dims))
    if stored != expected % 2**32:
        raise DatasetError(f"{path}: truncated or damaged IDX file ({stored} bytes, header says {expected})")
    return dims


def _root(name: str, cfg: dict[str, Any]) -> Path:
    """The configured root, or the default: Debian's folder for Fashion-MNIST, ./data otherwise."""
    return Path(cfg.get("root") or (DEBIAN_FASHION_MNIST if name == "fashion_mnist" else "data"))


def _find(folder_candidates: list[Path], stem: str) -> Path | None:
    for folder in folder_candidates:
        for name in (stem + ".gz", stem):
            if (folder / name).is_file():
                return folder / name
    return None


# ------------------------------------------------------------------ (Fashion-)MNIST: IDX files
_IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_TORCHVISION_CLASS = {"fashion_mnist": "FashionMNIST", "mnist": "MNIST"}


def _idx_paths(source: str, cfg: dict[str, Any], split: str, download: bool = False) -> tuple[Path, Path]:
    root = _root(source, cfg)
    folders = [root, root / _TORCHVISION_CLASS[source] / "raw"]  # Debian layout, torchvision's <Class>/raw
    stems = _IDX_FILES[split]
    found = [_find(folders, stem) for stem in stems]
    if None in found and download:
        import torchvision

        log.info("downloading %s into %s", source, root)
        getattr(torchvision.datasets, _TORCHVISION_CLASS[source])(str(root), train=split == "train", download=True)
        found = [_find(folders, stem) for stem in stems]
    if None in found:
        hint = (
            "install the Debian package dataset-fashion-mnist (`make run` does), " if source == "fashion_mnist" else ""
        )
        raise DatasetError(
            f"datasets.{source}.root: {stems[0]}[.gz] / {stems[1]}[.gz] not found in "
            f"{', '.join(str(f) for f in folders)}; {hint}point `root` at a folder holding them, "
            "or set `download: true` on a machine with internet access"
        )
    return found[0], found[1]


def _check_idx_source(name: str, source: str, cfg: dict[str, Any]) -> None:
    if cfg.get("download"):
        return
    for split in ("train", "test"):
        images_path, labels_path = _idx_paths(source, cfg, split)
        images, labels = check_idx(images_path), check_idx(labels_path)
        if len(images) != 3 or images[1:] != (28, 28) or len(labels) != 1 or labels[0] != images[0]:
            raise DatasetError(f"{images_path}: expected [N, 28, 28] images and N labels, found {images} / {labels}")


def _load_idx(info: DatasetInfo, source: str, split: str, cfg: dict[str, Any]) -> ImageSet:
    images_path, labels_path = _idx_paths(source, cfg, split, cfg.get("download", False))
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or images.shape[1:] != (28, 28) or labels.shape != images.shape[:1]:
        raise DatasetError(f"{images_path}: expected [N, 28, 28] images and N labels, found {images.shape}")
    return ImageSet(torch.from_numpy(images.copy()).unsqueeze(1), torch.from_numpy(labels.astype(np.int64)), info)


# ------------------------------------------------------------------ CIFAR-10/100: python batches
class _ArrayOnlyUnpickler(pickle.Unpickler):
    """Unpickles only numpy arrays and builtin containers: a CIFAR batch cannot run code on load."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("_codecs", "encode"),
    }

    def find_class(self, module: str, name: str):  # noqa: ANN201 - pickle protocol
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a CIFAR batch")


@dataclass(frozen=True)
class _CifarLayout:
    folder: str
    train: tuple[str, ...]
    test: tuple[str, ...]
    label_key: str
    torchvision_class: str


_CIFAR = {
    "cifar10": _CifarLayout(
        "cifar-10-batches-py", tuple(f"data_batch_{i}" for i in range(1, 6)), ("test_batch",), "labels", "CIFAR10"
    ),
    "cifar100": _CifarLayout("cifar-100-python", ("train",), ("test",), "fine_labels", "CIFAR100"),
}


def _read_cifar_batch(path: Path, label_key: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        batch = _ArrayOnlyUnpickler(io.BytesIO(path.read_bytes()), encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError, AttributeError) as err:
        raise DatasetError(f"{path}: not a CIFAR python batch ({err})") from err
    if not isinstance(batch, dict) or "data" not in batch or label_key not in batch:
        found = sorted(batch) if isinstance(batch, dict) else type(batch).__name__
        raise DatasetError(
            f"{path}: not a CIFAR python batch (expected a dict with 'data' and {label_key!r}, found {found})"
        )
    data, labels = np.asarray(batch["data"]), np.asarray(batch[label_key])
    if data.dtype != np.uint8:
        raise DatasetError(f"{path}: image data of type {data.dtype}; CIFAR images must be uint8")
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or labels.shape != (len(data),):
        raise DatasetError(f"{path}: expected data [N, 3072] and N labels, found {data.shape} and {labels.shape}")
    return data.reshape(-1, 3, 32, 32), labels.astype(np.int64)


def _cifar_files(source: str, cfg: dict[str, Any], split: str, download: bool = False) -> list[Path]:
    layout, root = _CIFAR[source], _root(source, cfg)
    paths = [root / layout.folder / name for name in getattr(layout, split)]
    if download and not all(p.is_file() for p in paths):
        import torchvision

        log.info("downloading %s into %s", source, root)
        getattr(torchvision.datasets, layout.torchvision_class)(str(root), train=split == "train", download=True)
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        raise DatasetError(
            f"datasets.{source}.root: {', '.join(missing)} not found in {root / layout.folder}; point `root` at "
            f"the folder holding {layout.folder}, or set `download: true`"
        )
    return paths


def _check_cifar_source(name: str, source: str, cfg: dict[str, Any]) -> None:
    if cfg.get("download"):
        return
    for split in ("train", "test"):
        for path in _cifar_files(source, cfg, split):
            with open(path, "rb") as handle:
                head = handle.read(12)
            # a pickled dict starts with PROTO n, optionally a FRAME (protocol 4+), then EMPTY_DICT
            body = head[11:12] if head[2:3] == b"\x95" else head[2:3]
            if head[:1] != b"\x80" or body != b"}":
                raise DatasetError(f"{path}: not a CIFAR python batch (not a pickled dict); download it again")


def _load_cifar(info: DatasetInfo, source: str, split: str, cfg: dict[str, Any]) -> ImageSet:
    parts = [
        _read_cifar_batch(p, _CIFAR[source].label_key)
        for p in _cifar_files(source, cfg, split, cfg.get("download", False))
    ]
    images, labels = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    return ImageSet(torch.from_numpy(images), torch.from_numpy(labels), info)


# ------------------------------------------------------------------ SVHN: MATLAB files
def _svhn_file(cfg: dict[str, Any], split: str, download: bool = False) -> Path:
    root = _root("svhn", cfg)
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


def _check_svhn_source(name: str, source: str, cfg: dict[str, Any]) -> None:
    if not cfg.get("download"):
        for split in ("train", "test"):
            _svhn_file(cfg, split)


def _load_svhn(info: DatasetInfo, source: str, split: str, cfg: dict[str, Any]) -> ImageSet:
    images, labels = _read_svhn(_svhn_file(cfg, split, cfg.get("download", False)))
    return ImageSet(torch.from_numpy(images), torch.from_numpy(labels), info)


# ------------------------------------------------------------------ folders of PNG/JPEG images
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def _decode_square(path: Path, size: int, channels: int) -> torch.Tensor:
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


def _read_files(files: list[Path], size: int, channels: int) -> Callable[[list[int]], torch.Tensor]:
    def read(ids: list[int]) -> torch.Tensor:
        with warnings.catch_warnings():  # torchvision 0.29 points to torchcodec; its decoders still work (0.26-0.29)
            warnings.filterwarnings("ignore", "The image decoding and encoding", DeprecationWarning)
            return torch.stack([_decode_square(files[i], size, channels) for i in ids])

    return read


def _images(
    count: int, shape: tuple[int, int, int], read: Callable[[list[int]], torch.Tensor]
) -> torch.Tensor | LazyImages:
    """All images in memory when they fit IN_MEMORY_LIMIT_BYTES, else read in batches on indexing."""
    if count * int(np.prod(shape)) <= IN_MEMORY_LIMIT_BYTES:
        return read(list(range(count))) if count else torch.empty(0, *shape, dtype=torch.uint8)
    log.info("%d images of %s exceed the in-memory limit: reading them in batches", count, shape)
    return LazyImages(count, shape, read)


class DataWarning(UserWarning):
    """Data that are read, but perhaps not as the user meant (the check before any job reports these)."""


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
    root = _root(name, cfg)
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


def _statistics(images: torch.Tensor | LazyImages, batch: int = 1024) -> tuple[tuple[float, ...], tuple[float, ...]]:
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


def _refuse_constant_channels(name: str, mean: tuple[float, ...], std: tuple[float, ...], what: str) -> None:
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


def _with_train_statistics(subset: ImageSet, split: str, cfg: dict[str, Any]) -> ImageSet:
    """Given statistics, or (train split) those of the split itself."""
    if split == "train" and "mean" not in cfg:
        mean, std = _statistics(subset.images)
        _refuse_constant_channels(subset.info.name, mean, std, "train images")
        subset.info = replace(subset.info, mean=mean, std=std)
        log.info("%s: normalisation statistics from the train split: mean %s, std %s", subset.info.name, mean, std)
    return subset


def _image_folder_info(name: str, cfg: dict[str, Any]) -> DatasetInfo:
    channels = 1 if cfg.get("grayscale", False) else 3
    classes = _folder_classes(name, cfg)
    return _given_statistics(
        DatasetInfo(name, len(classes), channels, cfg.get("size", 224), (0.0,) * channels, (1.0,) * channels, classes),
        cfg,
    )


def _check_image_folder(name: str, source: str, cfg: dict[str, Any]) -> None:
    classes = _folder_classes(name, cfg)
    test_folder = _folder_splits(name, cfg)["test"]
    unknown = sorted(p.name for p in test_folder.iterdir() if p.is_dir() and p.name not in classes)
    if unknown:
        raise DatasetError(
            f"{test_folder}: class folders {unknown} have no train/ counterpart (train classes: {list(classes)})"
        )
    list_image_folder(test_folder, classes)


def _load_image_folder(info: DatasetInfo, source: str, split: str, cfg: dict[str, Any]) -> ImageSet:
    folder = _folder_splits(info.name, cfg)[split]
    _, files = list_image_folder(folder, info.class_names)
    order = np.random.default_rng(0).permutation(len(files))  # class-sorted folders: shuffle once, fixed, so
    paths = [files[i][0] for i in order]  # that the first n images (n_train, selection: first) mix the classes
    labels = torch.tensor([files[i][1] for i in order], dtype=torch.int64)
    images = _images(len(paths), (info.channels, info.size, info.size), _read_files(paths, info.size, info.channels))
    return _with_train_statistics(ImageSet(images, labels, info), split, cfg)


# ------------------------------------------------------------------ Imagenette: a folder with WordNet ids
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
    root = _root("imagenette", cfg)
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


def _imagenette_info(name: str, cfg: dict[str, Any]) -> DatasetInfo:
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


def _check_imagenette(name: str, source: str, cfg: dict[str, Any]) -> None:
    if not cfg.get("download"):
        _imagenette_folder(cfg)


def _load_imagenette(info: DatasetInfo, source: str, split: str, cfg: dict[str, Any]) -> ImageSet:
    folder = _imagenette_folder(cfg, cfg.get("download", False)) / _IMAGENETTE_SPLITS[split]
    wnids = tuple(cfg.get("classes", IMAGENETTE_DEFAULTS["classes"]))
    try:
        _, files = list_image_folder(folder, wnids)
    except DatasetError as err:
        raise DatasetError(f"datasets.{info.name}.classes: {err}") from err
    order = np.random.default_rng(0).permutation(len(files))  # class-sorted folders: shuffle once, fixed
    paths, labels = [files[i][0] for i in order], torch.tensor([files[i][1] for i in order], dtype=torch.int64)
    images = _images(len(paths), (info.channels, info.size, info.size), _read_files(paths, info.size, info.channels))
    return ImageSet(images, labels, info)


# ------------------------------------------------------------------ safetensors files prepared elsewhere
def _tensor_file(name: str, cfg: dict[str, Any], split: str) -> Path:
    path = _root(name, cfg) / f"{split}.safetensors"
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


def _tensors_info(name: str, cfg: dict[str, Any]) -> DatasetInfo:
    shape, _ = _tensor_header(_tensor_file(name, cfg, "train"))
    names = cfg.get("class_names")
    if names is None:
        names = [str(c) for c in range(int(_read_tensor_labels(_tensor_file(name, cfg, "train")).max()) + 1)]
    channels = shape[1]
    return _given_statistics(
        DatasetInfo(name, len(names), channels, shape[2], (0.0,) * channels, (1.0,) * channels, tuple(names), "crop"),
        cfg,
    )


def _check_tensors(name: str, source: str, cfg: dict[str, Any]) -> None:
    train, _ = _tensor_header(_tensor_file(name, cfg, "train"))
    test, _ = _tensor_header(_tensor_file(name, cfg, "test"))
    if train[1:] != test[1:]:
        raise DatasetError(f"datasets.{name}: train images {list(train[1:])} and test images {list(test[1:])} differ")
    num_classes = _tensors_info(name, cfg).num_classes
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
            mean, std = _statistics(handle.get_tensor("images"))
        _refuse_constant_channels(name, mean, std, "train images")


def _load_tensors(info: DatasetInfo, source: str, split: str, cfg: dict[str, Any]) -> ImageSet:
    from safetensors import safe_open

    path = _tensor_file(info.name, cfg, split)
    shape, _ = _tensor_header(path)

    def read(ids: list[int]) -> torch.Tensor:
        with safe_open(str(path), framework="pt") as handle:
            images = handle.get_slice("images")
            if ids == list(range(ids[0], ids[-1] + 1)):
                return images[ids[0] : ids[-1] + 1]
            return torch.cat([images[i : i + 1] for i in ids])

    subset = ImageSet(_images(shape[0], tuple(shape[1:]), read), _read_tensor_labels(path), info)
    return _with_train_statistics(subset, split, cfg)


# ------------------------------------------------------------------ generated data
def _synthetic_info(name: str, cfg: dict[str, Any]) -> DatasetInfo:
    from freqmaps.synthetic import SyntheticSettings, num_classes

    try:
        settings = SyntheticSettings.from_config(cfg)
    except ValueError as err:
        raise DatasetError(str(err).replace("datasets.synthetic", f"datasets.{name}")) from err
    return DatasetInfo(
        name,
        num_classes(settings),
        settings.channels,
        settings.size,
        (0.5,) * settings.channels,
        (0.25,) * settings.channels,
        tuple(f"band {c}" for c in range(settings.n_classes)) + ("background",) * settings.background_class,
        "crop",  # wedges are orientation-coded: a flip would swap classes
    )


def _load_synthetic(info: DatasetInfo, source: str, split: str, cfg: dict[str, Any]) -> ImageSet:
    from freqmaps.synthetic import SyntheticSettings, generate

    images, labels = generate(SyntheticSettings.from_config(cfg), split)
    return ImageSet(images, labels, info)


def _nothing_to_check(name: str, source: str, cfg: dict[str, Any]) -> None:
    """Generated data has no files."""


# ------------------------------------------------------------------ the registry
def _fixed(info: DatasetInfo) -> Callable[[str, dict[str, Any]], DatasetInfo]:
    return lambda name, cfg: replace(info, name=name)


def _given_statistics(info: DatasetInfo, cfg: dict[str, Any]) -> DatasetInfo:
    if "mean" not in cfg:
        return info
    mean, std = tuple(cfg["mean"]), tuple(cfg.get("std", ()))
    if len(mean) != info.channels or len(std) != info.channels:
        raise DatasetError(
            f"datasets.{info.name}.mean/std: need {info.channels} values each, got {list(mean)} and {list(std)}"
        )
    return replace(info, mean=mean, std=std)


@dataclass(frozen=True)
class DatasetSource:
    """One kind of dataset: its description, the checks run before any job, and the loader of a split."""

    info: Callable[[str, dict[str, Any]], DatasetInfo]
    check: Callable[[str, str, dict[str, Any]], None]
    load: Callable[[DatasetInfo, str, str, dict[str, Any]], ImageSet]
    selection: str = "first"  # default choice of the analysed test images (a key of SELECTIONS)


FASHION_MNIST = DatasetInfo(
    "fashion_mnist",
    10,
    1,
    28,
    (0.2860,),
    (0.3530,),
    ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
)
MNIST = DatasetInfo("mnist", 10, 1, 28, (0.1307,), (0.3081,), tuple(str(d) for d in range(10)), "crop")
CIFAR10 = DatasetInfo(
    "cifar10",
    10,
    3,
    32,
    (0.4914, 0.4822, 0.4465),
    (0.2470, 0.2435, 0.2616),
    ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
)
_CIFAR100_NAMES = """apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy bridge bus butterfly
camel can castle caterpillar cattle chair chimpanzee clock cloud cockroach couch crab crocodile cup dinosaur dolphin
elephant flatfish forest fox girl hamster house kangaroo keyboard lamp lawn_mower leopard lion lizard lobster man
maple_tree motorcycle mountain mouse mushroom oak_tree orange orchid otter palm_tree pear pickup_truck pine_tree plain
plate poppy porcupine possum rabbit raccoon ray road rocket rose sea seal shark shrew skunk skyscraper snail snake
spider squirrel streetcar sunflower sweet_pepper table tank telephone television tiger tractor train trout tulip
turtle wardrobe whale willow_tree wolf woman worm"""
CIFAR100 = DatasetInfo(
    "cifar100", 100, 3, 32, (0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762), tuple(_CIFAR100_NAMES.split())
)
SVHN = DatasetInfo(
    "svhn", 10, 3, 32, (0.4377, 0.4438, 0.4728), (0.1980, 0.2010, 0.1970), tuple(str(d) for d in range(10)), "crop"
)

DATASETS: dict[str, DatasetSource] = {
    "fashion_mnist": DatasetSource(_fixed(FASHION_MNIST), _check_idx_source, _load_idx),
    "mnist": DatasetSource(_fixed(MNIST), _check_idx_source, _load_idx),
    "cifar10": DatasetSource(_fixed(CIFAR10), _check_cifar_source, _load_cifar),
    "cifar100": DatasetSource(_fixed(CIFAR100), _check_cifar_source, _load_cifar),
    "svhn": DatasetSource(_fixed(SVHN), _check_svhn_source, _load_svhn),
    "imagenette": DatasetSource(_imagenette_info, _check_imagenette, _load_imagenette),
    "image_folder": DatasetSource(_image_folder_info, _check_image_folder, _load_image_folder, "stratified"),
    "tensors": DatasetSource(_tensors_info, _check_tensors, _load_tensors, "stratified"),
    "synthetic": DatasetSource(_synthetic_info, _nothing_to_check, _load_synthetic),
}


def dataset_source(name: str, cfg: dict[str, Any] | None = None) -> str:
    """The registry key of a configured dataset: ``source``, else the name itself (synthetic_<x>: synthetic)."""
    cfg = cfg or {}
    source = cfg.get("source") or ("synthetic" if is_synthetic(name) else name)
    if source not in DATASETS:
        key = f"datasets.{name}.source" if "source" in cfg else "datasets"
        raise DatasetError(
            f"{key}: unknown dataset {source!r}; known: {sorted(DATASETS)} (a dataset with another name needs "
            "`source: <one of these>`)"
        )
    return source


def is_synthetic(name: str, cfg: dict[str, Any] | None = None) -> bool:
    """Generated datasets (freqmaps.synthetic): source synthetic, or named synthetic / synthetic_<anything>."""
    source = (cfg or {}).get("source")
    return source == "synthetic" if source else name == "synthetic" or name.startswith("synthetic_")


def has_planted_bands(name: str, cfg: dict[str, Any] | None = None) -> bool:
    """Whether a dataset's planted frequencies are known: generated (synthetic) or given as a ``bands`` file."""
    return is_synthetic(name, cfg) or bool((cfg or {}).get("bands"))


def dataset_info(name: str, cfg: dict[str, Any] | None = None, size: int | None = None) -> DatasetInfo:
    """What a model needs to know about a configured dataset (at ``size`` px when given)."""
    cfg = cfg or {}
    info = DATASETS[dataset_source(name, cfg)].info(name, cfg)
    augmentation = cfg.get("augmentation", info.augmentation)
    if augmentation not in AUGMENTATIONS:
        raise DatasetError(f"datasets.{name}.augmentation: {augmentation!r} is not one of {sorted(AUGMENTATIONS)}")
    return replace(info, size=size or info.size, augmentation=augmentation)


def dataset_root(name: str, cfg: dict[str, Any] | None = None) -> Path:
    """The folder a configured dataset's files are read from (a change there invalidates a checked config)."""
    return _root(dataset_source(name, cfg), cfg or {})


def check_source(name: str, cfg: dict[str, Any] | None = None) -> None:
    """Fail fast, naming the config key or file, when a dataset's files are absent, damaged or inconsistent."""
    cfg = cfg or {}
    source = dataset_source(name, cfg)
    DATASETS[source].check(name, source, cfg)
    info = dataset_info(name, cfg)
    if info.num_classes < 2:
        raise DatasetError(
            f"datasets.{name}: one class only ({list(info.class_names)}); a classifier, its attacks and the "
            "within-class null need at least two"
        )
    selection = cfg.get("selection", DATASETS[source].selection)
    if selection not in SELECTIONS:
        raise DatasetError(f"datasets.{name}.selection: {selection!r} is not one of {sorted(SELECTIONS)}")


def resize_square(images: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 images [N, C, H, W] at size x size: shorter side to ``size`` (antialiased), then the central square."""
    if images.shape[-2:] == (size, size):
        return images
    from torchvision.transforms.v2.functional import center_crop, resize

    return center_crop(resize(images, [size], antialias=True), [size, size])


def load_dataset(name: str, split: str, cfg: dict[str, Any] | None = None, size: int | None = None) -> ImageSet:
    """The ``train`` or ``test`` split of a dataset as configured under ``datasets.<name>``, at ``size`` px
    when given (the model's resolution) or the dataset's own."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")
    cfg = cfg or {}
    source = dataset_source(name, cfg)
    info = dataset_info(name, cfg)
    subset = DATASETS[source].load(info, source, split, cfg)
    if len(subset) and (subset.labels.min() < 0 or subset.labels.max() >= info.num_classes):
        raise DatasetError(f"datasets.{name} ({split}): labels outside 0..{info.num_classes - 1}")
    if size is not None and size != subset.info.size:
        images = subset.images
        if isinstance(images, LazyImages):
            images = LazyImages(
                len(images), (images.image_shape[0], size, size), lambda ids, old=images: resize_square(old[ids], size)
            )
        else:
            images = resize_square(images, size)
        subset = ImageSet(images, subset.labels, replace(subset.info, size=size))
    log.info("%s/%s: %d images %s", name, split, len(subset), tuple(subset.images.shape[1:]))
    return subset


def load_split(name: str, split: str, root: str | Path | None = None, download: bool = False) -> ImageSet:
    """Load a split of a built-in dataset by name from ``root`` (shorthand for :func:`load_dataset`)."""
    cfg = {"download": download, **({"root": str(root)} if root is not None else {})}
    return load_dataset(name, split, cfg)


# ------------------------------------------------------------------ which test images are analysed
def first_images(labels: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    """The first ``n`` images: fair only when the file is shuffled (it is for the torchvision sets)."""
    return torch.arange(min(n, len(labels)))


def stratified_images(labels: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    """A seeded sample of ``n`` images with the classes as equal as possible (ascending ids)."""
    rng = np.random.default_rng(seed)
    y = labels.numpy()
    rank = np.empty(len(y), dtype=np.int64)  # each image's place in a random order within its class
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        rank[rng.permutation(members)] = np.arange(len(members))
    order = np.lexsort((rng.random(len(y)), rank))  # round-robin over classes, classes in random order
    return torch.from_numpy(np.sort(order[:n]))


SELECTIONS: dict[str, Callable[[torch.Tensor, int, int], torch.Tensor]] = {
    "first": first_images,
    "stratified": stratified_images,
}


def test_selection(name: str, cfg: dict[str, Any] | None = None) -> str:
    """How the analysed test images are chosen: the config's ``selection``, else the source's default."""
    cfg = cfg or {}
    return cfg.get("selection", DATASETS[dataset_source(name, cfg)].selection)


def too_few_test_images(name: str, asked: int | None, available: int) -> str:
    """A warning (empty when there is none) when ``n_test_images`` asks for more images than the test split holds:
    the run analyses all of them, fewer than the config says."""
    if asked is None or asked <= available:
        return ""
    return (
        f"datasets.{name}.n_test_images: {asked} asked, but the test split holds {available} images; "
        f"all {available} are analysed"
    )


def test_split_size(name: str, cfg: dict[str, Any] | None = None) -> int | None:
    """The number of test images of a configured dataset where headers or a listing tell it without decoding
    images (IDX files, tensors files, image folders); None elsewhere."""
    cfg = cfg or {}
    source = dataset_source(name, cfg)
    if cfg.get("download"):
        return None
    if source in _TORCHVISION_CLASS:
        return check_idx(_idx_paths(source, cfg, "test")[1])[0]
    if source == "tensors":
        return _tensor_header(_tensor_file(name, cfg, "test"))[1]
    if source == "image_folder":
        return len(list_image_folder(_folder_splits(name, cfg)["test"], _folder_classes(name, cfg))[1])
    return None


def select_test_images(
    name: str, cfg: dict[str, Any] | None = None, size: int | None = None
) -> tuple[ImageSet, torch.Tensor]:
    """The analysed test images (``n_test_images`` of them, chosen by ``selection``) and their ids in the test split."""
    cfg = cfg or {}
    test = load_dataset(name, "test", cfg, size)
    how = test_selection(name, cfg)
    n = setting({"datasets": {name: cfg}}, "datasets", name, "n_test_images")  # the schema's default if left out
    warning = too_few_test_images(name, n, len(test))
    if warning:
        log.warning("%s", warning)
    ids = torch.arange(len(test)) if n is None else SELECTIONS[how](test.labels, n, cfg.get("selection_seed", 0))
    log.info(
        "%s: %d test images chosen (%s), per class %s", name, len(ids), how, torch.bincount(test.labels[ids]).tolist()
    )
    return test.subset(ids), ids


def head(subset: ImageSet, n: int | None) -> ImageSet:
    """The first ``n`` images (all if ``n`` is None)."""
    if n is None or n >= len(subset):
        return subset
    return subset.subset(torch.arange(n))


# ------------------------------------------------------------------ training augmentations
def random_affine(
    x: torch.Tensor,
    generator: torch.Generator,
    *,
    degrees: float = 0.0,
    translate: float = 0.0,
    scale: tuple[float, float] = (1.0, 1.0),
) -> torch.Tensor:
    """Per-image random rotation/translation/scale (torchvision RandomAffine semantics), zero fill."""
    n = x.shape[0]
    u = torch.rand(n, 4, generator=generator).to(x.device)
    angle = torch.deg2rad((2 * u[:, 0] - 1) * degrees)
    factor = scale[0] + (scale[1] - scale[0]) * u[:, 1]
    shift = (2 * u[:, 2:] - 1) * translate * 2  # fraction of the size, in [-1, 1] grid units
    cos, sin = torch.cos(angle) / factor, torch.sin(angle) / factor
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = torch.nn.functional.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    return torch.nn.functional.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def random_crop(x: torch.Tensor, generator: torch.Generator, padding: int = 4) -> torch.Tensor:
    """A random crop of each image after zero padding (no flip: for digits and orientation-coded classes)."""
    n, _, h, w = x.shape
    padded = torch.nn.functional.pad(x, (padding,) * 4)
    offsets = torch.randint(0, 2 * padding + 1, (n, 2), generator=generator)
    rows = (offsets[:, 0, None] + torch.arange(h)).to(x.device)
    cols = (offsets[:, 1, None] + torch.arange(w)).to(x.device)
    batch = torch.arange(n, device=x.device)[:, None, None]
    return padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


def crop_and_flip(x: torch.Tensor, generator: torch.Generator, padding: int = 4) -> torch.Tensor:
    """The standard recipe: random crop after zero padding, and a horizontal flip with probability 1/2."""
    out = random_crop(x, generator, padding)
    flip = (torch.rand(len(x), generator=generator) < 0.5).to(x.device)
    return torch.where(flip[:, None, None, None], out.flip(-1), out)


def no_augmentation(x: torch.Tensor, generator: torch.Generator, padding: int = 4) -> torch.Tensor:
    return x


AUGMENTATIONS: dict[str, Callable[..., torch.Tensor]] = {
    "crop_flip": crop_and_flip,
    "crop": random_crop,
    "none": no_augmentation,
}
