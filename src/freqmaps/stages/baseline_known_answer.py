"""The baselines' known-answer stage: which measure, learned maps or baseline, recovers the planted bands."""

from __future__ import annotations

from typing import Any

import torch

from freqmaps.baselines import agreement
from freqmaps.baselines.files import baseline_file, kept_maps, rows_of
from freqmaps.classifier import load_frozen_classifier
from freqmaps.fourier import dc_index, without_dc
from freqmaps.io import load_tensors, sidecar_path, write_csv, write_json
from freqmaps.known_answer import NO_BLANK, blank_class, planted_bands, require_planted_bands
from freqmaps.runtime import provenance


def known_answer(
    *,
    dataset: str,
    data_cfg: dict[str, Any],
    weights_path,
    essential_path,
    adversarial_paths: dict[str, str],
    clean_baselines_path,
    attack_baseline_paths: dict[str, str],
    heat_map_path,
    device: str,
    out_path,
    blank_confidence: float = 0.5,
) -> None:
    """Which measure recovers the planted bands: learned maps and every baseline, one table (precision, recall).

    Clean-image measures and essential maps are judged against the true class's band, attacked-image measures
    and adversarial maps against the adversarial class's band; a baseline keeps its top-m entries per image,
    m the support of the learned map of the same kind on that image. The zero frequency (in no band) is left
    out of the supports, the top-m and the mass (docs/METHOD.md §4.1); its share is a column. Images of the
    class the model gives the empty image are left out, as in the known-answer check of the maps.
    """
    require_planted_bands(dataset, data_cfg)
    classifier = load_frozen_classifier(dataset=dataset, data_cfg=data_cfg, weights_path=weights_path, device=device)
    bands = planted_bands(dataset, data_cfg, classifier.info.num_classes, classifier.info.size)
    blank = blank_class(classifier, blank_confidence)
    rows = []

    def judge(measure: str, attack: str, learned: dict[str, torch.Tensor], baselines: dict | None, band: str) -> None:
        classes = learned["labels"] if band == "true" else learned["targets"]
        use = classes != blank
        data = {key: value[use] for key, value in learned.items()}
        chosen = without_dc(agreement.support(data["maps"]).any(1))  # DC is in no band: judged apart
        where = {"attack": attack, "band": band}
        rows.append({"measure": measure, **where, **agreement.band_recovery(data["maps"], chosen, bands, classes[use])})
        m = chosen.flatten(1).sum(1)
        for name in (baselines or {}).get("names", []):
            values = baselines["tensors"][name][rows_of(baselines["tensors"], data["ids"])]
            scores = values.double().abs().sum(1)
            scores[(..., *dc_index(*scores.shape[-2:]))] = -1.0  # the top m among the non-DC entries
            top = agreement.top_m(scores, m)
            rows.append({"measure": name, **where, **agreement.band_recovery(values, top, bands, classes[use])})

    essential = kept_maps(essential_path)
    clean = baseline_file(clean_baselines_path)
    if heat_map_path:
        heat, _ = load_tensors(heat_map_path)
        clean["tensors"]["fourier_heat_map"] = heat["error_rate"].expand(len(clean["tensors"]["ids"]), 1, -1, -1)
        clean["names"].append("fourier_heat_map")
    judge("essential_maps", "", essential, clean, "true")
    for attack, path in adversarial_paths.items():
        judge("adversarial_maps", attack, kept_maps(path), baseline_file(attack_baseline_paths[attack]), "adversarial")
    write_csv(out_path, rows)
    write_json(
        sidecar_path(out_path),
        {"blank_class": None if blank == NO_BLANK else blank, "rows": rows, **provenance(classifier.device, None)},
    )
