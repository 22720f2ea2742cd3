"""Contrasts between two (model, attack) cells: is a statistic of E and A larger in one cell than in the other,
on the same test images (docs/METHOD.md §4.11)?

A cell is one model and attack of a run: its kept pairs of essential and adversarial maps, by image id. Two
cells of one dataset and seed saw the same test images, so their values are not independent: an image whose
maps align in one cell tends to align in the other. The contrast therefore keeps the images kept in *both*
cells (:func:`common_rows`) and resamples them *jointly*:

- the **difference** value_a - value_b of every registry statistic (every row: direction, k), each computed
  exactly as the verdict computes it (:func:`freqmaps.stats.statistic_values`);
- its **paired interval**: the same resampled images in both cells, with the statistic's own method (a
  percentile bootstrap of the images for the per-image means, random halves of the images for the others,
  :func:`freqmaps.stats.half_sample_interval`);
- its **paired permutation p-value**: under "the two cells do not differ", which cell an image's pair of maps
  came from is exchangeable image by image, so each draw swaps the two cells' pairs of a random half of the
  images (each image with probability 1/2) and recomputes the difference; two-sided p =
  ``(#{|difference*| >= |difference|} + 1) / (draws + 1)``. The same swaps serve every statistic and view.
  The draws' mean, standard deviation and normality p-value go beside it, so that the verdict can use the
  normal-tail p-value instead (``stats.p_value``, ``freqmaps.verdict.contrast_p_columns``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from freqmaps.stats import (
    STATISTICS,
    StatsSettings,
    features,
    half_sample_interval,
    statistic_generator,
    statistic_layout,
    statistic_values,
)
from freqmaps.stats.compare import LEVEL, defined_mean
from freqmaps.verdict import normality_p

COLUMNS = (
    "statistic",
    "direction",
    "k",
    "n_pairs",
    "value_a",
    "value_b",
    "difference",
    "ci_low",
    "ci_high",
    "ci_method",
    "related_when",
    "p_value",
    "permutations",
    "null_mean",
    "null_sd",
    "normality_p",
)


@dataclass(frozen=True)
class Cell:
    """One (model, attack) cell: the image ids of its kept pairs and their shifted maps [N, C, H, W]."""

    ids: torch.Tensor
    essential: torch.Tensor
    adversarial: torch.Tensor


def common_rows(ids_a: torch.Tensor, ids_b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The image ids kept in both cells (ascending) and their rows in each cell."""
    row_a = {int(i): r for r, i in enumerate(ids_a.tolist())}
    row_b = {int(i): r for r, i in enumerate(ids_b.tolist())}
    common = sorted(row_a.keys() & row_b.keys())
    return (
        torch.tensor(common, dtype=torch.long),
        torch.tensor([row_a[i] for i in common], dtype=torch.long),
        torch.tensor([row_b[i] for i in common], dtype=torch.long),
    )


def swaps(n: int, count: int, generator: torch.Generator) -> torch.Tensor:
    """``count`` swap patterns [count, n]: True where an image's pairs trade cells (probability 1/2 each)."""
    return torch.rand(count, n, generator=generator) < 0.5


