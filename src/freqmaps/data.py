"""Datasets as tensors: images uint8 [N, C, H, W], labels int64 [N].

Loaders read the real on-disk formats (IDX for (Fashion-)MNIST, CIFAR-10 python batches through a
restricted unpickler that admits only numpy arrays and plain containers), optionally letting
torchvision download them first. Images reach models as float in [0, 1]; normalisation lives in the
model, so masks and attacks act in pixel space.
"""

from __future__ import annotations

import gzip
import io
import logging
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

log = logging.getLogger(__name__)

DEBIAN_FASHION_MNIST = "/usr/share/datasets/fashion-mnist"


@dataclass(frozen=True)
class DatasetInfo:
    """What a model needs to know about a dataset."""

    name: str
    num_classes: int
    channels: int
    size: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    class_names: tuple[str, ...]


@dataclass
class ImageSet:
    """A split held in memory: uint8 images [N, C, H, W] and int64 labels [N]."""

    images: torch.Tensor
    labels: torch.Tensor
    info: DatasetInfo

    def __len__(self) -> int:
        return len(self.labels)

    def floats(self, index: torch.Tensor | slice | None = None, device: torch.device | str = "cpu") -> torch.Tensor:
        """Images as float32 in [0, 1] (all, or the rows selected by ``index``)."""
        images = self.images if index is None else self.images[index]
        return images.to(device).float().div_(255)


FASHION_MNIST = DatasetInfo(
    "fashion_mnist",
    10,
    1,
    28,
    (0.2860,),
    (0.3530,),
    ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
)
MNIST = DatasetInfo("mnist", 10, 1, 28, (0.1307,), (0.3081,), tuple(str(d) for d in range(10)))
CIFAR10 = DatasetInfo(
    "cifar10",
    10,
    3,
    32,
    (0.4914, 0.4822, 0.4465),
    (0.2470, 0.2435, 0.2616),
    ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
)
DATASETS: dict[str, DatasetInfo] = {info.name: info for info in (FASHION_MNIST, MNIST, CIFAR10)}

_IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_TORCHVISION_FOLDER = {"fashion_mnist": "FashionMNIST", "mnist": "MNIST"}
_IDX_DTYPES = {
    0x08: np.uint8,
    0x09: np.int8,
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


class DatasetError(RuntimeError):
    """The data cannot be found or read; the message says where it looked and how to get it."""


def read_idx(path: str | Path) -> np.ndarray:
    """Parse an IDX file (optionally gzip-compressed): magic 0x0000TTDD, D big-endian dims, raw data."""
    path = Path(path)
    raw = gzip.open(path).read() if path.suffix == ".gz" else path.read_bytes()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise DatasetError(f"{path}: not an IDX file (bad magic number)")
    dtype, ndim = np.dtype(_IDX_DTYPES[raw[2]]), raw[3]
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(dims)) * dtype.itemsize
    data = raw[4 + 4 * ndim :]
    if len(data) != expected:
        raise DatasetError(f"{path}: truncated IDX file ({len(data)} data bytes, header says {expected})")
    return np.frombuffer(data, dtype=dtype).reshape(dims)


def _root(name: str, root: str | Path | None) -> Path:
    """The configured root, or the default: Debian's folder for Fashion-MNIST, ./data otherwise."""
    return Path(root or (DEBIAN_FASHION_MNIST if name == "fashion_mnist" else "data"))


def _idx_folders(name: str, root: Path) -> list[Path]:
    """Where IDX files may lie: the root itself (Debian layout) or torchvision's <Class>/raw."""
    return [root, root / _TORCHVISION_FOLDER[name] / "raw"]


CIFAR_FOLDER = "cifar-10-batches-py"


def _find(folder_candidates: list[Path], stem: str) -> Path | None:
    for folder in folder_candidates:
        for name in (stem + ".gz", stem):
            if (folder / name).is_file():
                return folder / name
    return None


def _load_idx_split(info: DatasetInfo, split: str, root: Path, download: bool) -> ImageSet:
    folders = _idx_folders(info.name, root)
    image_stem, label_stem = _IDX_FILES[split]
    images_path, labels_path = _find(folders, image_stem), _find(folders, label_stem)
    if (images_path is None or labels_path is None) and download:
        import torchvision

        cls = getattr(torchvision.datasets, _TORCHVISION_FOLDER[info.name])
        log.info("downloading %s into %s", info.name, root)
        cls(str(root), train=split == "train", download=True)
        images_path, labels_path = _find(folders, image_stem), _find(folders, label_stem)
    if images_path is None or labels_path is None:
        hint = (
            "install the Debian package (`apt-get install dataset-fashion-mnist`, done by `make run`), "
            if info.name == "fashion_mnist"
            else ""
        )
        raise DatasetError(
            f"datasets.{info.name}.root: {image_stem}[.gz] / {label_stem}[.gz] not found in "
            f"{', '.join(str(f) for f in folders)}; {hint}point `root` at a folder holding them, "
            "or set `download: true` on a machine with internet access"
        )
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or images.shape[1:] != (info.size, info.size) or len(images) != len(labels):
        raise DatasetError(
            f"{images_path}: expected [N, {info.size}, {info.size}] images matching "
            f"{len(labels)} labels, found {images.shape}"
        )
    return ImageSet(torch.from_numpy(images.copy()).unsqueeze(1), torch.from_numpy(labels.astype(np.int64)), info)


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


