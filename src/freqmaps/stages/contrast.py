"""The contrast stage: every configured statistic's difference between two (model, attack) cells of one dataset
and seed, with its paired interval and paired permutation p-value (workflow rule `contrast`; docs/METHOD.md
§4.11). The summary adjusts the p-values together with the verdict's."""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from freqmaps import stats
from freqmaps.contrasts import Cell, contrast_maps
from freqmaps.io import sidecar_path, write_csv, write_json
from freqmaps.runtime import provenance, resolve_device
from freqmaps.stages.correlate import kept_pairs

log = logging.getLogger(__name__)


def contrast(
    *,
    maps: dict[str, tuple[str | Path, str | Path]],
    stats_cfg: dict[str, Any],
    statistics: list[str],
    views: list[str],
    seed: int,
    device: str,
    table_path: str | Path,
    threads: int | None = None,
) -> None:
    """``maps`` holds (essential, adversarial) maps files of cell ``a`` and cell ``b``; writes one row per view,
    statistic, direction and k (``view`` then :data:`freqmaps.contrasts.COLUMNS`) and a sidecar."""
    started = time.time()
    if threads is not None:
        torch.set_num_threads(threads)
    dev = resolve_device(device)
    settings = replace(stats.StatsSettings(**stats_cfg), statistics=list(statistics), views=list(views))
    cells = {}
    for side in ("a", "b"):
        pairs = kept_pairs(*maps[side])
        cells[side] = Cell(pairs["ids"], pairs["essential"], pairs["adversarial"])
    rows = []
    for view in settings.views:
        log.info("contrast, view %s: %d and %d kept pairs", view, len(cells["a"].ids), len(cells["b"].ids))
        rows += [{"view": view, **row} for row in contrast_maps(cells["a"], cells["b"], settings, seed, dev, view)]
        log.info("view %s done after %.1f s", view, time.time() - started)
    write_csv(table_path, rows)
    write_json(
        sidecar_path(table_path),
        {
            "maps": {side: [str(p) for p in paths] for side, paths in maps.items()},
            "n_pairs": rows[0]["n_pairs"] if rows else 0,
            "seconds": time.time() - started,
            **provenance(dev, seed, {**stats_cfg, "statistics": statistics, "views": views}),
        },
    )