def permutation_p_two_sided(observed: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """Per row, ``(#{|draw| >= |observed|} + 1) / (draws + 1)``; NaN where the observed value is NaN. A tolerance of
    1e-12 relative keeps a difference recomputed in another order from counting as smaller."""
    observed = np.asarray(observed, dtype=np.float64)
    size = np.abs(observed) * (1 - 1e-12)
    at_least = (np.abs(draws) >= size).sum(0)
    p = (at_least + 1) / (len(draws) + 1)
    return np.where(np.isfinite(observed), p, math.nan)


def swap_null_summary(draws: np.ndarray, observed: float) -> tuple[float, float, float]:
    """Mean, standard deviation (population, as the stats tables') and D'Agostino-Pearson normality p-value
    (:func:`freqmaps.verdict.normality_p`) of one row's swap draws, from which the verdict computes the
    normal-tail p-value; NaN where the difference or the draws are not finite."""
    draws = np.asarray(draws, dtype=np.float64)
    if not len(draws) or not math.isfinite(observed) or not np.isfinite(draws).all():
        return math.nan, math.nan, math.nan
    return float(draws.mean()), float(draws.std()), normality_p(draws)


def contrast_rows(
    Ea: torch.Tensor,
    Aa: torch.Tensor,
    Eb: torch.Tensor,
    Ab: torch.Tensor,
    settings: StatsSettings,
    seed: int,
    stream: str = "",
) -> list[dict[str, Any]]:
    """Every configured statistic in cell a (rows Ea, Aa) and cell b (Eb, Ab), row i of each the same image:
    value_a, value_b, their difference, its paired interval and its paired permutation p-value
    (``stats.n_null`` swap draws), and the swap draws' mean, sd and normality p-value
    (``swap_null_summary``), one dict per statistic row in ``COLUMNS`` order.

    A statistic that is the mean of per-image values (cosine, Pearson) is resampled through its per-image
    differences d_i: the bootstrap averages resampled d_i, and a swap flips the sign of d_i (exactly what
    recomputing it on swapped pairs gives). Any other statistic is recomputed on the resampled or swapped pairs."""
    n = len(Ea)
    if not len(Eb) == len(Aa) == len(Ab) == n:
        raise ValueError(f"cells must hold the same images: {len(Ea)}, {len(Aa)}, {len(Eb)}, {len(Ab)} rows")
    Ea, Aa, Eb, Ab = (x.double() for x in (Ea, Aa, Eb, Ab))
    patterns = swaps(n, settings.n_null, statistic_generator(seed, "contrast_swaps", stream)).to(Ea.device)
    rows = []
    for name in settings.statistics:
        entry = STATISTICS[name]
        (value_a, per_image_a), (value_b, per_image_b) = (
            statistic_values(name, E, A, settings) for E, A in ((Ea, Aa), (Eb, Ab))
        )
        generator = statistic_generator(seed, name, f"contrast/{stream}")
        if per_image_a is not None and per_image_b is not None:
            # the images where the per-image statistic is defined in both cells (stats.compare.defined_mean)
            both = torch.isfinite(per_image_a) & torch.isfinite(per_image_b)
            value_a, value_b = (np.array([defined_mean(v[both])]) for v in (per_image_a, per_image_b))
            difference = _mean_difference((per_image_a - per_image_b).double().cpu())  # NaN where undefined
        else:
            difference = _recomputed_difference(name, Ea, Aa, Eb, Ab, settings)
        observed = value_a - value_b
        low, high = _paired_interval(entry.ci_method, difference, observed, n, settings, generator)
        draws = np.array([difference(swap=pattern) for pattern in patterns]).reshape(len(patterns), -1)
        p = permutation_p_two_sided(observed, draws) if len(draws) else np.full(len(observed), math.nan)
        for i, (direction, k) in enumerate(statistic_layout(name, settings)):
            values = (name, direction, k, n, float(value_a[i]), float(value_b[i]), float(observed[i]))
            values += (float(low[i]), float(high[i]), entry.ci_method, entry.related_when, float(p[i]), len(draws))
            values += swap_null_summary(draws[:, i], float(observed[i]))
            rows.append(dict(zip(COLUMNS, values, strict=True)))
    return rows


def _mean_difference(per_image: torch.Tensor) -> Callable[..., np.ndarray]:
    """The difference of a per-image mean on resampled images (``index``) or swapped pairs (``swap``: d_i
    changes sign), from the per-image differences d_i."""

    def difference(index: torch.Tensor | None = None, swap: torch.Tensor | None = None) -> np.ndarray:
        d = per_image if index is None else per_image[index.cpu()]
        if swap is not None:
            d = torch.where(swap.cpu(), -d, d)
        return np.array([defined_mean(d)])  # over the images defined in both cells

    return difference


def _recomputed_difference(
    name: str, Ea: torch.Tensor, Aa: torch.Tensor, Eb: torch.Tensor, Ab: torch.Tensor, settings: StatsSettings
) -> Callable[..., np.ndarray]:
    """The difference of statistic ``name`` recomputed on resampled images (``index``) or on the cells with the
    pairs of the images in ``swap`` traded."""

    def difference(index: torch.Tensor | None = None, swap: torch.Tensor | None = None) -> np.ndarray:
        ea, aa, eb, ab = (x if index is None else x[index.to(x.device)] for x in (Ea, Aa, Eb, Ab))
        if swap is not None:
            s = swap[:, None]
            ea, eb = torch.where(s, eb, ea), torch.where(s, ea, eb)
            aa, ab = torch.where(s, ab, aa), torch.where(s, aa, ab)
        return statistic_values(name, ea, aa, settings)[0] - statistic_values(name, eb, ab, settings)[0]

    return difference


def _paired_interval(
    method: str,
    difference: Callable[..., np.ndarray],
    observed: np.ndarray,
    n: int,
    settings: StatsSettings,
    generator: torch.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """The difference's interval from images resampled jointly in both cells, by the statistic's own method:
    percentile bootstrap (``stats.n_bootstrap`` draws) or random halves (``stats.n_half_samples``)."""
    nan = np.full(len(observed), math.nan)
    if n < 2:
        return nan, nan
    if method == "bootstrap":
        draws = np.array(
            [difference(torch.randint(0, n, (n,), generator=generator)) for _ in range(settings.n_bootstrap)]
        )
        alpha = (1 - LEVEL) / 2
        return np.quantile(draws, alpha, axis=0), np.quantile(draws, 1 - alpha, axis=0)
    if n < 4:  # each half needs two pairs to centre
        return nan, nan
    return half_sample_interval(difference, observed, n, settings.n_half_samples, generator, LEVEL)


def contrast_maps(
    a: Cell, b: Cell, settings: StatsSettings, seed: int, device: torch.device, view: str = "maps"
) -> list[dict[str, Any]]:
    """:func:`contrast_rows` of two cells' maps on the images kept in both, in one view, the zero frequency
    treated as the verdict's value treats it (left out unless ``stats.dc`` is ``include``)."""
    ids, rows_a, rows_b = common_rows(a.ids, b.ids)
    if not len(ids):
        raise ValueError("the two cells share no image with both maps kept in each: nothing to contrast")
    dc = settings.dc == "include"

    def rows_of(maps: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        return features(maps[rows], settings.pool, view, settings.n_bands, dc=dc).to(device)

    return contrast_rows(
        rows_of(a.essential, rows_a),
        rows_of(a.adversarial, rows_a),
        rows_of(b.essential, rows_b),
        rows_of(b.adversarial, rows_b),
        settings,
        seed,
        view,
    )
