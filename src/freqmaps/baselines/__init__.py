"""Cheap frequency measures beside the learned maps (docs/METHOD.md §11): the measures and their registry
(``measures``), and how far they agree with the maps and recover planted bands (``agreement``)."""

from freqmaps.baselines.measures import (
    BASELINES,
    SCOPES,
    Baseline,
    BaselineInputs,
    HeatMapSettings,
    fourier_heat_map,
    fourier_heat_map_loop,
    of_scope,
    per_image_baselines,
)

__all__ = [
    "BASELINES",
    "SCOPES",
    "Baseline",
    "BaselineInputs",
    "HeatMapSettings",
    "fourier_heat_map",
    "fourier_heat_map_loop",
    "of_scope",
    "per_image_baselines",
]
