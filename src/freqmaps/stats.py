"""Statistics between essential maps E and adversarial maps A, one row per image (docs/METHOD.md §4).

Everything runs in torch (GPU when present). Neighbour statistics order points by the float64 distance of
their rows (sum of squared differences), the point itself first in its own neighbour list and ties broken by
index (a stable order), which is how DADApy ranks; on tie-free data the full-rank information imbalance is
bit-identical to DADApy's. The order is found with Gram distances (float32; float64 for the many queries of
the nulls) whose error intervals are proven, and float64 differences only where the intervals cannot decide
(:class:`_Space`).

Ties and duplicate rows: a neighbour rank is undefined under ties, so :func:`information_imbalance`
counts tied distances and reports them (``ties``); TwoNN follows each reference: the authors' variant
drops points with r1 = 0 or r1 = r2, DADApy's keeps them (its mu is then inf or 1).

Nulls re-pair the rows of A against E: at random, or within the same class, which keeps the class
structure and removes only per-image structure. Intervals: bootstrap over images for cosine, Pearson, CKA
and SVCCA; random halves without replacement for the neighbour statistics (:func:`half_sample_interval`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from freqmaps.runtime import fp32_precision

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
    n_half_samples: int = 100  # intervals of the neighbour statistics (IdCor, information imbalance)
    k: list[int] = field(default_factory=lambda: [1])
    pool: int = 1  # max_pool2d kernel over the shifted maps (7 for 224 px images, docs/METHOD.md §4.1)
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
        if self.n_half_samples < 2:
            raise ValueError(f"stats.n_half_samples must be at least 2, got {self.n_half_samples}")
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
# Each statistic splits into per-side work done once (a ``side``) and a cheap combination. Re-pairing the
# rows of one side by p permutes its side exactly (``permuted``), so null draws redo only the combination.
@dataclass
class _CkaSide:
    """Centred Gram matrix (N x N, when N < D) or the centred rows, and the Frobenius norm of its kernel."""

    matrix: torch.Tensor
    gram: bool
    norm: float

    def permuted(self, p: torch.Tensor) -> _CkaSide:
        return _CkaSide(self.matrix[p][:, p] if self.gram else self.matrix[p], self.gram, self.norm)


def _cka_side(X: torch.Tensor) -> _CkaSide:
    X = X.double()
    X = X - X.mean(0)
    if X.shape[0] < X.shape[1]:  # N x N kernels are smaller
        K = X @ X.T
        return _CkaSide(K, True, K.norm().item())
    return _CkaSide(X, False, (X.T @ X).norm().item())


def _cka(x: _CkaSide, y: _CkaSide) -> float:
    if x.gram:
        return (x.matrix * y.matrix).sum().item() / (x.norm * y.norm)
    return (y.matrix.T @ x.matrix).norm().item() ** 2 / (x.norm * y.norm)


def linear_cka(X: torch.Tensor, Y: torch.Tensor) -> float:
    """Linear CKA (Kornblith et al. 2019) between the column spaces of two row-paired matrices."""
    return _cka(_cka_side(X), _cka_side(Y))


def _top_directions(X: torch.Tensor, variance: float) -> torch.Tensor:
    """Projection of centred X on the singular directions explaining ``variance`` of its variance (U S).

    From the eigendecomposition of the smaller Gram matrix (X X^T = U S^2 U^T, or X^T X = V S^2 V^T and
    U S = X V): several times faster than an SVD of X, and exact for the kept, large directions.
    """
    X = X - X.mean(0)
    wide = X.shape[0] <= X.shape[1]
    power, vectors = torch.linalg.eigh(X @ X.T if wide else X.T @ X)
    power, vectors = power.flip(0).clamp(min=0), vectors.flip(1)  # decreasing
    explained = torch.cumsum(power, 0) / power.sum()
    keep = int(torch.searchsorted(explained, torch.tensor(variance, dtype=explained.dtype, device=X.device)).item()) + 1
    keep = min(keep, len(power))
    return vectors[:, :keep] * power[:keep].sqrt() if wide else X @ vectors[:, :keep]


@dataclass
class _SvccaSide:
    """Orthonormal basis of the centred top directions of one side."""

    basis: torch.Tensor

    def permuted(self, p: torch.Tensor) -> _SvccaSide:
        return _SvccaSide(self.basis[p])


def _svcca_side(X: torch.Tensor, variance: float) -> _SvccaSide:
    reduced = _top_directions(X.double(), variance)
    basis, _ = torch.linalg.qr(reduced - reduced.mean(0))
    return _SvccaSide(basis)


def _svcca(x: _SvccaSide, y: _SvccaSide) -> float:
    return torch.linalg.svdvals(x.basis.T @ y.basis).clamp(max=1.0).mean().item()


def svcca(X: torch.Tensor, Y: torch.Tensor, variance: float = 0.99) -> float:
    """SVCCA (Raghu et al. 2017): SVD to ``variance``, then the mean canonical correlation."""
    return _svcca(_svcca_side(X, variance), _svcca_side(Y, variance))


# ------------------------------------------------------------------ distances, neighbours and ranks
_SMALL_QUERY = 32  # up to this many queried points per row, ranks are counted by broadcasting; beyond, by sorting


def _slack(dim: int, precision: torch.dtype) -> float:
    """Half-width factor of the Gram distances' intervals (see :class:`_Space`)."""
    if precision == torch.float32:
        return (dim + 48) * 2.0**-24
    return (3 * dim + 64) * 2.0**-53  # float64: the exact values' own rounding (< 2(D + 3)u) counts too


