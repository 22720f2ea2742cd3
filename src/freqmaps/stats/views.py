"""Feature views of the shifted maps: the rows every statistic compares (docs/METHOD.md §4)."""

from __future__ import annotations

import torch

VIEWS = ("maps", "radial_bands", "angular_bands")


def features(maps: torch.Tensor, pool: int = 1, view: str = "maps", n_bands: int = 64) -> torch.Tensor:
    """Rows of statistics inputs from shifted maps [N, C, H, W].

    ``maps``: the flattened maps after max-pooling with kernel ``pool`` (1: none); ``radial_bands`` /
    ``angular_bands``: the L2 energy of each band of the normalised map, channels side by side.
    """
    maps = maps.float()
    if view == "maps":
        if pool > 1:
            maps = torch.nn.functional.max_pool2d(maps, pool)
        return maps.flatten(1)
    from freqmaps.fourier import band_energies

    radial, angular = band_energies(maps, n_bands)
    if view == "radial_bands":
        return radial.flatten(1)
    if view == "angular_bands":
        return angular.flatten(1)
    raise ValueError(f"unknown view {view!r}; known: {VIEWS}")
