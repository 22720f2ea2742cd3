"""Statistics between essential maps E and adversarial maps A, one row per image (METHOD.md §4).

Everything runs in torch (GPU when present). Neighbour statistics use float64 distances with the point
itself first in its own neighbour list and ties broken by index (a stable order), which is how DADApy
ranks; on tie-free data the full-rank information imbalance is bit-identical to DADApy's.

Ties and duplicate rows: a neighbour rank is undefined under ties, so :func:`information_imbalance`
counts tied distances and reports them (``ties``); TwoNN follows each reference: the authors' variant
drops points with r1 = 0 or r1 = r2, DADApy's keeps them (its mu is then inf or 1).

Nulls re-pair the rows of A against E: at random, or within the same class, which keeps the class
structure and removes only per-image structure.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

STATISTICS = ("cosine", "pearson", "cka", "svcca", "idcor", "information_imbalance")
NULLS = ("random", "within_class")
VIEWS = ("maps", "radial_bands", "angular_bands")


@dataclass
class StatsSettings:
    """Which statistics, how many null draws, and the feature view of the maps."""

    statistics: list[str] = field(default_factory=lambda: list(STATISTICS))
    nulls: list[str] = field(default_factory=lambda: list(NULLS))
    n_null: int = 100
    n_bootstrap: int = 200
    k: list[int] = field(default_factory=lambda: [1])
    pool: int = 1  # max_pool2d kernel over the shifted maps (7 for 224 px images, METHOD.md §2)
    svcca_variance: float = 0.99
    views: list[str] = field(default_factory=lambda: list(VIEWS))  # maps, and their band energies
    n_bands: int = 64

    def __post_init__(self) -> None:
        for name in self.statistics:
            if name not in STATISTICS:
                raise ValueError(f"stats.statistics: unknown statistic {name!r}; known: {STATISTICS}")
        for name in self.views:
            if name not in VIEWS:
                raise ValueError(f"stats.views: unknown view {name!r}; known: {VIEWS}")
        for name in self.nulls:
            if name not in NULLS:
                raise ValueError(f"stats.nulls: unknown null {name!r}; known: {NULLS}")
        if self.n_null < 1 or self.pool < 1 or any(k < 1 for k in self.k):
            raise ValueError("stats.n_null, stats.pool and every stats.k must be at least 1")


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


# ------------------------------------------------------------------ per-image similarity
def cosine_per_image(E: torch.Tensor, A: torch.Tensor) -> torch.Tensor:
    """cos(E_i, A_i) for every row, in float64."""
    E, A = E.double(), A.double()
    return (E * A).sum(1) / (E.norm(dim=1) * A.norm(dim=1))


def pearson_per_image(E: torch.Tensor, A: torch.Tensor) -> torch.Tensor:
    """Pearson correlation between E_i and A_i (cosine of the centred rows)."""
    E, A = E.double(), A.double()
    return cosine_per_image(E - E.mean(1, keepdim=True), A - A.mean(1, keepdim=True))


# ------------------------------------------------------------------ representation similarity
def linear_cka(X: torch.Tensor, Y: torch.Tensor) -> float:
    """Linear CKA (Kornblith et al. 2019) between the column spaces of two row-paired matrices."""
    X, Y = X.double(), Y.double()
    X, Y = X - X.mean(0), Y - Y.mean(0)
    if X.shape[0] < X.shape[1]:  # N x N kernels are smaller
        Kx, Ky = X @ X.T, Y @ Y.T
        return ((Kx * Ky).sum() / (Kx.norm() * Ky.norm())).item()
    return ((Y.T @ X).norm() ** 2 / ((X.T @ X).norm() * (Y.T @ Y).norm())).item()


def _top_directions(X: torch.Tensor, variance: float) -> torch.Tensor:
    """Projection of centred X on the singular directions explaining ``variance`` of its variance."""
    X = X - X.mean(0)
    U, S, _ = torch.linalg.svd(X, full_matrices=False)
    explained = torch.cumsum(S**2, 0) / (S**2).sum()
    keep = int(torch.searchsorted(explained, torch.tensor(variance, dtype=explained.dtype, device=X.device)).item()) + 1
    return U[:, :keep] * S[:keep]


def svcca(X: torch.Tensor, Y: torch.Tensor, variance: float = 0.99) -> float:
    """SVCCA (Raghu et al. 2017): SVD to ``variance``, then the mean canonical correlation."""
    Xr = _top_directions(X.double(), variance)
    Yr = _top_directions(Y.double(), variance)
    Qx, _ = torch.linalg.qr(Xr - Xr.mean(0))
    Qy, _ = torch.linalg.qr(Yr - Yr.mean(0))
    rho = torch.linalg.svdvals(Qx.T @ Qy).clamp(max=1.0)
    return rho.mean().item()


# ------------------------------------------------------------------ distances and neighbours
def _chunk_rows(n: int, d: int, budget_bytes: float = 2**28) -> int:
    return max(1, min(n, int(budget_bytes // (8 * max(n, d) * 4))))


def squared_distances(X: torch.Tensor, rows: slice) -> torch.Tensor:
    """Squared Euclidean distances from ``X[rows]`` to all rows of X (float64 Gram form, clamped at 0)."""
    norms = (X * X).sum(1)
    d2 = norms[rows, None] + norms[None, :] - 2 * (X[rows] @ X.T)
    return d2.clamp_(min=0)


def _ordered_neighbours(d2: torch.Tensor, start: int, count: int) -> torch.Tensor:
    """The first ``count`` columns of each row's neighbour order: self first, then by distance, ties by index."""
    d2 = d2.clone()
    d2[torch.arange(len(d2)), torch.arange(start, start + len(d2))] = -1.0
    return torch.argsort(d2, dim=1, stable=True)[:, :count]