def _read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        batch = _ArrayOnlyUnpickler(io.BytesIO(path.read_bytes()), encoding="latin1").load()
        data = np.asarray(batch["data"], dtype=np.uint8)
        labels = np.asarray(batch.get("labels", batch.get("fine_labels")), dtype=np.int64)
    except (pickle.UnpicklingError, KeyError, EOFError, TypeError, ValueError) as err:
        raise DatasetError(f"{path}: not a CIFAR-10 python batch ({err})") from err
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(data) != len(labels):
        raise DatasetError(f"{path}: expected data [N, 3072] and N labels, found {data.shape} and {labels.shape}")
    return data.reshape(-1, 3, 32, 32), labels


def _load_cifar10_split(split: str, root: Path, download: bool) -> ImageSet:
    folder = root / CIFAR_FOLDER
    names = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    if not all((folder / n).is_file() for n in names) and download:
        import torchvision

        log.info("downloading cifar10 into %s", root)
        torchvision.datasets.CIFAR10(str(root), train=split == "train", download=True)
    missing = [n for n in names if not (folder / n).is_file()]
    if missing:
        raise DatasetError(
            f"datasets.cifar10.root: {', '.join(missing)} not found in {folder}; point `root` at "
            "the folder holding cifar-10-batches-py, or set `download: true`"
        )
    parts = [_read_cifar_batch(folder / n) for n in names]
    images = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    return ImageSet(torch.from_numpy(images), torch.from_numpy(labels), CIFAR10)


# ------------------------------------------------------------------ Imagenette (folders of JPEGs)
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


def _imagenette_folder(root: Path) -> Path | None:
    """The folder holding train/ and val/: the root itself or one of the official archives' folders."""
    for folder in (root, root / "imagenette2-320", root / "imagenette2-160", root / "imagenette2"):
        if (folder / "val").is_dir():
            return folder
    return None


def _imagenette_missing(root: Path) -> DatasetError:
    return DatasetError(
        f"datasets.imagenette.root: no train/ and val/ folders in {root} (or its imagenette2* folder); "
        "unpack imagenette2-320.tgz there, or set `download: true`"
    )


def _load_imagenette_split(split: str, root: Path, cfg: dict, download: bool) -> ImageSet:
    from PIL import Image

    info = dataset_info("imagenette", cfg)
    folder = _imagenette_folder(root)
    if folder is None and download:
        import torchvision

        log.info("downloading imagenette (320 px) into %s", root)
        torchvision.datasets.Imagenette(str(root), split=_IMAGENETTE_SPLITS[split], size="320px", download=True)
        folder = _imagenette_folder(root)
    if folder is None:
        raise _imagenette_missing(root)
    settings = {**IMAGENETTE_DEFAULTS, **cfg}
    size, mode = settings["size"], "L" if settings["grayscale"] else "RGB"
    images, labels = [], []
    for label, wnid in enumerate(settings["classes"]):
        class_folder = folder / _IMAGENETTE_SPLITS[split] / wnid
        files = sorted(p for p in class_folder.glob("*") if p.suffix.lower() in (".jpeg", ".jpg", ".png"))
        if not files:
            raise DatasetError(f"datasets.imagenette.classes: no images of class {wnid!r} in {class_folder}")
        for path in files:
            with Image.open(path) as image:
                image = image.convert(mode)
                scale = size / min(image.size)  # shorter side to size, then the central square
                image = image.resize((max(size, round(image.width * scale)), max(size, round(image.height * scale))))
                left, top = (image.width - size) // 2, (image.height - size) // 2
                array = np.asarray(image.crop((left, top, left + size, top + size)), dtype=np.uint8)
            images.append(array[None] if array.ndim == 2 else array.transpose(2, 0, 1))
            labels.append(label)
    order = np.random.default_rng(0).permutation(len(labels))  # folders are sorted by class: shuffle once, fixed
    return ImageSet(
        torch.from_numpy(np.stack(images)[order]), torch.from_numpy(np.array(labels, dtype=np.int64)[order]), info
    )


# ------------------------------------------------------------------ one entry point for every dataset
CONFIGURABLE = ("imagenette", "synthetic", "synthetic_<name>")


