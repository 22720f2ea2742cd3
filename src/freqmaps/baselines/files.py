"""Reading the baselines stage's files beside the maps: the kept maps, a per-image baselines file and its rows,
and class means of both (shared by the stage and its figures)."""

from __future__ import annotations

import math
from typing import Any

import torch

from freqmaps.io import load_tensors
from freqmaps.outcomes import KEPT


def kept_maps(path) -> dict[str, torch.Tensor]:
    """The kept maps of one maps file with their ids, labels and targets, in file order. Each map set is
    compared with the baselines on its own kept images, not only on those kept in both sets
    (:func:`freqmaps.outcomes.both_kept`)."""
    tensors, _ = load_tensors(path)
    kept = tensors["outcome"] == KEPT
    return {key: tensors[key][kept] for key in ("maps", "ids", "labels", "targets")}


def rows_of(baselines: dict[str, torch.Tensor], ids: torch.Tensor) -> torch.Tensor:
    """Rows of a per-image baseline file for the given image ids."""
    row = {int(i): r for r, i in enumerate(baselines["ids"].tolist())}
    return torch.tensor([row[int(i)] for i in ids], dtype=torch.long)


def baseline_file(path) -> dict[str, Any]:
    """A per-image baselines file: its tensors and the names of the baselines it holds."""
    tensors, meta = load_tensors(path)
    return {"tensors": tensors, "names": list(meta["baselines"])}


def class_mean_baselines(learned_path, baseline_paths: list, key: str = "labels") -> dict[str, torch.Tensor]:
    """Mean kept map and mean of every baseline over the same images, per class: name -> [K, H, W] (channel
    means; a class with no kept map is NaN)."""
    data = kept_maps(learned_path)
    classes = data[key]
    out = {"map": data["maps"]}
    for path in baseline_paths:
        base = baseline_file(path)
        for name in base["names"]:
            out[name] = base["tensors"][name][rows_of(base["tensors"], data["ids"])]
    k = int(max(classes.max().item() + 1, 1)) if len(classes) else 1
    means = {}
    for name, values in out.items():
        per_class = torch.full((k, *values.shape[-2:]), math.nan, dtype=torch.float64)
        for c in classes.unique():
            per_class[c] = values[classes == c].double().mean((0, 1))
        means[name] = per_class
    return means
