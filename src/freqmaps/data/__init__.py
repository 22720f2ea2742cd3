"""Datasets as tensors: images uint8 [N, C, H, W], labels int64 [N], one registry entry per kind of dataset.

One module per concern, each importable on its own (import the module that holds what you use, so that a
workflow stage's code inputs are what it runs):

- :mod:`~freqmaps.data.core`: :class:`ImageSet`, :class:`LazyImages`, :class:`DatasetInfo`, the errors;
- :mod:`~freqmaps.data.registry`: ``DATASETS``, the registry of dataset sources, and loading a configured
  dataset through it (:func:`load_dataset`, :func:`dataset_info`);
- readers, one per kind of file: :mod:`~freqmaps.data.idx` ((Fashion-)MNIST), :mod:`~freqmaps.data.cifar`,
  :mod:`~freqmaps.data.svhn`, :mod:`~freqmaps.data.folders` (PNG/JPEG folders), :mod:`~freqmaps.data.imagenette`,
  :mod:`~freqmaps.data.tensors` (safetensors files), :mod:`~freqmaps.data.generated` (synthetic data);
- :mod:`~freqmaps.data.normalisation`: per-channel statistics, given or measured on the train split;
- :mod:`~freqmaps.data.selection`: which test images are analysed (``SELECTIONS``);
- :mod:`~freqmaps.data.transforms`: resizing and the training augmentations (``AUGMENTATIONS``);
- :mod:`~freqmaps.data.checks`: what the check before any job reads of a dataset's files.

Loaders read the real on-disk formats, optionally letting torchvision download them first; damaged files raise
:class:`DatasetError` naming the file and what is wrong.

The public names are also reachable as ``freqmaps.data.<name>``, imported on first use only (PEP 562), so
importing one module of the package never runs the others. Settings such as ``IN_MEMORY_LIMIT_BYTES`` are read
from their own module: change them there (``freqmaps.data.core.IN_MEMORY_LIMIT_BYTES``).
"""

from __future__ import annotations

from freqmaps._lazy import lazy_exports

_NAMES = {  # the module that defines them -> public names
    "freqmaps.data.core": (
        "DEBIAN_FASHION_MNIST",
        "IN_MEMORY_LIMIT_BYTES",
        "DataWarning",
        "DatasetError",
        "DatasetInfo",
        "ImageSet",
        "LazyImages",
    ),
    "freqmaps.data.registry": (
        "CIFAR10",
        "CIFAR100",
        "DATASETS",
        "FASHION_MNIST",
        "MNIST",
        "SVHN",
        "DatasetSource",
        "dataset_info",
        "dataset_root",
        "dataset_source",
        "load_dataset",
        "load_split",
    ),
    "freqmaps.data.idx": ("check_idx", "read_idx"),
    "freqmaps.data.folders": ("IMAGE_SUFFIXES", "list_image_folder"),
    "freqmaps.data.imagenette": ("IMAGENETTE_CLASSES", "IMAGENETTE_DEFAULTS"),
    "freqmaps.data.tensors": ("CHECKED_BYTES",),
    "freqmaps.data.generated": ("has_planted_bands", "is_synthetic"),
    "freqmaps.data.selection": (
        "SELECTIONS",
        "first_images",
        "head",
        "select_test_images",
        "stratified_images",
        "test_selection",
        "too_few_test_images",
    ),
    "freqmaps.data.transforms": (
        "AUGMENTATIONS",
        "crop_and_flip",
        "no_augmentation",
        "random_affine",
        "random_crop",
        "resize_square",
    ),
    "freqmaps.data.checks": ("check_source", "test_split_size"),
}

__getattr__, __all__ = lazy_exports(__name__, _NAMES)
