"""The baselines' heat-map stage: a model's Fourier heat map ([P1]'s sensitivity to single Fourier
perturbations) on the configured test images, and its figure."""

from __future__ import annotations

import logging
import time
from dataclasses import asdict
from typing import Any

from freqmaps.baselines import measures
from freqmaps.baselines.figures import heat_map_figure
from freqmaps.classifier import analysed_images, load_frozen_classifier
from freqmaps.data.selection import head
from freqmaps.io import save_tensors, sidecar_path, write_json
from freqmaps.runtime import provenance, seed_everything

log = logging.getLogger(__name__)


def heat_map(
    *,
    dataset: str,
    data_cfg: dict[str, Any],
    weights_path,
    heat_map_cfg: dict[str, Any],
    seed: int,
    device: str,
    out_path,
    figure_path,
) -> None:
    """The model's Fourier heat map on the first ``n_images`` configured test images (error rate, loss change),
    and its figure."""
    settings = measures.HeatMapSettings(**heat_map_cfg)
    seed_everything(seed)
    classifier = load_frozen_classifier(dataset=dataset, data_cfg=data_cfg, weights_path=weights_path, device=device)
    model, dev = classifier.model, classifier.device
    data = head(analysed_images(dataset, data_cfg, weights_path)[0], settings.n_images)
    started = time.time()
    result = measures.fourier_heat_map(model, data.floats(), data.labels, settings, dev, seed)
    seconds = time.time() - started
    log.info("Fourier heat map of %d images in %.1f s", len(data), seconds)
    meta = {"n_images": len(data), "seconds": seconds, **provenance(dev, seed, asdict(settings))}
    save_tensors(out_path, result, meta)
    write_json(sidecar_path(out_path), meta)
    heat_map_figure(out_path, figure_path)
