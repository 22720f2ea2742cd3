"""The alignment-map stage: where in the spectrum essential and adversarial maps co-vary across images, per
frequency with permutation p-values under false-discovery control (workflow rule `alignment_map`;
docs/METHOD.md §4.12)."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from freqmaps import figures
from freqmaps.alignment import alignment_map, alignment_rows
from freqmaps.config import defaults_at
from freqmaps.io import sidecar_path, write_csv, write_json
from freqmaps.runtime import provenance
from freqmaps.stages.correlate import kept_pairs
from freqmaps.verdict import FDR_LEVEL

log = logging.getLogger(__name__)


def alignment(
    *,
    essential_path: str | Path,
    adversarial_path: str | Path,
    settings: dict[str, Any],
    dc: str,
    seed: int,
    table_path: str | Path,
    figure_path: str | Path,
    title: str = "",
) -> None:
    """The alignment map of one model and attack: its tidy table (one row per channel and frequency), the
    figure and a sidecar. ``settings``: the config's ``alignment`` section; ``dc``: ``stats.dc``."""
    started = time.time()
    settings = {**defaults_at("alignment"), **settings}  # the schema's defaults where the config is silent
    pairs = kept_pairs(essential_path, adversarial_path)
    result = alignment_map(
        pairs["essential"],
        pairs["adversarial"],
        pairs["labels"],
        settings["n_permutations"],
        seed,
        settings["repairing"],
        FDR_LEVEL,
        test_dc=dc == "include",
    )
    log.info("%d of %d frequencies significant", int(result.significant.sum()), result.rho.numel())
    write_csv(table_path, alignment_rows(result))
    figures.alignment_figure(result, figure_path, title)
    write_json(
        sidecar_path(table_path),
        {
            "essential": str(essential_path),
            "adversarial": str(adversarial_path),
            "n_pairs": result.n_pairs,
            "significant": int(result.significant.sum()),
            "seconds": time.time() - started,
            **provenance("cpu", seed, {**settings, "dc": dc, "fdr": FDR_LEVEL}),
        },
    )