def _gram_precision(queries_per_row: int) -> torch.dtype:
    """float32 Gram distances for a few queried points per row; float64 for many (the re-pairing nulls),
    where float32 intervals overlap most mid-distribution targets and every overlap costs an exact re-check."""
    return torch.float32 if queries_per_row <= _SMALL_QUERY else torch.float64


class _Space:
    """One representation with certified Gram distances and exact float64 ones.

    The exact squared distance of rows i and l is the sum of squared float64 differences of the rows as
    given (``exact``); it defines every order. The fast ones come from a Gram product of the centred rows
    (distances are translation-invariant, centring keeps the norms small) in ``precision``, and each holds
    the exact value within ``half_width(i, l) = slack (|x_i|^2 + |x_l|^2)``. float32: slack = (D + 48) u;
    the dot product errs by at most gamma_D |x_i||x_l|, rounding the centred inputs and the norms and the
    two additions add a few u (|x_i|^2 + |x_l|^2), and the float64 differences are 2^29 times finer.
    float64: slack = (3D + 64) u, since the exact values' own rounding (< 2(D + 3) u (|x_i|^2 + |x_l|^2))
    is now of the same order. Bounds are formed in float64. (This assumes a conventional GEMM, as every BLAS
    and cuBLAS is in FP32/FP64 mode; TF32 is switched off.)
    Each point's distance to itself is stored as -inf, so it is first in its own list. With ``cache`` the
    whole N x N matrix is computed once, upper block triangle only (it is symmetric): half the multiply-adds
    of row chunks.
    """

    def __init__(
        self,
        X: torch.Tensor,
        cache: bool,
        may_cache: bool = False,
        precision: torch.dtype = torch.float32,
        block: int = 256,
    ) -> None:
        self.X = X.double()
        self.n, dim = self.X.shape
        mean = self.X.mean(0)
        self.centred = torch.empty(self.X.shape, dtype=precision, device=self.X.device)  # Gram precision
        self.norms = torch.empty(self.n, dtype=torch.float64, device=self.X.device)
        for start in range(0, self.n, 128):  # centred in row blocks that stay in cache
            centred = self.X[start : start + 128] - mean
            self.centred[start : start + 128] = centred
            self.norms[start : start + 128] = (centred * centred).sum(1)
        self.centred_norms = self.norms.to(precision)
        self.slack = _slack(dim, precision)
        self.may_cache = cache or may_cache
        self.full = self._all_distances(block) if cache else None

    @contextmanager
    def cached(self) -> Iterator[None]:
        """Hold the whole distance matrix for a few passes if it is allowed and not held already."""
        if self.full is not None or not self.may_cache:
            yield
            return
        self.full = self._all_distances()
        try:
            yield
        finally:
            self.full = None

    def subset(self, rows: torch.Tensor) -> _Space:
        """The same space restricted to some rows (increasing), reusing the cached Gram distances."""
        part = _Space.__new__(_Space)
        part.X, part.centred, part.norms = self.X[rows], self.centred[rows], self.norms[rows]
        part.centred_norms = self.centred_norms[rows]
        part.n, part.slack, part.may_cache = len(rows), self.slack, self.may_cache
        part.full = self.full[rows][:, rows] if self.full is not None else None
        return part

    def _distances(self, rows: slice, columns: slice) -> torch.Tensor:
        with fp32_precision("ieee"):  # TF32 would void the bound
            d2 = self.centred[rows] @ self.centred[columns].T
        return d2.mul_(-2).add_(self.centred_norms[rows, None]).add_(self.centred_norms[None, columns])

    def _all_distances(self, block: int = 256) -> torch.Tensor:
        out = torch.empty(self.n, self.n, dtype=self.centred.dtype, device=self.X.device)
        for start in range(0, self.n, block):
            stop = min(start + block, self.n)
            upper = self._distances(slice(start, stop), slice(start, self.n))
            out[start:stop, start:] = upper
            out[stop:, start:stop] = upper[:, stop - start :].T
        return out.fill_diagonal_(-math.inf)

    def block(self, rows: slice) -> torch.Tensor:
        """Gram squared distances of a range of rows to every point [rows, N], self = -inf."""
        if self.full is not None:
            return self.full[rows]
        d2 = self._distances(rows, slice(0, self.n))
        own = torch.arange(rows.start, rows.stop, device=d2.device)
        d2[own - rows.start, own] = -math.inf
        return d2

    def half_width(self, i: torch.Tensor, j: torch.Tensor) -> torch.Tensor:
        """float64 half-width of the interval around the Gram distance of (i, j) that holds the exact one."""
        return (self.norms[i] + self.norms[j]) * self.slack

    def widest(self, i: torch.Tensor) -> torch.Tensor:
        """The largest half-width of row i over every column."""
        return (self.norms[i] + self.norms.max()) * self.slack

    def exact(self, i: torch.Tensor, j: torch.Tensor) -> torch.Tensor:
        """Squared distances of the pairs (i, j) from float64 differences.

        In batches of pairs whose rows stay in cache on the CPU (2 MiB: several times faster than large
        batches, which stream through memory), large ones on the GPU.
        """
        i, j = i.reshape(-1), j.reshape(-1)
        batch = max(1, (2**21 if self.X.device.type == "cpu" else 2**28) // (8 * self.X.shape[1]))
        out = torch.empty(len(i), dtype=torch.float64, device=self.X.device)
        for s in range(0, len(i), batch):
            difference = self.X.index_select(0, i[s : s + batch]).sub_(self.X.index_select(0, j[s : s + batch]))
            out[s : s + batch] = (difference * difference).sum(1)
        return out

    def checked_exact(self, i: torch.Tensor, j: torch.Tensor, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
        """``exact`` of pairs whose interval [low, high] was used to decide others; guards the proof."""
        values = self.exact(i, j)
        if not bool(((low <= values) & (values <= high)).all()):
            raise RuntimeError("distance bound violated; please report this with the data")  # never seen
        return values


def _row_chunks(n: int, memory_bytes: int) -> list[slice]:
    step = max(1, min(n, memory_bytes // (n * 96)))  # Gram distances, sorts with indices, comparisons
    return [slice(s, min(s + step, n)) for s in range(0, n, step)]


def _spaces(*matrices: torch.Tensor, memory_bytes: int, precision: torch.dtype = torch.float32) -> list[_Space]:
    """Keep every whole distance matrix when all fit in half of ``memory_bytes``; else one at a time when one
    fits (``_Space.cached``); else compute rows per chunk."""
    n = matrices[0].shape[0]
    matrix_bytes = n * n * torch.empty(0, dtype=precision).element_size()
    cache = len(matrices) * matrix_bytes <= memory_bytes // 2
    may_cache = matrix_bytes <= memory_bytes // 2
    return [_Space(M, cache, may_cache, precision) for M in matrices]


def _neighbours_of(space: _Space, rows: torch.Tensor, d2: torch.Tensor, k: int) -> torch.Tensor:
    """The k nearest other points of each row, ordered by exact distance then index (DADApy's stable order).

    The Gram order is the answer wherever the intervals prove it: the k first candidates are the only
    ones that may be among the k nearest and their intervals do not overlap. Other rows sort the candidates
    that may be by exact distance; a row whose non-candidates are not provably farther is sorted whole.
    """
    n = d2.shape[1]
    m = min(n, k + 1 + 8)
    top, candidates = torch.topk(d2, m, dim=1, largest=False, sorted=True)
    top, candidates = top[:, 1:], candidates[:, 1:]  # drop self (-inf)
    half = space.half_width(rows[:, None], candidates)
    low, high = top.double() - half, top.double() + half
    kth_high = high[:, :k].amax(1, keepdim=True)  # no k-th nearest distance is larger
    needed = low <= kth_high
    neighbours = candidates[:, :k].clone()
    unsure = (needed.sum(1) > k) | (high[:, : k - 1] >= low[:, 1:k]).any(1)
    if bool(unsure.any()):
        r, c = (needed & unsure[:, None]).nonzero(as_tuple=True)
        exact = torch.full(candidates.shape, math.inf, dtype=torch.float64, device=d2.device)
        exact[r, c] = space.checked_exact(rows[r], candidates[r, c], low[r, c], high[r, c])
        by_index, perm = candidates[unsure].sort(1)
        exact = exact[unsure].gather(1, perm)
        neighbours[unsure] = by_index.gather(1, exact.argsort(dim=1, stable=True))[:, :k]
    if m < n:  # certified when every non-candidate is provably farther than the k-th neighbour
        floor = top[:, -1].double() - space.widest(rows)
        for r in (kth_high.squeeze(1) >= floor).nonzero().squeeze(1).tolist():
            row_exact = space.exact(rows[r].expand(n), torch.arange(n, device=d2.device))
            row_exact[rows[r]] = -math.inf
            neighbours[r] = row_exact.argsort(stable=True)[1 : k + 1]
    return neighbours


def _directed(target: torch.Tensor, precision: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """Values of ``precision`` just below and just above each float64 value."""
    if precision == torch.float64:
        return target, target
    t32 = target.float()
    low = torch.where(t32.double() > target, torch.nextafter(t32, torch.full_like(t32, -math.inf)), t32)
    high = torch.where(t32.double() < target, torch.nextafter(t32, torch.full_like(t32, math.inf)), t32)
    return low, high


def _sorted_rows(d2: torch.Tensor) -> torch.Tensor:
    """Each row in increasing order (numpy's vectorised sort on the CPU: several times torch's there)."""
    if d2.device.type == "cpu":
        return torch.from_numpy(np.sort(d2.numpy(), axis=1))
    return d2.sort(1).values


def _ranks_of(space: _Space, rows: torch.Tensor, d2: torch.Tensor, queries: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Exact rank (self = 0, ties by index) of each queried point among the row's points, and exact ties met.

    Points whose Gram distance lies below the window [target's lower bound - widest half-width, target's
    upper bound + widest half-width] are provably closer, those above provably farther. Where the window holds
    more than the queried point, the target is computed exactly and each point in the window is decided by its
    own interval or, failing that, by its exact distance.
    """
    target = d2.gather(1, queries)
    half = space.half_width(rows[:, None], queries)
    widest = space.widest(rows)[:, None]
    below, _ = _directed(target.double() - half - widest, d2.dtype)
    _, above = _directed(target.double() + half + widest, d2.dtype)
    if queries.shape[1] <= _SMALL_QUERY:
        surely_closer = (d2[:, None, :] < below[:, :, None]).sum(2)
        not_farther = (d2[:, None, :] <= above[:, :, None]).sum(2)
    else:
        ordered = _sorted_rows(d2)
        surely_closer = torch.searchsorted(ordered, below.contiguous())
        not_farther = torch.searchsorted(ordered, above.contiguous(), right=True)
    ranks = surely_closer
    c, q = (not_farther - surely_closer > 1).nonzero(as_tuple=True)  # more than the queried point itself
    if len(c) == 0:
        return ranks, 0
    found = []
    for s in range(0, len(c), 1024):
        cc, qq = c[s : s + 1024], q[s : s + 1024]
        window = (d2[cc] >= below[cc, qq, None]) & (d2[cc] <= above[cc, qq, None])
        window[torch.arange(len(cc), device=window.device), queries[cc, qq]] = False
        p, col = window.nonzero(as_tuple=True)
        found.append((p + s, col))
    pair, col = (torch.cat(parts) for parts in zip(*found, strict=True))  # pair: index into (c, q)
    j, t_low, t_high = queries[c, q], (target[c, q].double() - half[c, q]), (target[c, q].double() + half[c, q])
    i = rows[c[pair]]
    value, h = d2[c[pair], col].double(), space.half_width(i, col)
    before = value + h < t_low[pair]
    open_ = ~before & (value - h <= t_high[pair])
    # the target exactly, only where some point's interval overlaps the target's
    t = torch.full((len(c),), math.nan, dtype=torch.float64, device=d2.device)
    needs = torch.zeros(len(c), dtype=torch.bool, device=d2.device)
    needs[pair[open_]] = True
    t[needs] = space.checked_exact(rows[c[needs]], j[needs], t_low[needs], t_high[needs])
    t = t[pair]
    before |= open_ & (value + h < t)
    open_ &= (value + h >= t) & (value - h <= t)
    exact = space.exact(i[open_], col[open_])
    tied = exact == t[open_]
    before[open_] = (exact < t[open_]) | (tied & (col[open_] < j[pair][open_]))
    ranks = ranks.flatten().index_add(0, (c * queries.shape[1] + q)[pair], before.long()).view_as(queries)
    return ranks, int(tied.sum())


def nearest_neighbours(space: _Space, k: int, memory_bytes: int) -> torch.Tensor:
    """Each point's k nearest other points [N, k], exact order (distance, then index)."""
    out = []
    for rows in _row_chunks(space.n, memory_bytes):
        index = torch.arange(rows.start, rows.stop, device=space.X.device)
        out.append(_neighbours_of(space, index, space.block(rows), k))
    return torch.cat(out)


def query_ranks(space: _Space, queries: torch.Tensor, memory_bytes: int) -> tuple[torch.Tensor, int]:
    """ranks[i, q] = exact rank of point queries[i, q] among i's neighbours in ``space`` (self 0), and ties."""
    out, ties = [], 0
    for rows in _row_chunks(space.n, memory_bytes):
        index = torch.arange(rows.start, rows.stop, device=space.X.device)
        ranks, t = _ranks_of(space, index, space.block(rows), queries[rows])
        out.append(ranks)
        ties += t
    return torch.cat(out), ties


def imbalance_ranks(
    X: torch.Tensor, Y: torch.Tensor, k: int, permutations: list[torch.Tensor] = (), memory_bytes: int = 2**32
) -> dict[str, Any]:
    """Ranks behind Δ(X→Y) and Δ(Y→X) for the observed pairing and for re-pairings of Y's rows.

    Re-pairing p pairs row i of X with row p[i] of Y. Returns ``x_to_y`` / ``y_to_x``: lists of [N, k] rank
    matrices (observed first, then one per permutation) and ``ties``, all exact, each space's distances
    computed once.
    """
    precision = _gram_precision(k * (1 + len(permutations)))
    spaces = _spaces(X, Y, memory_bytes=memory_bytes, precision=precision)
    return _imbalance_ranks(*spaces, k, permutations, memory_bytes)


def _imbalance_ranks(
    sx: _Space, sy: _Space, k: int, permutations: list[torch.Tensor] = (), memory_bytes: int = 2**32
) -> dict[str, Any]:
    n = sx.n
    with sx.cached():  # in this order each space's matrix is needed at most twice when only one fits at a time
        nn_x = nearest_neighbours(sx, k, memory_bytes)
    with sy.cached():
        nn_y = nearest_neighbours(sy, k, memory_bytes)
        queries_y = [nn_x]
        queries_x = [nn_y]
        for p in permutations:
            p = p.to(nn_x.device)
            inverse = torch.empty_like(p)
            inverse[p] = torch.arange(n, device=p.device)
            queries_y.append(p[nn_x[inverse]])  # Y row p[i] = pair i; its X-neighbour pairs j sit in Y rows p[j]
            queries_x.append(inverse[nn_y[p]])  # pair i's Y-neighbour pairs, as X rows
        ranks_y, ties_y = query_ranks(sy, torch.cat(queries_y, 1), memory_bytes)
    with sx.cached():
        ranks_x, ties_x = query_ranks(sx, torch.cat(queries_x, 1), memory_bytes)
    return {
        "x_to_y": list(ranks_y.cpu().split(k, 1)),
        "y_to_x": list(ranks_x.cpu().split(k, 1)),
        "ties": ties_x + ties_y,
    }


def information_imbalance(
    X: torch.Tensor, Y: torch.Tensor, k: int = 1, maxk: int | None = None, seed: int = 42, memory_bytes: int = 2**32
) -> dict[str, Any]:
    """Information imbalance Δ(X→Y) and Δ(Y→X) (Glielmo et al. 2022), DADApy's definition.

    Δ(X→Y) = 2/(N k) Σ_i Σ_{j in the k nearest neighbours of i in X} rank_Y(i, j), with rank 0 for i itself.
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


def two_nearest(X: torch.Tensor, memory_bytes: int = 2**32) -> tuple[torch.Tensor, torch.Tensor]:
    """Distances r1 <= r2 to each point's two nearest other points, exact (certified float32 search)."""
    (space,) = _spaces(X, memory_bytes=memory_bytes)
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


def bootstrap_matrix_interval(
    statistic: Callable[[torch.Tensor, torch.Tensor], float],
    E: torch.Tensor,
    A: torch.Tensor,
    n: int,
    generator: torch.Generator,
    level: float = 0.95,
) -> tuple[float, float]:
    """Percentile bootstrap interval of a statistic of the paired rows (pairs resampled with replacement).

    Only for statistics defined on a multiset of rows (CKA, SVCCA). Neighbour statistics (IdCor,
    information imbalance) get no bootstrap: resampled duplicates have distance 0 and no rank order.
    """
    index = torch.randint(0, len(E), (n, len(E)), generator=generator).to(E.device)
    draws = np.array([statistic(E[i], A[i]) for i in index])
    return float(np.quantile(draws, (1 - level) / 2)), float(np.quantile(draws, (1 + level) / 2))


def half_sample_interval(
    statistic: Callable[[torch.Tensor], np.ndarray],
    observed: np.ndarray,
    size: int,
    n: int,
    generator: torch.Generator,
    level: float = 0.95,
) -> tuple[np.ndarray, np.ndarray]:
    """Interval for statistics that resampling with replacement breaks, from random halves of the rows.

    Neighbour statistics (IdCor, information imbalance) have no rank order among duplicated rows, so the
    rows are subsampled without replacement instead: ``n`` random halves (m = size // 2, kept in their
    original order, so ties still break by index). For a mean-like statistic the spread of half-sample
    values about their own mean equals the standard error at full size (1/m - 1/N = 1/N), so the interval
    is the percentile interval of the half-sample values moved by (observed - their mean), which also
    removes the statistic's finite-size drift. ``statistic(rows)`` returns a vector; so does the interval.
    """
    m = size // 2
    draws = np.array([statistic(torch.randperm(size, generator=generator)[:m].sort().values) for _ in range(n)])
    shift = np.asarray(observed, dtype=np.float64) - draws.mean(0)
    return np.quantile(draws, (1 - level) / 2, axis=0) + shift, np.quantile(draws, (1 + level) / 2, axis=0) + shift


def matrix_statistics(settings: StatsSettings) -> dict[str, tuple[Callable, Callable]]:
    """name -> (side, combination) of the representation-similarity statistics asked for."""
    table: dict[str, tuple[Callable, Callable]] = {}
    if "cka" in settings.statistics:
        table["linear_cka"] = (_cka_side, _cka)
    if "svcca" in settings.statistics:
        table["svcca"] = (lambda X: _svcca_side(X, settings.svcca_variance), _svcca)
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
    for name, (side, combine) in matrix_statistics(settings).items():
        of_e, of_a = side(E), side(A)
        nulls = {
            kind: np.array([combine(of_e, of_a.permuted(p.to(device))) for p in perms])
            for kind, perms in null_perms.items()
        }
        low, high = bootstrap_matrix_interval(
            lambda X, Y, side=side, combine=combine: combine(side(X), side(Y)),
            E,
            A,
            settings.n_bootstrap,
            generator,
        )
        add(name, combine(of_e, of_a), nulls, True, ci_low=low, ci_high=high)
    if "idcor" in settings.statistics and n >= 4:
        result = idcor(E, A)
        nulls = {kind: idcor(E, A, [p.to(device) for p in perms])["null"] for kind, perms in null_perms.items()}
        low, high = math.nan, math.nan  # halves of fewer than 4 rows have no TwoNN
        if n >= 8:
            (low,), (high,) = half_sample_interval(
                lambda rows: np.array([idcor(E[rows.to(device)], A[rows.to(device)])["value"]]),
                np.array([result["value"]]),
                n,
                settings.n_half_samples,
                generator,
            )
        add(
            "idcor",
            result["value"],
            nulls,
            True,
            id_E=result["id_E"],
            id_A=result["id_A"],
            id_EA=result["id_EA"],
            ci_low=low,
            ci_high=high,
        )
    ks = [k for k in settings.k if k < n] if "information_imbalance" in settings.statistics else []
    if ks:
        kmax = max(ks)
        draws = [(kind, p) for kind, perms in null_perms.items() for p in perms]
        spaces = _spaces(E, A, memory_bytes=2**32, precision=_gram_precision(kmax * (1 + len(draws))))
        ranks = _imbalance_ranks(*spaces, kmax, [p for _, p in draws])
        directions = (("E_to_A", "x_to_y"), ("A_to_E", "y_to_x"))

        def delta(rank_list: list[torch.Tensor], k: int) -> list[float]:
            return [r[:, :k].double().mean().item() / (len(r) / 2.0) for r in rank_list]

        def deltas(rows: torch.Tensor) -> np.ndarray:  # every (k, direction) on a half of the pairs; nan: k too large
            usable = [k for k in ks if k < len(rows)]
            halves = [space.subset(rows.to(device)) for space in spaces]
            sub = _imbalance_ranks(*halves, max(usable)) if usable else {}
            return np.array([delta(sub[d], k)[0] if k in usable else math.nan for k in ks for _, d in directions])

        observed = np.array([delta(ranks[d][:1], k)[0] for k in ks for _, d in directions])
        lows, highs = half_sample_interval(deltas, observed, n, settings.n_half_samples, generator)
        for position, (k, (name, direction)) in enumerate((k, d) for k in ks for d in directions):
            _, *null_values = delta(ranks[direction], k)
            nulls = {
                kind: np.array([v for (kd, _), v in zip(draws, null_values, strict=True) if kd == kind])
                for kind in null_perms
            }
            add(
                f"information_imbalance_{name}_k{k}",
                float(observed[position]),
                nulls,
                False,
                ties=ranks["ties"],
                ci_low=float(lows[position]),
                ci_high=float(highs[position]),
            )
    per_image_rows = [{name: float(values[i]) for name, values in per_image.items()} for i in range(n)]
    return rows, per_image_rows