_U32 = 2.0**-24  # float32 unit roundoff


class _Space:
    """One representation, centred (distances are translation-invariant), for certified fast distances.

    ``approx`` gives squared distances from a float32 Gram product together with a rigorous bound on
    their error, |d - d_exact| <= (D + 8) u (|x_i|^2 + |x_l|^2): the float32 dot product errs by at most
    gamma_D |x_i||x_l| and rounding the inputs to float32 by 2u |x_i||x_l|. Comparisons that the bound
    cannot decide are redone with exact float64 differences.
    """

    def __init__(self, X: torch.Tensor) -> None:
        self.X = X.double() - X.double().mean(0)
        self.X32 = self.X.float()
        self.norms = (self.X * self.X).sum(1)
        self.slack = (self.X.shape[1] + 8) * _U32

    def approx(self, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        previous = torch.get_float32_matmul_precision()
        torch.set_float32_matmul_precision("highest")  # TF32 would void the bound
        try:
            gram = (self.X32[rows] @ self.X32.T).double()
        finally:
            torch.set_float32_matmul_precision(previous)
        n_rows = self.norms[rows][:, None]
        d2 = n_rows + self.norms[None] - 2 * gram
        err = self.slack * (n_rows + self.norms[None])
        self_cols = (torch.arange(len(rows), device=rows.device), rows)
        d2[self_cols], err[self_cols] = -math.inf, 0.0  # each point is first in its own list
        return d2, err

    def exact(self, i: torch.Tensor, j: torch.Tensor, batch: int = 4096) -> torch.Tensor:
        """Squared distances of the pairs (i, j) from float64 differences."""
        i, j = i.reshape(-1), j.reshape(-1)
        out = torch.empty(len(i), dtype=torch.float64, device=self.X.device)
        for s in range(0, len(i), batch):
            out[s : s + batch] = ((self.X[i[s : s + batch]] - self.X[j[s : s + batch]]) ** 2).sum(1)
        return out


def _neighbours(space: _Space, rows: torch.Tensor, d2: torch.Tensor, err: torch.Tensor, k: int) -> torch.Tensor:
    """The k nearest other points of each row, ordered by exact distance then index (DADApy's stable order)."""
    n = d2.shape[1]
    m = min(n, k + 1 + 8)
    top, candidates = torch.topk(d2, m, dim=1, largest=False, sorted=True)
    top, candidates = top[:, 1:], candidates[:, 1:]  # drop self (distance -inf)
    top_err = err.gather(1, candidates)
    # only candidates that may be among the k nearest need an exact distance; the rest are provably farther
    kth_upper = (top + top_err)[:, :k].amax(1, keepdim=True)  # bounds the k-th nearest exact distance
    needed = (top - top_err) <= kth_upper
    exact = torch.full_like(top, math.inf)
    r, c = needed.nonzero(as_tuple=True)
    exact[r, c] = space.exact(rows[r], candidates[r, c])
    by_index, perm = candidates.sort(1)
    exact = exact.gather(1, perm)
    order = exact.argsort(dim=1, stable=True)
    neighbours = by_index.gather(1, order)[:, :k]
    kth = exact.gather(1, order)[:, k - 1]
    # certified when every non-candidate is provably farther than the k-th neighbour
    uncertain = (kth >= top[:, -1] - err.max(1).values) & torch.tensor(m < n, device=d2.device)
    for r in uncertain.nonzero().squeeze(1).tolist():
        everyone = torch.arange(n, device=d2.device)
        row_exact = space.exact(rows[r].expand(n), everyone)
        row_exact[rows[r]] = -math.inf
        neighbours[r] = row_exact.argsort(stable=True)[1 : k + 1]
    return neighbours


def _ranks(
    space: _Space, rows: torch.Tensor, d2: torch.Tensor, err: torch.Tensor, neighbours: torch.Tensor
) -> tuple[torch.Tensor, int]:
    """Rank (self = 0, stable order) of each neighbour among the row's points in ``space``, and exact ties."""
    target = space.exact(rows[:, None].expand_as(neighbours), neighbours).view_as(neighbours)  # [c, k]
    lower, upper = (d2 - err)[:, None, :], (d2 + err)[:, None, :]
    surely_closer = (upper < target[:, :, None]).sum(2)
    undecided = (lower <= target[:, :, None]) & (upper >= target[:, :, None])
    columns = torch.arange(d2.shape[1], device=d2.device)
    undecided &= columns[None, None, :] != neighbours[:, :, None]
    c, kk, col = undecided.nonzero(as_tuple=True)
    exact = space.exact(rows[c], col)
    t, j = target[c, kk], neighbours[c, kk]
    before = (exact < t) | ((exact == t) & (col < j))
    ranks = surely_closer.flatten().index_add(0, c * neighbours.shape[1] + kk, before.long()).view_as(neighbours)
    return ranks, int((exact == t).sum())


def information_imbalance(
    X: torch.Tensor, Y: torch.Tensor, k: int = 1, maxk: int | None = None, seed: int = 42, memory_bytes: int = 2**30
) -> dict[str, Any]:
    """Information imbalance Δ(X→Y) and Δ(Y→X) (Glielmo et al. 2022), DADApy's definition.

    Δ(X→Y) = 2/(N k) Σ_i Σ_{j in the k nearest neighbours of i in X} rank_Y(i, j), with rank 0 for i itself.
    Ranks are exact: float32 distances decide every comparison their error bound allows and float64
    differences decide the rest, so on tie-free data the values equal DADApy's full-rank values bit for
    bit. Rows are processed in chunks within ``memory_bytes``. With ``maxk`` (< N - 1) it is DADApy's
    truncated variant: ranks beyond ``maxk`` are drawn uniformly from [maxk + 1, N) by
    ``default_rng(seed)``, in row-major order, X→Y first.
    """
    if X.shape[0] != Y.shape[0]:
        raise ValueError(f"X and Y need the same rows, got {X.shape[0]} and {Y.shape[0]}")
    n = X.shape[0]
    if not 1 <= k < n:
        raise ValueError(f"k must lie in 1..{n - 1}, got {k}")
    spaces = _Space(X), _Space(Y)
    step = max(1, min(n, memory_bytes // (n * (4 * 8 + 2 * k))))
    ranks_xy, ranks_yx, ties = [], [], 0
    for start in range(0, n, step):
        rows = torch.arange(start, min(start + step, n), device=spaces[0].X.device)
        (dx, ex), (dy, ey) = spaces[0].approx(rows), spaces[1].approx(rows)
        r_xy, t1 = _ranks(spaces[1], rows, dy, ey, _neighbours(spaces[0], rows, dx, ex, k))
        r_yx, t2 = _ranks(spaces[0], rows, dx, ex, _neighbours(spaces[1], rows, dy, ey, k))
        ranks_xy.append(r_xy.cpu())
        ranks_yx.append(r_yx.cpu())
        ties += t1 + t2
    rxy, ryx = torch.cat(ranks_xy).numpy().astype(np.float64), torch.cat(ranks_yx).numpy().astype(np.float64)
    if maxk is not None and maxk < n - 1:
        rng = np.random.default_rng(seed)
        for ranks in (rxy, ryx):
            for row, col in zip(*np.nonzero(ranks > maxk), strict=True):
                ranks[row, col] = rng.integers(low=maxk + 1, high=n, size=1)[0]
    return {
        "x_to_y": np.mean(rxy) / (n / 2.0),
        "y_to_x": np.mean(ryx) / (n / 2.0),
        "ties": ties,
        "ranks_x_to_y": rxy,
        "ranks_y_to_x": ryx,
    }


def rank_matrix(X: torch.Tensor) -> torch.Tensor:
    """R[i, j] = rank of j among i's neighbours (self 0, stable order); for cheap re-pairing nulls."""
    X = X.double()
    n = X.shape[0]
    out = torch.empty(n, n, dtype=torch.int32, device=X.device)
    step = _chunk_rows(n, X.shape[1] // 8)
    for start in range(0, n, step):
        rows = slice(start, min(start + step, n))
        order = _ordered_neighbours(squared_distances(X, rows), start, n)
        out[rows].scatter_(1, order, torch.arange(n, dtype=torch.int32, device=X.device).expand_as(order).contiguous())
    return out


def two_nearest(X: torch.Tensor, memory_bytes: int = 2**30) -> tuple[torch.Tensor, torch.Tensor]:
    """Distances r1 <= r2 to each point's two nearest other points, exact (certified float32 search)."""
    space = _Space(X)
    n = X.shape[0]
    step = max(1, min(n, memory_bytes // (n * 4 * 8)))
    r1, r2 = [], []
    for start in range(0, n, step):
        rows = torch.arange(start, min(start + step, n), device=space.X.device)
        d2, err = space.approx(rows)
        nearest = _neighbours(space, rows, d2, err, 2)
        exact = space.exact(rows[:, None].expand_as(nearest), nearest).view_as(nearest).sqrt()
        r1.append(exact[:, 0])
        r2.append(exact[:, 1])
    return torch.cat(r1), torch.cat(r2)


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
    if n < 3:
        raise ValueError(f"TwoNN needs at least 3 distinct points, found {n}")
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


def idcor(E: torch.Tensor, A: torch.Tensor, permutations: list[torch.Tensor] | None = None) -> dict[str, Any]:
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


# ------------------------------------------------------------------ nulls, p-values, intervals
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
    """One-sided permutation p-value, (#{null at least as extreme} + 1) / (n + 1)."""
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


def _matrix_statistics(settings: StatsSettings) -> dict[str, Callable[[torch.Tensor, torch.Tensor], float]]:
    table: dict[str, Callable[[torch.Tensor, torch.Tensor], float]] = {}
    if "cka" in settings.statistics:
        table["linear_cka"] = linear_cka
    if "svcca" in settings.statistics:
        table["svcca"] = lambda X, Y: svcca(X, Y, settings.svcca_variance)
    return table


def compare(
    E: torch.Tensor, A: torch.Tensor, labels: torch.Tensor, settings: StatsSettings, seed: int, device: torch.device
) -> tuple[list[dict[str, Any]], list[dict[str, float]]]:
    """Every configured statistic with its nulls; returns tidy rows and per-image values."""
    E, A = E.to(device).double(), A.to(device).double()
    n = len(E)
    generator = torch.Generator().manual_seed(seed)
    null_perms = {kind: repairings(labels, kind, settings.n_null, generator) for kind in settings.nulls}
    rows: list[dict[str, Any]] = []
    per_image: dict[str, torch.Tensor] = {}

    def add(statistic: str, value: float, nulls: dict[str, np.ndarray], larger_is_related: bool, **extra) -> None:
        row = {"statistic": statistic, "value": value, "n": n, **extra}
        row["null_draws"] = {kind: [float(v) for v in null] for kind, null in nulls.items()}
        for kind, null in nulls.items():
            row[f"{kind}_null_mean"] = float(np.mean(null))
            row[f"{kind}_null_std"] = float(np.std(null))
            row[f"{kind}_p_value"] = permutation_p(value, null, larger_is_related)
        rows.append(row)

    for name, fn in (("cosine", cosine_per_image), ("pearson", pearson_per_image)):
        if name not in settings.statistics:
            continue
        values = fn(E, A)
        per_image[name] = values.cpu()
        low, high = bootstrap_interval(values, settings.n_bootstrap, generator)
        nulls = {
            kind: np.array([fn(E, A[p.to(device)]).mean().item() for p in perms]) for kind, perms in null_perms.items()
        }
        add(
            f"{name}_mean",
            values.mean().item(),
            nulls,
            True,
            std=values.std(unbiased=False).item(),
            ci_low=low,
            ci_high=high,
        )
    for name, fn in _matrix_statistics(settings).items():
        nulls = {kind: np.array([fn(E, A[p.to(device)]) for p in perms]) for kind, perms in null_perms.items()}
        add(name, fn(E, A), nulls, True)
    if "idcor" in settings.statistics and n >= 4:
        result = idcor(E, A)
        nulls = {kind: idcor(E, A, [p.to(device) for p in perms])["null"] for kind, perms in null_perms.items()}
        add("idcor", result["value"], nulls, True, id_E=result["id_E"], id_A=result["id_A"], id_EA=result["id_EA"])
    if "information_imbalance" in settings.statistics:
        ranks_e, ranks_a = rank_matrix(E), rank_matrix(A)
        for k in settings.k:
            if k >= n:
                continue
            ii = information_imbalance(E, A, k)
            nn_e = ranks_e.argsort(1)[:, 1 : k + 1]  # neighbours of i in E, in rank order
            nn_a = ranks_a.argsort(1)[:, 1 : k + 1]
            null_ea, null_ae = {}, {}
            for kind, perms in null_perms.items():
                # re-pair: image i of E is paired with row p[i] of A
                ea, ae = [], []
                for p in perms:
                    p = p.to(device)
                    inverse = torch.empty_like(p)
                    inverse[p] = torch.arange(n, device=device)
                    ea.append(ranks_a[p[:, None], p[nn_e]].double().mean().item() / (n / 2.0))
                    ae.append(ranks_e[inverse[:, None], inverse[nn_a]].double().mean().item() / (n / 2.0))
                null_ea[kind], null_ae[kind] = np.array(ea), np.array(ae)
            add(f"information_imbalance_E_to_A_k{k}", ii["x_to_y"], null_ea, False, ties=ii["ties"])
            add(f"information_imbalance_A_to_E_k{k}", ii["y_to_x"], null_ae, False, ties=ii["ties"])
    per_image_rows = [{name: float(values[i]) for name, values in per_image.items()} for i in range(n)]
    return rows, per_image_rows
