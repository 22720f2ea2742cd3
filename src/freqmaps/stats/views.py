"""Feature views of the shifted maps: the rows every statistic compares (docs/METHOD.md §4), and the zero
frequency (DC), which every map keeps and which every statistic handles the same way (§4.1)."""

from __future__ import annotations

import torch

from freqmaps.fourier import dc_index, dc_share, without_dc

__all__ = ["DC_MODES", "VIEWS", "dc_share", "features", "without_dc"]

VIEWS = ("maps", "radial_bands", "angular_bands")
DC_MODES = ("include", "exclude", "separate")  # stats.dc: with DC, without it, without it and reported beside


def features(maps: torch.Tensor, pool: int = 1, view: str = "maps", n_bands: int = 64, dc: bool = True) -> torch.Tensor:
    """Rows of statistics inputs from shifted maps [N, C, H, W].

    ``maps``: the flattened maps after max-pooling with kernel ``pool`` (1: none); ``radial_bands`` /
    ``angular_bands``: the L2 energy of each band of the normalised map, channels side by side. ``dc=False``
    leaves the zero frequency out: unpooled map rows drop its column (one per channel), so every statistic,
    Pearson's centring included, is that of the remaining entries; pooled maps and band energies are
    computed from the maps with DC set to 0 (its pooling cell then holds the largest of its other entries).
    """
    maps = maps.float()
    if not dc:
        if view == "maps" and pool == 1:
            row, column = dc_index(*maps.shape[-2:])
            keep = torch.ones(maps.shape[-2:], dtype=torch.bool)
            keep[row, column] = False
            return maps[..., keep].flatten(1)
        maps = without_dc(maps)
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
