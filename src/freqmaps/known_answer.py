"""Known-answer validation on a synthetic dataset (freqmaps.synthetic): do the maps find the planted bands?

Measured, per model and seed:
- essential maps: the share of each kept map's non-DC L1 mass inside its class's planted band, per class, against
  the band's area share of the spectrum; the claim checked is a mean share >= ``THRESHOLD``. The zero frequency
  (DC: brightness, in no band) is left out of the mass and its share reported beside (``dc_share``).
- the class-mean essential maps recover the layout when each class's mean map correlates best with its own band.
- adversarial maps (per attack): the share of mass in the frequencies only the adversarial class owns, only the
  true class owns, both own, and neither, against the area of each.

A model may assign the empty image (mask all zero) to some class: that class needs no frequency at all for
this model, so its essential maps are empty whatever its band. Such a "blank" class is found by asking the
model (softmax probability at least ``blank_confidence``, else there is none) and reported apart, as are
adversarial maps whose target is the blank class. The planted bands come from the synthetic generator or from
a dataset's ``bands`` file (:func:`planted_bands`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from freqmaps.classifier import FrozenClassifier, load_frozen_classifier
from freqmaps.data.generated import has_planted_bands, is_synthetic
from freqmaps.fourier import dc_share
from freqmaps.io import load_tensors, write_csv, write_json
from freqmaps.outcomes import KEPT
from freqmaps.synthetic import SyntheticSettings, attack_regions, band_mass, class_bands, read_bands

THRESHOLD = 0.7  # mean share of an essential map's non-DC L1 mass inside its class's band
EMPTY = 1e-3  # a map whose mean entry is below this is empty
NO_BLANK = -1  # no class is the blank class: the model gives the empty image no confident class


def _nonempty(maps_: torch.Tensor) -> torch.Tensor:
    return maps_.abs().flatten(1).mean(1) > EMPTY


def blank_class(classifier: FrozenClassifier, confidence: float = 0.5) -> int:
    """The class the model gives the empty image (what an all-zero mask produces), when its softmax
    probability is at least ``confidence``; else :data:`NO_BLANK` (argmax alone would name a class for a
    model that has none, e.g. at probability 0.376)."""
    info = classifier.info
    empty = torch.zeros(1, info.channels, info.size, info.size, device=classifier.device)
    with torch.no_grad():
        probabilities = torch.softmax(classifier.model(empty).double(), dim=1)[0]
    top = int(probabilities.argmax())
    return top if probabilities[top] >= confidence else NO_BLANK


def require_planted_bands(dataset: str, data_cfg: dict[str, Any]) -> None:
    """An error naming the key when a dataset has no planted bands (before any model or map is read)."""
    if not has_planted_bands(dataset, data_cfg):
        raise ValueError(
            f"known answer: dataset {dataset!r} has no planted bands; set datasets.{dataset}.bands to a safetensors "
            "file holding bool `bands` [classes, H, W] (or use a synthetic dataset)"
        )


def planted_bands(dataset: str, data_cfg: dict[str, Any], n_classes: int, size: int) -> torch.Tensor:
    """The planted frequencies of a dataset, bool [classes, size, size] (shifted): generated ones for synthetic
    data, else the dataset's ``bands`` file; a dataset with neither is an error naming the key."""
    require_planted_bands(dataset, data_cfg)
    if is_synthetic(dataset, data_cfg):
        return class_bands(SyntheticSettings.from_config(data_cfg))
    return read_bands(data_cfg["bands"], f"datasets.{dataset}.bands", n_classes, size)


