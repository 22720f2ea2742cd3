"""The statistics stage: every configured statistic between E and A, each against its nulls (workflow rule
`correlate`; docs/METHOD.md §4)."""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any

import torch

from freqmaps import stats
from freqmaps.io import load_tensors, sidecar_path, write_csv, write_json
from freqmaps.outcomes import both_kept, stopped_at_max_steps, why_no_pairs
from freqmaps.runtime import provenance, resolve_device

log = logging.getLogger(__name__)


def kept_pairs(essential_path: str | Path, adversarial_path: str | Path) -> dict[str, Any]:
    """Rows of E and A for the images that have both a kept essential and a kept adversarial map; with none,
    ``no_pairs`` says why (no successful attack, no map kept, ...) and the rows are empty."""
    (essential, e_meta), (adversarial, a_meta) = load_tensors(essential_path), load_tensors(adversarial_path)
    ids, e_idx, a_idx = both_kept(essential, adversarial)
    return {
        "no_pairs": "" if len(ids) else why_no_pairs(essential, adversarial),
        "ids": ids,
        "essential": essential["maps"][e_idx],
        "adversarial": adversarial["maps"][a_idx],
        "labels": essential["labels"][e_idx],
        "adversarial_labels": adversarial["targets"][a_idx],
        "at_max_steps": {  # share of the pairs whose map stopped at max_steps, not converged (§2)
            f"{kind}_at_max_steps": _at_max_steps(maps_.get("steps"), idx, meta)
            for kind, maps_, meta, idx in (
                ("essential", essential, e_meta, e_idx),
                ("adversarial", adversarial, a_meta, a_idx),
            )
        },
    }


def _at_max_steps(steps: torch.Tensor | None, rows: torch.Tensor, meta: dict[str, Any]) -> float:
    """Share of the given maps whose optimisation used its whole ``max_steps`` budget (NaN when the file records
    no steps or settings)."""
    max_steps = meta.get("settings", {}).get("max_steps")
    if steps is None or max_steps is None or not len(rows):
        return math.nan
    return float(stopped_at_max_steps(steps[rows], max_steps).double().mean())


def correlate(
    *,
    essential_path: str | Path,
    adversarial_path: str | Path,
    stats_cfg: dict[str, Any],
    seed: int,
    device: str,
    table_path: str | Path,
    per_image_path: str | Path,
    null_draws_path: str | Path,
    threads: int | None = None,
) -> None:
    """Every configured statistic between E and A, each against its nulls: a flat table (``view`` then the
    columns of :func:`freqmaps.stats.compare`), the null draws in long format, per-image values and a sidecar."""
    started = time.time()
    if threads is not None:  # the threads the job was given, not every core of a shared node
        torch.set_num_threads(threads)
    dev = resolve_device(device)
    pairs = kept_pairs(essential_path, adversarial_path)
    settings = stats.StatsSettings(**stats_cfg)
    if pairs["no_pairs"]:  # this branch fails alone: its rows say why, the other branches' verdict goes on
        log.warning("%s and %s: nothing to correlate: %s", essential_path, adversarial_path, pairs["no_pairs"])
    rows, draws, details, per_image = [], [], {}, []
    for number, view in enumerate(settings.views, 1):
        log.info("statistics, view %d of %d (%s): %d image pairs", number, len(settings.views), view, len(pairs["ids"]))
        if pairs["no_pairs"]:
            result = stats.not_compared(settings, pairs["no_pairs"])
        else:
            result = stats.compare_maps(
                pairs["essential"], pairs["adversarial"], pairs["labels"], settings, seed, dev, view
            )
        for row in result.rows:
            note = row.pop("note")
            rows.append({"view": view, **row, **pairs["at_max_steps"], "note": note})
        draws += [{"view": view, **draw} for draw in result.null_draws]
        details[view] = result.details
        if view == "maps":
            per_image = result.per_image
        log.info("view %s done after %.1f s", view, time.time() - started)
    write_csv(table_path, rows)
    write_csv(null_draws_path, draws, columns=("view", "statistic", "direction", "k", "null", "draw", "value"))
    write_csv(
        per_image_path,
        [
            {"id": int(i), "label": int(y), "adversarial_label": int(a), **vals}
            for i, y, a, vals in zip(pairs["ids"], pairs["labels"], pairs["adversarial_labels"], per_image, strict=True)
        ],
        columns=("id", "label", "adversarial_label"),
    )
    write_json(
        sidecar_path(table_path),
        {
            "essential": str(essential_path),
            "adversarial": str(adversarial_path),
            "n_pairs": len(pairs["ids"]),
            "no_pairs": pairs["no_pairs"],
            "details": details,
            "seconds": time.time() - started,
            **provenance(dev, seed, stats_cfg),
        },
    )
