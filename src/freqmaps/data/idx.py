"""(Fashion-)MNIST: IDX files (optionally gzip-compressed), in Debian's layout or torchvision's
``<Class>/raw``, optionally downloaded by torchvision first; headers and lengths checked without reading the
data."""

from __future__ import annotations

import gzip
import logging
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import torch

from freqmaps.data.core import DatasetError, DatasetInfo, ImageSet, configured_root

log = logging.getLogger(__name__)


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


def _find(folder_candidates: list[Path], stem: str) -> Path | None:
    for folder in folder_candidates:
        for name in (stem + ".gz", stem):
            if (folder / name).is_file():
                return folder / name
    return None


_IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_TORCHVISION_CLASS = {"fashion_mnist": "FashionMNIST", "mnist": "MNIST"}


def _idx_paths(source: str, cfg: dict[str, Any], split: str, download: bool = False) -> tuple[Path, Path]:
    root = configured_root(source, cfg)
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


def check(name: str, source: str, cfg: dict[str, Any]) -> None:
    if cfg.get("download"):
        return
    for split in ("train", "test"):
        images_path, labels_path = _idx_paths(source, cfg, split)
        images, labels = check_idx(images_path), check_idx(labels_path)
        if len(images) != 3 or images[1:] != (28, 28) or len(labels) != 1 or labels[0] != images[0]:
            raise DatasetError(f"{images_path}: expected [N, 28, 28] images and N labels, found {images} / {labels}")


def load(info: DatasetInfo, source: str, split: str, cfg: dict[str, Any]) -> ImageSet:
    images_path, labels_path = _idx_paths(source, cfg, split, cfg.get("download", False))
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or images.shape[1:] != (28, 28) or labels.shape != images.shape[:1]:
        raise DatasetError(f"{images_path}: expected [N, 28, 28] images and N labels, found {images.shape}")
    return ImageSet(torch.from_numpy(images.copy()).unsqueeze(1), torch.from_numpy(labels.astype(np.int64)), info)


def count_test_images(name: str, source: str, cfg: dict[str, Any]) -> int:
    """The test split's size, from its labels file's header."""
    return check_idx(_idx_paths(source, cfg, "test")[1])[0]
