"""The baselines' agreement stage: every per-image baseline against the essential and adversarial maps of one
attack, each statistic against its nulls, with a reading per baseline, map and level."""

from __future__ import annotations

import logging
import math
import time
from typing import Any

import torch

from freqmaps import stats
from freqmaps.baselines import agreement
from freqmaps.baselines.files import kept_maps, rows_of
from freqmaps.config import setting
from freqmaps.io import load_tensors, sidecar_path, write_csv, write_json
from freqmaps.runtime import provenance, resolve_device

log = logging.getLogger(__name__)

MAP_KINDS = {"essential": "E", "adversarial": "A"}  # map set -> its name in the statistics' directions


def agreement_tables(
    *,
    essential_path,
    adversarial_path,
    baseline_paths: list,
    heat_map_path,
    stats_cfg: dict[str, Any],
    baseline_cfg: dict[str, Any],
    seed: int,
    device: str,
    table_path,
    draws_path,
    threads: int | None = None,
) -> None:
    """Every per-image baseline against the essential and the adversarial maps of one attack, at every level,
    each statistic with its nulls; a reading per (baseline, map, level); the heat map's Pearson correlation with
    the mean kept maps."""
    started = time.time()
    if threads is not None:  # the threads the job was given, not every core of a shared node
        torch.set_num_threads(threads)
    dev = resolve_device(device)
    section = {"baselines": baseline_cfg}  # its own statistics, nulls and k; schema defaults: what the reading uses
    own = {key: setting(section, "baselines", key) for key in ("statistics", "nulls", "k")}
    settings = stats.StatsSettings(**{**stats_cfg, **own})
    levels = setting(section, "baselines", "levels")
    learned = {"essential": kept_maps(essential_path), "adversarial": kept_maps(adversarial_path)}
    rows, draws, readings = [], [], []
    for path in baseline_paths:
        tensors, meta = load_tensors(path)
        for name in meta["baselines"]:
            for kind, data in learned.items():
                names = ("B", MAP_KINDS[kind])
                index = rows_of(tensors, data["ids"])
                labels = data["labels"]
                extra = {"baseline": name, "map": kind}
                found, null_draws = agreement.compare_with_map(
                    tensors[name][index], data["maps"], labels, names, settings, levels, seed, dev
                )
                rows += [{**extra, **row} for row in found]
                draws += [{**extra, **draw} for draw in null_draws]
                for level in levels:
                    level_rows = [r for r in found if r["level"] == level]
                    level_draws = [d for d in null_draws if d["level"] == level]
                    readings.append({**extra, "level": level, **agreement.reading(level_rows, names, level_draws)})
                log.info("%s against %s maps: %d rows", name, kind, len(found))
    if heat_map_path:
        heat, _ = load_tensors(heat_map_path)
        for kind, data in learned.items():
            mean_map = data["maps"].double().mean((0, 1)).flatten()
            value = stats.pearson_per_image(heat["error_rate"].flatten()[None], mean_map[None]).item()
            rows.append(
                {
                    "baseline": "fourier_heat_map",
                    "map": kind,
                    "level": "model",
                    "statistic": "pearson",
                    "n": 1,
                    "value": value if math.isfinite(value) else math.nan,
                    "note": "one heat map per model against the mean kept map: no null",
                }
            )
    write_csv(table_path, rows)
    write_csv(draws_path, draws)
    write_json(
        sidecar_path(table_path),
        {
            "essential": str(essential_path),
            "adversarial": str(adversarial_path),
            "readings": readings,
            "rows": rows,
            "seconds": time.time() - started,
            **provenance(dev, seed, {"stats": stats_cfg, "baselines": baseline_cfg}),
        },
    )
