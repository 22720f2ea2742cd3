"""What the check before any job reads of a configured dataset: its files are there, readable and consistent
(``check_source``), and how many test images it holds where headers or a listing tell it
(``test_split_size``)."""

from __future__ import annotations

from typing import Any

from freqmaps.data.core import DatasetError
from freqmaps.data.registry import DATASETS, dataset_info, dataset_source
from freqmaps.data.selection import SELECTIONS


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


def test_split_size(name: str, cfg: dict[str, Any] | None = None) -> int | None:
    """The number of test images of a configured dataset where headers or a listing tell it without decoding
    images (IDX files, tensors files, image folders: a source's ``count_test_images``); None elsewhere."""
    cfg = cfg or {}
    source = dataset_source(name, cfg)
    count = DATASETS[source].count_test_images
    if cfg.get("download") or count is None:
        return None
    return count(name, source, cfg)