def dataset_info(name: str, cfg: dict | None = None) -> DatasetInfo:
    """What a model needs to know about a configured dataset (size, channels and classes may come from cfg)."""
    cfg = cfg or {}
    if name in DATASETS:
        return DATASETS[name]
    if name == "imagenette":
        settings = {**IMAGENETTE_DEFAULTS, **{k: v for k, v in cfg.items() if k in IMAGENETTE_DEFAULTS}}
        unknown = [c for c in settings["classes"] if c not in IMAGENETTE_CLASSES]
        if unknown:
            raise DatasetError(f"datasets.imagenette.classes: unknown {unknown}; known: {list(IMAGENETTE_CLASSES)}")
        gray = settings["grayscale"]
        return DatasetInfo(
            "imagenette",
            len(settings["classes"]),
            1 if gray else 3,
            settings["size"],
            (0.449,) if gray else (0.485, 0.456, 0.406),
            (0.226,) if gray else (0.229, 0.224, 0.225),
            tuple(IMAGENETTE_CLASSES[c] for c in settings["classes"]),
        )
    if is_synthetic(name):
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
        )
    raise DatasetError(f"datasets: unknown dataset {name!r}; known: {sorted([*DATASETS, *CONFIGURABLE])}")


def is_synthetic(name: str) -> bool:
    """Datasets named synthetic or synthetic_<anything> are generated (freqmaps.synthetic), not read."""
    return name == "synthetic" or name.startswith("synthetic_")


def load_dataset(name: str, split: str, cfg: dict | None = None) -> ImageSet:
    """The ``train`` or ``test`` split of a dataset as configured under ``datasets.<name>``."""
    cfg = cfg or {}
    if is_synthetic(name):
        from freqmaps.synthetic import SyntheticSettings, generate

        info = dataset_info(name, cfg)
        images, labels = generate(SyntheticSettings.from_config(cfg), split)
        return ImageSet(images, labels, info)
    if name == "imagenette":
        if split not in _IMAGENETTE_SPLITS:
            raise ValueError(f"split must be 'train' or 'test', not {split!r}")
        subset = _load_imagenette_split(split, _root(name, cfg.get("root")), cfg, cfg.get("download", False))
        log.info("imagenette/%s: %d images %s", split, len(subset), tuple(subset.images.shape[1:]))
        return subset
    return load_split(name, split, cfg.get("root"), cfg.get("download", False))


def check_source(name: str, root: str | Path | None, download: bool) -> None:
    """Fail fast, naming the config key, when a dataset's files are absent and may not be downloaded."""
    if is_synthetic(name):
        return  # generated, nothing to find
    if name == "imagenette":
        if not download and _imagenette_folder(_root(name, root)) is None:
            raise _imagenette_missing(_root(name, root))
        return
    if name not in DATASETS:
        raise DatasetError(f"datasets: unknown dataset {name!r}; known: {sorted([*DATASETS, *CONFIGURABLE])}")
    if download:
        return
    root = _root(name, root)
    if name == "cifar10":
        present = (root / CIFAR_FOLDER / "test_batch").is_file()
    else:
        present = _find(_idx_folders(name, root), _IDX_FILES["test"][0]) is not None
    if not present:
        hint = " (`make run` installs the Debian package dataset-fashion-mnist)" if name == "fashion_mnist" else ""
        raise DatasetError(
            f"datasets.{name}.root: no {name} files in {root}{hint}; point root at the folder "
            "holding them, or set download: true"
        )


def load_split(name: str, split: str, root: str | Path | None = None, download: bool = False) -> ImageSet:
    """Load the ``train`` or ``test`` split of a dataset by config name."""
    if name not in DATASETS:
        raise DatasetError(f"datasets: unknown dataset {name!r}; known: {sorted(DATASETS)}")
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")
    root = _root(name, root)
    info = DATASETS[name]
    subset = (
        _load_cifar10_split(split, root, download)
        if name == "cifar10"
        else _load_idx_split(info, split, root, download)
    )
    if subset.labels.min() < 0 or subset.labels.max() >= info.num_classes:
        raise DatasetError(f"{name}/{split}: labels outside 0..{info.num_classes - 1}")
    log.info("%s/%s: %d images %s from %s", name, split, len(subset), tuple(subset.images.shape[1:]), root)
    return subset


def head(subset: ImageSet, n: int | None) -> ImageSet:
    """The first ``n`` images (all if ``n`` is None): test sets ship shuffled, so this is a fair sample."""
    if n is None or n >= len(subset):
        return subset
    return ImageSet(subset.images[:n], subset.labels[:n], subset.info)


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


def crop_and_flip(x: torch.Tensor, generator: torch.Generator, padding: int = 4) -> torch.Tensor:
    """The standard recipe: random crop after zero padding, and a horizontal flip with probability 1/2."""
    n, _, h, w = x.shape
    padded = torch.nn.functional.pad(x, (padding,) * 4)
    offsets = torch.randint(0, 2 * padding + 1, (n, 2), generator=generator)
    rows = (offsets[:, 0, None] + torch.arange(h)).to(x.device)
    cols = (offsets[:, 1, None] + torch.arange(w)).to(x.device)
    batch = torch.arange(n, device=x.device)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)
    flip = (torch.rand(n, generator=generator) < 0.5).to(x.device)
    return torch.where(flip[:, None, None, None], out.flip(-1), out)