def essential_answer(essential: dict[str, torch.Tensor], bands: torch.Tensor, blank: int) -> dict[str, Any]:
    kept = essential["outcome"] == KEPT
    maps_, labels = essential["maps"][kept], essential["labels"][kept]
    share = band_mass(maps_, bands[labels])
    dc = dc_share(maps_)
    areas = bands.flatten(1).double().mean(1)
    classes = []
    for c in range(len(bands)):
        members = labels == c
        mean_map = maps_[members].double().abs().mean((0, 1)) if members.any() else None
        correlations = (
            torch.stack([torch.corrcoef(torch.stack([mean_map.flatten(), b.double().flatten()]))[0, 1] for b in bands])
            if mean_map is not None and mean_map.std() > 0
            else None
        )
        classes.append(
            {
                "class": c,
                "blank": c == blank,
                "kept_maps": int(members.sum()),
                "band_area": float(areas[c]),
                "mass_in_band_mean": float(share[members].mean()) if members.any() else float("nan"),
                "mass_in_band_median": float(share[members].median()) if members.any() else float("nan"),
                "maps_at_threshold": float((share[members] >= THRESHOLD).double().mean()) if members.any() else 0.0,
                "dc_share_mean": float(dc[members].mean()) if members.any() else float("nan"),
                "empty_maps": int((~_nonempty(maps_[members])).sum()),
                "mean_map_best_band": int(correlations.argmax()) if correlations is not None else -1,
            }
        )
    judged = [row for row in classes if not row["blank"] and row["kept_maps"]]
    members = labels != blank
    return {
        "blank_class": blank if blank != NO_BLANK else None,
        "threshold": THRESHOLD,
        "mass_in_band_mean": float(share[members].mean()) if members.any() else float("nan"),
        "band_area_mean": float(areas[labels[members]].mean()) if members.any() else float("nan"),
        "dc_share_mean": float(dc[members].mean()) if members.any() else float("nan"),
        "meets_threshold": bool(members.any() and share[members].mean() >= THRESHOLD),
        "layout_recovered": sum(row["mean_map_best_band"] == row["class"] for row in judged),
        "layout_classes": len(judged),
        "classes": classes,
    }


def adversarial_answer(adversarial: dict[str, torch.Tensor], bands: torch.Tensor, blank: int) -> dict[str, Any]:
    kept = adversarial["outcome"] == KEPT
    judged = kept & (adversarial["targets"] != blank)
    judged[judged.clone()] &= _nonempty(adversarial["maps"][judged])
    regions = attack_regions(bands, adversarial["labels"][judged], adversarial["targets"][judged])
    out: dict[str, Any] = {
        "kept_maps": int(kept.sum()),
        "judged_maps": int(judged.sum()),
        "to_blank_class": int((kept & (adversarial["targets"] == blank)).sum()),
        "dc_share_mean": float(dc_share(adversarial["maps"][judged]).mean()) if judged.any() else None,
    }
    for name, region in regions.items():
        out[f"{name}_mass"] = float(band_mass(adversarial["maps"][judged], region).mean()) if judged.any() else None
        out[f"{name}_area"] = float(region.flatten(1).double().mean(1).mean()) if judged.any() else None
    return out


def known_answer(
    *,
    dataset: str,
    data_cfg: dict[str, Any],
    weights_path: str | Path,
    essential_path: str | Path,
    adversarial_paths: dict[str, str],
    device: str,
    out: dict[str, str],
    blank_confidence: float = 0.5,
) -> None:
    """Every known-answer measure of one model: a JSON record, a per-class table and the layout figure."""
    from freqmaps import figures

    require_planted_bands(dataset, data_cfg)
    classifier = load_frozen_classifier(dataset=dataset, data_cfg=data_cfg, weights_path=weights_path, device=device)
    info = classifier.info
    bands = planted_bands(dataset, data_cfg, info.num_classes, info.size)
    blank = blank_class(classifier, blank_confidence)
    essential, _ = load_tensors(essential_path)
    record = {"essential": essential_answer(essential, bands, blank), "adversarial": {}}
    adversarial = {}
    for attack, path in adversarial_paths.items():
        adversarial[attack], _ = load_tensors(path)
        record["adversarial"][attack] = adversarial_answer(adversarial[attack], bands, blank)
    write_json(out["sidecar"], record)
    write_csv(out["classes"], record["essential"]["classes"])
    figures.planted_and_learned(bands, essential, adversarial, classifier.info.class_names, out["figure"])
