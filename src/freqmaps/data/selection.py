"""Which test images are analysed: the selections (``SELECTIONS``: the first n, or a seeded class-stratified
sample), a configured dataset's choice of them, and the warning when it asks for more than its test split holds."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from freqmaps.config import setting
from freqmaps.data.core import ImageSet
from freqmaps.data.registry import DATASETS, dataset_source, load_dataset

log = logging.getLogger(__name__)


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
