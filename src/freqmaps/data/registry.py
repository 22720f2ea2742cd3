"""The dataset registry: ``DATASETS`` maps each source name (the schema's ``datasets.<name>.source`` enum) to a
:class:`~freqmaps.data.DatasetSource` (what the dataset is, how to check its files before any job runs, how to load
a split), and the functions that resolve a configured dataset through it.

Each kind of file has its reader module (``idx``, ``cifar``, ``svhn``, ``folders``, ``imagenette``, ``tensors``,
``generated``); this module is the one place that names them all. Images reach models as float in [0, 1];
normalisation lives in the model, so masks and attacks act in pixel space."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from freqmaps.data import cifar, folders, generated, idx, imagenette, svhn, tensors
from freqmaps.data.core import DatasetError, DatasetInfo, ImageSet, LazyImages, configured_root
from freqmaps.data.generated import is_synthetic
from freqmaps.data.transforms import AUGMENTATIONS, resize_square

log = logging.getLogger(__name__)


def _fixed(info: DatasetInfo) -> Callable[[str, dict[str, Any]], DatasetInfo]:
    return lambda name, cfg: replace(info, name=name)


@dataclass(frozen=True)
class DatasetSource:
    """One kind of dataset: its description, the checks run before any job, and the loader of a split.

    ``count_test_images`` (optional) gives the test split's size from headers or a listing, without decoding
    images, for the check before any job. A reader module provides these functions as ``describe`` (where the
    description is read from the files), ``check``, ``load`` and ``count_test_images``."""

    info: Callable[[str, dict[str, Any]], DatasetInfo]
    check: Callable[[str, str, dict[str, Any]], None]
    load: Callable[[DatasetInfo, str, str, dict[str, Any]], ImageSet]
    selection: str = "first"  # default choice of the analysed test images (a key of SELECTIONS)
    count_test_images: Callable[[str, str, dict[str, Any]], int] | None = None


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
    "fashion_mnist": DatasetSource(_fixed(FASHION_MNIST), idx.check, idx.load, "first", idx.count_test_images),
    "mnist": DatasetSource(_fixed(MNIST), idx.check, idx.load, "first", idx.count_test_images),
    "cifar10": DatasetSource(_fixed(CIFAR10), cifar.check, cifar.load),
    "cifar100": DatasetSource(_fixed(CIFAR100), cifar.check, cifar.load),
    "svhn": DatasetSource(_fixed(SVHN), svhn.check, svhn.load),
    "imagenette": DatasetSource(imagenette.describe, imagenette.check, imagenette.load),
    "image_folder": DatasetSource(
        folders.describe, folders.check, folders.load, "stratified", folders.count_test_images
    ),
    "tensors": DatasetSource(tensors.describe, tensors.check, tensors.load, "stratified", tensors.count_test_images),
    "synthetic": DatasetSource(generated.describe, generated.check, generated.load),
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
    return configured_root(dataset_source(name, cfg), cfg or {})


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
