"""The baselines' per-image stage: every configured per-image baseline of one scope, stored like the maps
(shifted spectra [N, C, H, W] under the baseline's name, with the image ids, labels and targets beside them)."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

import torch

from freqmaps import maps
from freqmaps.baselines import measures
from freqmaps.classifier import analysed_images, load_frozen_classifier
from freqmaps.io import load_tensors, save_tensors, sidecar_path, write_json
from freqmaps.runtime import provenance, seed_everything


def per_image(
    *,
    scope: str,
    names: list[str],
    dataset: str,
    data_cfg: dict[str, Any],
    weights_path,
    map_cfg: dict[str, Any],
    seed: int,
    device: str,
    out_path,
    attack_path=None,
) -> None:
    """Every configured per-image baseline of one scope (``clean``: the configured test images; ``attack``: the
    images of one attack file) for all images, ids 0..N-1 as in the map files."""
    wanted = measures.of_scope(scope, names)
    seed_everything(seed)
    classifier = load_frozen_classifier(dataset=dataset, data_cfg=data_cfg, weights_path=weights_path, device=device)
    model, dev = classifier.model, classifier.device
    if scope == "attack":
        tensors, _ = load_tensors(attack_path)
        inputs = measures.BaselineInputs(
            tensors["clean"], tensors["labels"], tensors["adversarial"], tensors["adversarial_labels"]
        )
    else:
        data, _ = analysed_images(dataset, data_cfg, weights_path)  # the images of the map files, same ids
        inputs = measures.BaselineInputs(data.floats(), data.labels)
    settings = maps.MapSettings.from_config(map_cfg)
    out: dict[str, torch.Tensor] = {}
    seconds: dict[str, float] = {}
    for name in wanted:
        started = time.time()
        out.update(measures.per_image_baselines([name], model, inputs, settings, dev))
        seconds[name] = time.time() - started
    out["ids"] = torch.arange(len(inputs.clean))
    out["labels"] = inputs.labels
    out["targets"] = (inputs.labels if inputs.adversarial_labels is None else inputs.adversarial_labels).clone()
    meta = {"scope": scope, "baselines": wanted, "seconds": seconds, **provenance(dev, seed, asdict(settings))}
    save_tensors(out_path, out, meta)
    write_json(sidecar_path(out_path), meta)
