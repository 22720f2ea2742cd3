"""Re-pairing nulls, permutation p-values and intervals (bootstrap of per-image means, random halves)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

NULLS = ("random", "within_class")


def repairings(labels: torch.Tensor, kind: str, n: int, generator: torch.Generator) -> list[torch.Tensor]:
    """``n`` permutations of the rows: uniform, or within each class (labels)."""
    size = len(labels)
    out = []
    for _ in range(n):
        if kind == "random":
            out.append(torch.randperm(size, generator=generator))
        elif kind == "within_class":
            perm = torch.arange(size)
            for c in labels.unique():
                members = (labels == c).nonzero().squeeze(1)
                perm[members] = members[torch.randperm(len(members), generator=generator)]
            out.append(perm)
        else:
            raise ValueError(f"unknown null {kind!r}; known: {NULLS}")
    return out


def permutation_p(observed: float, null: np.ndarray, larger_is_related: bool) -> float:
    """One-sided permutation p-value, (#{null at least as extreme} + 1) / (n + 1), over the finite draws; NaN
    when the observed value or every draw is not finite (a NaN compares false, which would read as extreme)."""
    null = np.asarray(null, dtype=np.float64)
    null = null[np.isfinite(null)]
    if not math.isfinite(observed) or not len(null):
        return math.nan
    extreme = null >= observed if larger_is_related else null <= observed
    return (int(extreme.sum()) + 1) / (len(null) + 1)


def bootstrap_interval(
    values: torch.Tensor, n: int, generator: torch.Generator, level: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of per-image values."""
    values = values.double().cpu()
    index = torch.randint(0, len(values), (n, len(values)), generator=generator)
    means = values[index].mean(1).numpy()
    return float(np.quantile(means, (1 - level) / 2)), float(np.quantile(means, (1 + level) / 2))


def half_sample_interval(
    statistic: Callable[[torch.Tensor], np.ndarray],
    observed: np.ndarray,
    size: int,
    n: int,
    generator: torch.Generator,
    level: float = 0.95,
) -> tuple[np.ndarray, np.ndarray]:
    """Interval for statistics that resampling with replacement breaks, from random halves of the rows.

    Neighbour statistics (IdCor, information imbalance) have no rank order among duplicated rows, and CKA and
    SVCCA are inflated by them (a duplicated pair aligns with itself), so the rows are subsampled without
    replacement instead: ``n`` random halves (m = size // 2, kept in their
    original order, so ties still break by index). For a mean-like statistic the spread of half-sample
    values about their own mean equals the standard error at full size (1/m - 1/N = 1/N), so the interval
    is the percentile interval of the half-sample values moved by (observed - their mean), which also
    removes the statistic's finite-size drift. ``statistic(rows)`` returns a vector; so does the interval.
    """
    m = size // 2
    draws = np.array([statistic(torch.randperm(size, generator=generator)[:m].sort().values) for _ in range(n)])
    shift = np.asarray(observed, dtype=np.float64) - draws.mean(0)
    return np.quantile(draws, (1 - level) / 2, axis=0) + shift, np.quantile(draws, (1 + level) / 2, axis=0) + shift
