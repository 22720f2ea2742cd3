"""Information imbalance (Glielmo et al. 2022), TwoNN intrinsic dimension and IdCor, on exact neighbour ranks.

Ties and duplicate rows: a neighbour rank is undefined under ties, so :func:`information_imbalance` counts
tied distances and reports them (``ties``); TwoNN follows each reference: the authors' variant drops points
with r1 = 0 or r1 = r2, DADApy's keeps them (its mu is then inf or 1).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from freqmaps.stats.neighbours import MEMORY_BYTES, imbalance_ranks, nearest_neighbours, spaces

MIN_TWONN_POINTS = 3  # TwoNN's fit needs at least this many distinct points


def information_imbalance(
    X: torch.Tensor,
    Y: torch.Tensor,
    k: int = 1,
    maxk: int | None = None,
    seed: int = 42,
    memory_bytes: int = MEMORY_BYTES,
) -> dict[str, Any]:
    """Information imbalance Δ(X→Y) and Δ(Y→X) (Glielmo et al. 2022), DADApy's definition.

    Δ(X→Y) = 2/(N² k) Σ_i Σ_{j in the k nearest neighbours of i in X} rank_Y(i, j), with rank 0 for i itself.
    Ranks are exact: Gram distances decide every comparison their error bound allows and float64
    differences decide the rest, so on tie-free data the values equal DADApy's full-rank values bit for
    bit. Memory stays within about ``memory_bytes``. With ``maxk`` (< N - 1) it is DADApy's truncated
    variant: ranks beyond ``maxk`` are drawn uniformly from [maxk + 1, N) by ``default_rng(seed)``, in
    row-major order, X→Y first.
    """
    if X.shape[0] != Y.shape[0]:
        raise ValueError(f"X and Y need the same rows, got {X.shape[0]} and {Y.shape[0]}")
    n = X.shape[0]
    if not 1 <= k < n:
        raise ValueError(f"k must lie in 1..{n - 1}, got {k}")
    result = imbalance_ranks(X, Y, k, memory_bytes=memory_bytes)
    rxy, ryx = result["x_to_y"][0].numpy().astype(np.float64), result["y_to_x"][0].numpy().astype(np.float64)
    if maxk is not None and maxk < n - 1:
        rng = np.random.default_rng(seed)
        for ranks in (rxy, ryx):
            for row, col in zip(*np.nonzero(ranks > maxk), strict=True):
                ranks[row, col] = rng.integers(low=maxk + 1, high=n, size=1)[0]
    return {
        "x_to_y": np.mean(rxy) / (n / 2.0),
        "y_to_x": np.mean(ryx) / (n / 2.0),
        "ties": result["ties"],
        "ranks_x_to_y": rxy,
        "ranks_y_to_x": ryx,
    }


def two_nearest(X: torch.Tensor, memory_bytes: int = MEMORY_BYTES) -> tuple[torch.Tensor, torch.Tensor]:
    """Distances r1 <= r2 to each point's two nearest other points, exact (certified float32 search)."""
    (space,) = spaces(X, memory_bytes=memory_bytes)
    nearest = nearest_neighbours(space, 2, memory_bytes)
    rows = torch.arange(space.n, device=nearest.device)
    exact = space.exact(rows[:, None].expand_as(nearest), nearest).view_as(nearest).sqrt()
    return exact[:, 0], exact[:, 1]


def twonn_dadapy(X: torch.Tensor, fraction: float = 0.9) -> float:
    """TwoNN as DADApy's ``Data(X).compute_id_2NN()``: all points, the first int(N·fraction) sorted log mu."""
    r1, r2 = two_nearest(X)
    log_mu = torch.sort(torch.log(r2 / r1)).values
    n = len(log_mu)
    n_eff = int(n * fraction)
    x = log_mu[:n_eff]
    y = -torch.log(1 - torch.arange(1, n_eff + 1, dtype=torch.float64, device=x.device) / n)
    return ((x * y).sum() / (x * x).sum()).item()


def twonn(X: torch.Tensor, fraction: float = 0.9) -> float:
    """TwoNN as the [P2] authors run it: drop r1 = 0 and r1 = r2, F_i = i/N, drop the last point."""
    r1, r2 = two_nearest(X)
    keep = (r1 > 0) & (r1 != r2)
    mu = torch.sort(r2[keep] / r1[keep]).values
    n = len(mu)
    if n < MIN_TWONN_POINTS:
        raise ValueError(f"TwoNN needs at least {MIN_TWONN_POINTS} distinct points, found {n}")
    n_points = int(math.floor(n * fraction))
    F = torch.arange(1, n + 1, dtype=torch.float64, device=mu.device) / n
    x = torch.log(mu[:-1])[:n_points]
    y = -torch.log(1 - F[:-1])[:n_points]
    return ((x * y).sum() / (x * x).sum()).item()


def idcor_prepare(X: torch.Tensor) -> torch.Tensor:
    """Standardise columns ((x - mean) / (std + 1e-6), ddof 0), then L2-normalise rows."""
    X = X.double()
    X = (X - X.mean(0)) / (X.std(0, unbiased=False) + 1e-6)
    return X / X.norm(dim=1, keepdim=True).clamp(min=1e-300)


def idcor(E: torch.Tensor, A: torch.Tensor, permutations: Sequence[torch.Tensor] | None = None) -> dict[str, Any]:
    """Intrinsic-dimension correlation: (id_E + id_A - id_[E,A]) / max(id_E, id_A), with a permutation null.

    ``permutations`` re-pair the rows of E; p = (#{id of re-paired concat < id_[E,A]} + 1) / (n + 1).
    """
    Ep, Ap = idcor_prepare(E), idcor_prepare(A)
    id_e, id_a = twonn(Ep), twonn(Ap)
    id_ea = twonn(torch.cat([Ep, Ap], 1))
    out: dict[str, Any] = {"value": (id_e + id_a - id_ea) / max(id_e, id_a), "id_E": id_e, "id_A": id_a, "id_EA": id_ea}
    if permutations:
        null_ids = np.array([twonn(torch.cat([Ep[p], Ap], 1)) for p in permutations])
        out["null_id_EA"] = null_ids
        out["null"] = (id_e + id_a - null_ids) / max(id_e, id_a)
        out["p_value"] = (int((null_ids < id_ea).sum()) + 1) / (len(null_ids) + 1)
    return out
