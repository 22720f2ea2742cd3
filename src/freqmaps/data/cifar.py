"""CIFAR-10/100: python batches, read through a restricted unpickler that admits only numpy arrays and plain
containers (a batch cannot run code on load), optionally downloaded by torchvision first."""

from __future__ import annotations

import io
import logging
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from freqmaps.data.core import DatasetError, DatasetInfo, ImageSet, configured_root

log = logging.getLogger(__name__)


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
    layout, root = _CIFAR[source], configured_root(source, cfg)
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


def check(name: str, source: str, cfg: dict[str, Any]) -> None:
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


def load(info: DatasetInfo, source: str, split: str, cfg: dict[str, Any]) -> ImageSet:
    parts = [
        _read_cifar_batch(p, _CIFAR[source].label_key)
        for p in _cifar_files(source, cfg, split, cfg.get("download", False))
    ]
    images, labels = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    return ImageSet(torch.from_numpy(images), torch.from_numpy(labels), info)
