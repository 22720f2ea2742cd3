"""Certified exact neighbours and ranks: the engine behind information imbalance, TwoNN and IdCor.

Points are ordered by the float64 distance of their rows (the sum of squared float64 differences), the point
itself first in its own neighbour list and ties broken by index (a stable order): DADApy's order, so on
tie-free data the full-rank information imbalance is bit-identical to DADApy's. The order is found with Gram
distances (float32 for up to about ten queries per row, else float64: :func:`gram_precision`) whose error
intervals are proven, and float64 differences only where the intervals cannot decide. float32 products are
formed in chunks of coordinates (:data:`GRAM_CHUNK`) added in turn, which keeps their intervals narrow in many
dimensions. Data whose distances are computed without rounding (:func:`exact_unit`: 0/1 masks, small integers)
need no interval at all, and their ties are ordered by index directly (on the CPU by a radix sort of
int16 keys when many points per row are queried).
A queried rank is a count of the row's smaller distances: comparison passes over the row for a few queries
on the CPU (which also collect the points whose order the intervals leave open), a binary search in the row
sorted once for many (the re-pairing nulls) or on a GPU.

Public: :class:`Space` (one representation: certified Gram distances and exact ones), :func:`spaces` (several
spaces sharing a memory budget), :func:`nearest_neighbours`, :func:`query_ranks`, :func:`imbalance_ranks` and
:func:`space_imbalance_ranks` (the ranks behind Δ, nulls included), :func:`gram_precision`,
:func:`exact_unit` / :func:`computed_exactly`. The entry points that compute run on the threads
:func:`freqmaps.runtime.shared_core_threads` chooses at each call (every rank is exact whatever the threads).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch

from freqmaps.runtime import fp32_precision, on_shared_cores

MEMORY_BYTES = 2**32  # default working-memory budget of the engine (distance matrices, sorts, comparisons)


# float32 Gram products are summed in chunks of this many coordinates, each chunk its own product, the chunks'
# products then added in turn: the error bound of a dot product grows with the longest chain of additions any
# term goes through, so this cuts it from D to chunk + number of chunks, e.g. 3072 -> 152: a window of
# undecided points 20 times narrower. Smaller chunks, or adding the chunks pairwise (152 -> 133), narrow it
# further but cost more GEMM time than the exact re-checks they save (measured on 2 threads: BENCHMARKS.md).
# float64 intervals are narrow enough unchunked.
GRAM_CHUNK = 128
# Roundings besides the product's additions, in units of u = 2^-24 times |x_i|^2 + |x_l|^2 (derived in Space):
# 7 and second-order terms; 16 leaves room.
_ROUNDINGS = 16
# float32 Gram distances while (queried points per row) x (summed terms + _ROUNDINGS) stays within this; else float64
# (2^29 times narrower intervals at twice the product's cost): each query's window of undecided points, and
# its exact re-checks, grow with the queries and the slack. Measured on the grid k = 1..10, D = 50..3072
# (BENCHMARKS.md): with chunked products float32 pays for every k up to 10 at every D there.
_FLOAT32_QUERY_TERMS = 2000
# On the CPU up to this many queried points per row are counted by numpy comparison passes over the row (two
# per query, each a fraction of a row sort); beyond, each row is sorted once and the queries are binary
# searches. On a GPU one broadcast pass for a single query, else the sort.
_PASS_QUERIES_CPU = 12
_BROADCAST_QUERIES = 1
# In a space computed exactly, up to this many queried points per row are counted by passes, each tied point
# then placed by index; beyond, each row is sorted once (stable: ties by index), as the plain method does
# (on 0/1 data, N = 1500, D = 50 to 3072, a radix sort of int16 keys costs what 6 to 7 queries' passes do).
_EXACT_PASS_QUERIES = 6
# Exact distances below this many units (0/1 masks up to 32766 coordinates, small integers) become int16 keys for
# numpy's radix sort on the CPU.
_RADIX_LIMIT = 2**15 - 2
# A row whose windows hold more than this share of its points (heavy ties, e.g. binary data) is ranked by the
# plain method instead: exact distances to every point and one stable sort, cheaper than deciding each.
_PLAIN_ROW_SHARE = 0.25


def summed_terms(dim: int, precision: torch.dtype, chunk: int = GRAM_CHUNK) -> int:
    """Longest chain of additions behind one Gram dot product of ``dim`` coordinates: ``dim`` in one product;
    chunk + number of chunks when float32 products are chunked and the chunks' products added in turn."""
    if precision != torch.float32 or dim <= chunk:
        return dim
    return chunk + math.ceil(dim / chunk)


def _slack(dim: int, precision: torch.dtype, chunk: int = GRAM_CHUNK) -> float:
    """Half-width factor of the Gram distances' intervals (see :class:`Space`)."""
    if precision == torch.float32:
        return (summed_terms(dim, precision, chunk) + _ROUNDINGS) * 2.0**-24
    return (3 * dim + 64) * 2.0**-53  # float64: the exact values' own rounding (< 2(D + 3)u) counts too


def exact_unit(X: torch.Tensor, precision: torch.dtype) -> float | None:
    """The unit of which every Gram distance of the rows of X is an integer multiple when they are all computed
    without rounding in ``precision``, else None. They are when every value is a multiple of one power of two
    2^-e with |x| 2^e <= M and 4 D M^2 < 2^(mantissa bits) (2^24 for float32, 2^53 for float64): products,
    norms, every partial sum and the distances are then representable, all multiples of 2^-2e. Such data
    (0/1 masks, small integers, few-level quantised maps) are full of exact ties, which are then decided by
    the Gram values alone, with no interval and no float64 re-check."""
    if X.numel() == 0 or not bool(torch.isfinite(X[:8]).all()):
        return None
    bits = 24 if precision == torch.float32 else 53
    sample = X[:8].double()
    for e in range(bits):  # the smallest e making the sample integral, then the whole of X
        scaled = sample * 2.0**e
        if torch.equal(scaled, scaled.round()):
            break
    else:
        return None
    scaled = X.double() * 2.0**e
    if not torch.equal(scaled, scaled.round()) or 4 * X.shape[1] * float(scaled.abs().max()) ** 2 >= 2.0**bits:
        return None
    return 2.0 ** (-2 * e)


def computed_exactly(X: torch.Tensor, precision: torch.dtype) -> bool:
    """Whether every Gram distance of the rows of X is computed without rounding in ``precision``
    (``exact_unit``)."""
    return exact_unit(X, precision) is not None


def gram_precision(queries_per_row: int, dim: int) -> torch.dtype:
    """float32 Gram distances for a few queried points per row (chunked products keep their intervals narrow
    at any D); float64 otherwise (many queries, as the re-pairing nulls ask), where float32 intervals would
    overlap many targets and every overlap costs an exact re-check."""
    terms = summed_terms(dim, torch.float32)
    return torch.float32 if queries_per_row * (terms + _ROUNDINGS) <= _FLOAT32_QUERY_TERMS else torch.float64


class Space:
    """One representation with certified Gram distances and exact float64 ones.

    The exact squared distance of rows i and l is the sum of squared float64 differences of the rows as
    given (``exact``); it defines every order. The fast ones come from a Gram product of the centred rows
    (distances are translation-invariant, centring keeps the norms small) in ``precision``, and each holds
    the exact value within ``half_width(i, l) = slack (|x_i|^2 + |x_l|^2)``, where::

        float32: slack = (T + 16) u,
        u = 2^-24, T = :func:`summed_terms`. With c the float64 centred rows, c~ = c (1 + d) their float32 copies
        (|d| <= u) and S = |c_i|^2 + |c_l|^2 (2 |c_i||c_l| <= S):
        the product c~_i . c~_l errs by at most gamma_T |c~_i||c~_l| (any order of additions whose longest chain
        is T, Higham's bound; chunked, each chunk's GEMM errs by gamma_chunk on its own coordinates and the
        sum of the chunks' products adds gamma_chunks), c~_i . c~_l differs from c_i . c_l by at most
        (2u + u^2)|c_i||c_l|, so twice the product (the distance is |c_i|^2 + |c_l|^2 - 2 c_i . c_l) errs by
        (gamma_T + 2u) S; rounding the two float64 norms to float32 adds u S, the two float32 additions at most
        u |norm_i - 2 product| + u |result| <= 4u S. Total (T + 7) u S and terms of order T^2 u^2 (< u at any T
        here); the float64 values (centring, norms, the exact distances) are 2^29 times finer. 16 in place of 7
        leaves room.
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
        chunk: int = GRAM_CHUNK,
    ) -> None:
        self.X = X.double()
        self.n, dim = self.X.shape
        # data whose distances are computed without rounding: not centred (that would round), no intervals
        self.distance_unit = exact_unit(self.X, precision)
        self.computed_exactly = self.distance_unit is not None
        mean = self.X.new_zeros(dim) if self.computed_exactly else self.X.mean(0)
        self.slack = 0.0 if self.computed_exactly else _slack(dim, precision, chunk)
        self.chunk = chunk if precision == torch.float32 and dim > chunk and not self.computed_exactly else dim
        # the centred rows in Gram precision, one contiguous [N, chunk] matrix per chunk of coordinates: each
        # chunk's product then reads contiguous rows (a column slice of one [N, D] matrix has rows D apart:
        # 0.185 -> 0.153 s for a full 1500 x 3072 chunked product on 2 threads)
        starts = range(0, max(dim, 1), max(self.chunk, 1))
        self.parts = [
            torch.empty(self.n, min(self.chunk, dim - s), dtype=precision, device=self.X.device) for s in starts
        ]
        self.norms = torch.empty(self.n, dtype=torch.float64, device=self.X.device)
        buffer = torch.empty(min(self.n, 128), dim, dtype=torch.float64, device=self.X.device)
        for start in range(0, self.n, 128):  # centred in row blocks that stay in cache, one buffer reused
            centred = torch.sub(self.X[start : start + 128], mean, out=buffer[: min(128, self.n - start)])
            for s, part in zip(starts, self.parts, strict=True):
                part[start : start + 128] = centred[:, s : s + self.chunk]
            torch.sum(centred.mul_(centred), 1, out=self.norms[start : start + 128])
        self.centred_norms = self.norms.to(precision)
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

    def subset(self, rows: torch.Tensor) -> Space:
        """The same space restricted to some rows (increasing), reusing the cached Gram distances."""
        part = Space.__new__(Space)
        part.X, part.parts, part.norms = self.X[rows], [p[rows] for p in self.parts], self.norms[rows]
        part.centred_norms = self.centred_norms[rows]
        part.n, part.slack, part.may_cache, part.chunk = len(rows), self.slack, self.may_cache, self.chunk
        part.computed_exactly, part.distance_unit = self.computed_exactly, self.distance_unit
        part.full = self.full[rows][:, rows] if self.full is not None else None
        return part

    def _distances(self, rows: slice, columns: slice) -> torch.Tensor:
        first, *others = self.parts
        with fp32_precision("ieee"):  # TF32 would void the bound
            d2 = first[rows] @ first[columns].T
            if others:  # each chunk its own product, then added: see summed_terms
                product = torch.empty_like(d2)
                for part in others:
                    d2.add_(torch.mm(part[rows], part[columns].T, out=product))
        return d2.mul_(-2).add_(self.centred_norms[rows, None]).add_(self.centred_norms[None, columns])

    def _all_distances(self, block: int = 256) -> torch.Tensor:
        out = torch.empty(self.n, self.n, dtype=self.parts[0].dtype, device=self.X.device)
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

        In batches of pairs of about 2 MiB on the CPU, in two buffers reused (fresh large temporaries cost
        page faults on every batch), squared in place, each torch operation on one thread: each sum is then
        formed in the same order whatever the batch, and these small batches run faster than on two (0.060 s
        against 0.079 s for 15,000 pairs at D = 3072). The pairs are shared among as many Python threads as
        torch had (each with its own buffers; torch releases the GIL), so the cores still share the work
        (BENCHMARKS.md, "Shared cores and different widths"); large batches on the GPU.
        """
        i, j = i.reshape(-1), j.reshape(-1)
        if self.computed_exactly and self.full is not None:  # the Gram values are the exact ones
            return self.full[i, j].double().masked_fill_(i == j, 0.0)
        dim = self.X.shape[1]
        batch = max(1, min(len(i), (2**21 if self.X.device.type == "cpu" else 2**28) // (8 * dim)))
        out = torch.empty(len(i), dtype=torch.float64, device=self.X.device)
        workers = min(torch.get_num_threads(), len(i) // (2 * batch)) if self.X.device.type == "cpu" else 1
        with _one_thread():
            if workers > 1:  # contiguous shares of whole batches, one per thread
                step = math.ceil(len(i) / (workers * batch)) * batch
                with ThreadPoolExecutor(workers) as pool:
                    list(pool.map(lambda s: self._exact(i, j, out, slice(s, s + step), batch), range(0, len(i), step)))
            else:
                self._exact(i, j, out, slice(0, len(i)), batch)
        return out

    def _exact(self, i: torch.Tensor, j: torch.Tensor, out: torch.Tensor, part: slice, batch: int) -> None:
        first = torch.empty(batch, self.X.shape[1], dtype=torch.float64, device=self.X.device)
        second = torch.empty_like(first)
        for s in range(part.start, min(part.stop, len(i)), batch):
            stop = min(s + batch, part.stop)
            a, b = i[s:stop], j[s:stop]
            difference = torch.index_select(self.X, 0, a, out=first[: len(a)])
            difference.sub_(torch.index_select(self.X, 0, b, out=second[: len(b)]))
            torch.sum(difference.mul_(difference), 1, out=out[s:stop])

    def exact_rows(self, rows: torch.Tensor) -> torch.Tensor:
        """Exact squared distances of some points to every point [len(rows), N], the point itself -inf: the
        plain method's rows, for rows whose intervals leave too much undecided. Differences in tiles of about
        2 MiB (a few rows by many columns), the same sums as :meth:`exact`."""
        if self.computed_exactly and self.full is not None:
            return self.full[rows].double()
        dim = self.X.shape[1]
        out = torch.empty(len(rows), self.n, dtype=torch.float64, device=self.X.device)
        tile = max(1, (2**21 if self.X.device.type == "cpu" else 2**28) // (8 * dim))
        block = max(1, min(len(rows), tile // self.n))  # whole rows at a time where they fit the tile
        columns = min(self.n, tile)
        for r in range(0, len(rows), block):
            points = self.X[rows[r : r + block]]
            for c in range(0, self.n, columns):
                difference = points[:, None, :] - self.X[None, c : c + columns, :]
                out[r : r + block, c : c + columns] = (difference * difference).sum(2)
        out[torch.arange(len(rows), device=out.device), rows] = -math.inf
        return out

    def checked_exact(self, i: torch.Tensor, j: torch.Tensor, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
        """``exact`` of pairs whose interval [low, high] was used to decide others; guards the proof."""
        values = self.exact(i, j)
        if not bool(((low <= values) & (values <= high)).all()):
            raise RuntimeError("distance bound violated; please report this with the data")  # never seen
        return values


@contextmanager
def _one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _row_chunks(n: int, memory_bytes: int) -> list[slice]:
    step = max(1, min(n, memory_bytes // (n * 96)))  # Gram distances, sorts with indices, comparisons
    return [slice(s, min(s + step, n)) for s in range(0, n, step)]


@on_shared_cores
def spaces(*matrices: torch.Tensor, memory_bytes: int, precision: torch.dtype = torch.float32) -> list[Space]:
    """Keep every whole distance matrix when all fit in half of ``memory_bytes``; else one at a time when one
    fits (``Space.cached``); else compute rows per chunk."""
    n = matrices[0].shape[0]
    matrix_bytes = n * n * torch.empty(0, dtype=precision).element_size()
    cache = len(matrices) * matrix_bytes <= memory_bytes // 2
    may_cache = matrix_bytes <= memory_bytes // 2
    return [Space(M, cache, may_cache, precision) for M in matrices]


def _neighbours_of(space: Space, rows: torch.Tensor, d2: torch.Tensor, k: int) -> torch.Tensor:
    """The k nearest other points of each row, ordered by exact distance then index (DADApy's stable order).

    The Gram order is the answer wherever the intervals prove it: the k first candidates are the only
    ones that may be among the k nearest and their intervals do not overlap. Other rows sort the candidates
    that may be by exact distance; a row whose non-candidates are not provably farther is sorted whole.
    """
    n = d2.shape[1]
    if space.computed_exactly:  # exact values: no interval, one exact key per point
        return torch.topk(_exact_keys(space, d2), k + 1, dim=1, largest=False, sorted=True).indices[:, 1:]
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
        u = unsure.nonzero().squeeze(1)
        # only candidates whose interval meets another needed candidate's need their exact distance; the others'
        # places are proven by their intervals, so their Gram value sorts them among the exact ones
        needed_u, low_u, high_u = needed[u], low[u], high[u]
        meets = (low_u[:, :, None] <= high_u[:, None, :]) & (low_u[:, None, :] <= high_u[:, :, None])
        meets &= needed_u[:, :, None] & needed_u[:, None, :]
        meets.diagonal(dim1=1, dim2=2).fill_(False)
        key = torch.where(needed_u, top[u].double(), math.inf)
        r, c = meets.any(2).nonzero(as_tuple=True)
        key[r, c] = space.checked_exact(rows[u[r]], candidates[u[r], c], low_u[r, c], high_u[r, c])
        by_index, perm = candidates[u].sort(1)
        key = key.gather(1, perm)
        neighbours[u] = by_index.gather(1, key.argsort(dim=1, stable=True))[:, :k]
    if m < n:  # certified when every non-candidate is provably farther than the k-th neighbour
        floor = top[:, -1].double() - space.widest(rows)
        whole = (kth_high.squeeze(1) >= floor).nonzero().squeeze(1)
        if len(whole):
            neighbours[whole] = space.exact_rows(rows[whole]).argsort(dim=1, stable=True)[:, 1 : k + 1]
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


def _row_counts(mask: np.ndarray) -> np.ndarray:
    """True values per row of a boolean matrix: its bytes summed in 16 bits where the rows allow (numpy's
    count_nonzero along an axis takes 1.7 times as long)."""
    return np.add.reduce(mask.view(np.uint8), axis=1, dtype=np.uint16 if mask.shape[1] < 2**16 else np.uint32)


def _counted_cpu(
    d2: torch.Tensor, below: torch.Tensor, above: torch.Tensor, windows: bool = False, rows: int = 64
) -> tuple[torch.Tensor, torch.Tensor, tuple[torch.Tensor, ...]]:
    """Per row and query: how many of the row's distances are < ``below`` and how many <= ``above``, and with
    ``windows`` the points in each window [below, above] that holds more than one, as (row, query, column)
    triples read off the same two comparisons while the block is in cache (a separate search copies rows
    from memory again: 0.64 s against 0.43 s a space at N = 5000, k = 10). numpy's comparisons, counted by
    :func:`_row_counts` (torch's comparison-and-sum is several times slower on the CPU), a block of rows at a
    time so that every pass over it stays in cache, the blocks shared among torch's threads (numpy releases
    the GIL in these loops)."""
    values, low, high = d2.numpy(), below.numpy(), above.numpy()
    closer = np.empty(low.shape, dtype=np.int64)
    not_farther = np.empty(high.shape, dtype=np.int64)
    members: dict[int, list[tuple[np.ndarray, ...]]] = {}

    def count(start: int) -> None:
        block, part = values[start : start + rows], slice(start, start + rows)
        is_closer, not_above = np.empty(block.shape, dtype=bool), np.empty(block.shape, dtype=bool)
        found = members.setdefault(start, [])
        for q in range(low.shape[1]):
            closer[part, q] = _row_counts(np.less(block, low[part, q, None], out=is_closer))
            not_farther[part, q] = _row_counts(np.less_equal(block, high[part, q, None], out=not_above))
            wide = np.flatnonzero(not_farther[part, q] - closer[part, q] > 1) if windows else ()
            if len(wide):  # below <= v <= above
                r, column = np.nonzero(is_closer[wide] != not_above[wide])
                found.append((wide[r] + start, np.full(len(r), q), column))

    starts = range(0, len(values), rows)
    threads = min(torch.get_num_threads(), len(starts))
    if threads > 1:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(count, starts))
    else:
        for start in starts:
            count(start)
    parts = [part for start in starts for part in members[start]]
    triples = tuple(torch.from_numpy(np.concatenate(column)) for column in zip(*parts, strict=True)) if parts else ()
    return torch.from_numpy(closer), torch.from_numpy(not_farther), triples


def _window_members(
    d2: torch.Tensor,
    c: torch.Tensor,
    q: torch.Tensor,
    below: torch.Tensor,
    above: torch.Tensor,
    queries: torch.Tensor,
    batch: int = 1024,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The points of row c[p] whose Gram distance lies in [below, above] of query q[p], the queried point
    itself left out: (p, column) pairs. numpy on the CPU (its comparisons are several times torch's there)."""
    found = []
    for s in range(0, len(c), batch):
        cc, qq = c[s : s + batch], q[s : s + batch]
        low, high, own = below[cc, qq, None], above[cc, qq, None], queries[cc, qq]
        if d2.device.type == "cpu":
            values = d2.numpy()[cc.numpy()]
            window = torch.from_numpy((values >= low.numpy()) & (values <= high.numpy()))
        else:
            window = (d2[cc] >= low) & (d2[cc] <= high)
        window[torch.arange(len(cc), device=window.device), own] = False
        p, col = window.nonzero(as_tuple=True)
        found.append((p + s, col))
    pair, col = (torch.cat(parts) for parts in zip(*found, strict=True))
    return pair, col


def _ties_before(
    d2: torch.Tensor, c: torch.Tensor, q: torch.Tensor, target: torch.Tensor, queries: torch.Tensor, batch: int = 1024
) -> torch.Tensor:
    """For exact distances: how many points of row c[p] tie with query q[p]'s distance and come before the
    queried point by index (the stable order's tie rule)."""
    out = []
    columns = torch.arange(d2.shape[1], device=d2.device)
    for s in range(0, len(c), batch):
        cc, qq = c[s : s + batch], q[s : s + batch]
        t, j = target[cc, qq, None], queries[cc, qq, None]
        if d2.device.type == "cpu":  # numpy's comparisons and counts: several times torch's there
            tied = (d2.numpy()[cc.numpy()] == t.numpy()) & (columns.numpy() < j.numpy())
            out.append(torch.from_numpy(_row_counts(tied).astype(np.int64)))
        else:
            out.append(((d2[cc] == t) & (columns < j)).sum(1))
    return torch.cat(out)


def _counts(
    d2: torch.Tensor, below: torch.Tensor, above: torch.Tensor, windows: bool = False
) -> tuple[torch.Tensor, torch.Tensor, tuple[torch.Tensor, ...] | None]:
    """Per row and query: how many of the row's values are < ``below`` and how many <= ``above``; with
    ``windows``, the members of the windows that hold more than one point where the counting passes find them
    (:func:`_counted_cpu`), else None (:func:`_window_members` searches for them)."""
    if d2.device.type == "cpu" and below.shape[1] <= _PASS_QUERIES_CPU:
        return _counted_cpu(d2, below, above, windows)
    if below.shape[1] <= _BROADCAST_QUERIES:
        return (d2[:, None, :] < below[:, :, None]).sum(2), (d2[:, None, :] <= above[:, :, None]).sum(2), None
    ordered = _sorted_rows(d2)  # one sort per row, whatever k: counting by comparison costs two passes per query
    closer = torch.searchsorted(ordered, below.contiguous())
    return closer, torch.searchsorted(ordered, above.contiguous(), right=True), None


def _positions(order: torch.Tensor) -> torch.Tensor:
    """Each point's place in its row's order (the inverse of each row's permutation ``order``)."""
    places = torch.arange(order.shape[1], device=order.device).expand_as(order)
    return torch.empty_like(order).scatter_(1, order, places)


def _exact_keys(space: Space, d2: torch.Tensor) -> torch.Tensor:
    """(distance in units, index) of each point of the rows as one float64 key, exact for a space computed
    exactly: keys order the points as the stable sort does, self (-inf) first."""
    n = d2.shape[1]
    key = d2.to(torch.float64, copy=True).div_(space.distance_unit).mul_(n)
    return key.add_(torch.arange(n, device=d2.device))


def _exact_ranks(space: Space, d2: torch.Tensor, queries: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Ranks and ties in a space computed exactly: no interval, the Gram distances are the exact ones.
    A few queries per row: the points closer than the target, plus the points tied with it and before it by
    index. More: each row sorted once, stably, and the queried points' positions read off."""
    target = d2.gather(1, queries)
    if queries.shape[1] <= _EXACT_PASS_QUERIES:
        closer, not_farther, _ = _counts(d2, target, target)
        tied = not_farther - closer - 1
        c, q = (tied > 0).nonzero(as_tuple=True)
        ranks = closer.clone()
        if len(c):
            ranks[c, q] += _ties_before(d2, c, q, target, queries)
        return ranks, int(tied.sum())
    # the plain method on exact values: one stable sort per row (ties by index), positions by inverse permutation;
    # small integer keys by numpy's radix sort on the CPU (linear in N), else a comparison sort
    keys = _radix_keys(space, d2)
    if keys is not None:
        order = torch.from_numpy(np.argsort(keys, axis=1, kind="stable"))
        values = torch.from_numpy(np.take_along_axis(keys, order.numpy(), 1))
        target = torch.from_numpy(keys).gather(1, queries)
    else:
        values, order = d2.sort(dim=1, stable=True)
    closer = torch.searchsorted(values, target.contiguous())
    not_farther = torch.searchsorted(values, target.contiguous(), right=True)
    return _positions(order).gather(1, queries), int((not_farther - closer - 1).sum())


def _radix_keys(space: Space, d2: torch.Tensor) -> np.ndarray | None:
    """Rows of a space computed exactly as int16 keys on the CPU: 0 for the point itself (-inf), 1 + the distance
    in units for the others, so that their stable order is the exact one; None on a GPU or where a distance
    exceeds the int16 range (then the float sort). numpy sorts int16 by radix, in time linear in N (0/1 data,
    N = 1500, D = 50, k = 10: the whole call 0.24 s with the float sort, 0.10 s with this one: BENCHMARKS.md)."""
    if d2.device.type != "cpu" or float(d2.max()) / space.distance_unit >= _RADIX_LIMIT:
        return None
    keys = np.multiply(d2.numpy(), d2.new_tensor(1.0 / space.distance_unit).numpy())  # exact: a power of two
    np.add(keys, 1, out=keys)
    np.clip(keys, 0, _RADIX_LIMIT, out=keys)  # self: -inf -> 0
    return keys.astype(np.int16)


def _ranks_of(space: Space, rows: torch.Tensor, d2: torch.Tensor, queries: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Exact rank (self = 0, ties by index) of each queried point among the row's points, and exact ties met.

    Points whose Gram distance lies below the window [target's lower bound - widest half-width, target's
    upper bound + widest half-width] are provably closer, those above provably farther. Where the window holds
    more than the queried point, the target is computed exactly and each point in the window is decided by its
    own interval or, failing that, by its exact distance.
    """
    if space.computed_exactly:
        return _exact_ranks(space, d2, queries)
    target = d2.gather(1, queries)
    half = space.half_width(rows[:, None], queries)
    widest = space.widest(rows)[:, None]
    below, _ = _directed(target.double() - half - widest, d2.dtype)
    _, above = _directed(target.double() + half + widest, d2.dtype)
    surely_closer, not_farther, members = _counts(d2, below, above, windows=True)
    ranks, ties = surely_closer, 0
    undecided = not_farther - surely_closer - 1  # points in each query's window besides the queried one
    dense = undecided.clamp(min=0).sum(1) > d2.shape[1] * _PLAIN_ROW_SHARE
    if bool(dense.any()):  # heavy ties: the plain method for these rows (exact distances, one stable sort)
        r = dense.nonzero().squeeze(1)
        exact = space.exact_rows(rows[r])
        ranks = ranks.clone()
        ranks[r] = _positions(exact.argsort(dim=1, stable=True)).gather(1, queries[r])
        t = exact.gather(1, queries[r])
        ties = int(sum(((exact == t[:, s, None]).sum(1) - 1).sum() for s in range(t.shape[1])))
        undecided[r] = 0
    c, q = (undecided > 0).nonzero(as_tuple=True)
    if len(c) == 0:
        return ranks, ties
    if members is not None:  # the undecided windows' members, the queried points left out; pair: index into (c, q)
        member_row, member_query, member_col = members
        pair_of = torch.full(queries.shape, -1, dtype=torch.long)
        pair_of[c, q] = torch.arange(len(c))
        pair = pair_of[member_row, member_query]
        keep = (pair >= 0) & (member_col != queries[member_row, member_query])
        pair, col = pair[keep], member_col[keep]
    else:
        pair, col = _window_members(d2, c, q, below, above, queries)  # pair: index into (c, q)
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
    return ranks, ties + int(tied.sum())


@on_shared_cores
def nearest_neighbours(space: Space, k: int, memory_bytes: int) -> torch.Tensor:
    """Each point's k nearest other points [N, k], exact order (distance, then index)."""
    out = []
    for rows in _row_chunks(space.n, memory_bytes):
        index = torch.arange(rows.start, rows.stop, device=space.X.device)
        out.append(_neighbours_of(space, index, space.block(rows), k))
    return torch.cat(out)


@on_shared_cores
def query_ranks(space: Space, queries: torch.Tensor, memory_bytes: int) -> tuple[torch.Tensor, int]:
    """ranks[i, q] = exact rank of point queries[i, q] among i's neighbours in ``space`` (self 0), and ties."""
    out, ties = [], 0
    for rows in _row_chunks(space.n, memory_bytes):
        index = torch.arange(rows.start, rows.stop, device=space.X.device)
        ranks, t = _ranks_of(space, index, space.block(rows), queries[rows])
        out.append(ranks)
        ties += t
    return torch.cat(out), ties


@on_shared_cores
def imbalance_ranks(
    X: torch.Tensor,
    Y: torch.Tensor,
    k: int,
    permutations: Sequence[torch.Tensor] = (),
    memory_bytes: int = MEMORY_BYTES,
) -> dict[str, Any]:
    """Ranks behind Δ(X→Y) and Δ(Y→X) for the observed pairing and for re-pairings of Y's rows.

    Re-pairing p pairs row i of X with row p[i] of Y. Returns ``x_to_y`` / ``y_to_x``: lists of [N, k] rank
    matrices (observed first, then one per permutation) and ``ties``, all exact, each space's distances
    computed once.
    """
    precision = gram_precision(k * (1 + len(permutations)), max(X.shape[1], Y.shape[1]))
    sx, sy = spaces(X, Y, memory_bytes=memory_bytes, precision=precision)
    return space_imbalance_ranks(sx, sy, k, permutations, memory_bytes)


@on_shared_cores
def space_imbalance_ranks(
    sx: Space, sy: Space, k: int, permutations: Sequence[torch.Tensor] = (), memory_bytes: int = MEMORY_BYTES
) -> dict[str, Any]:
    """:func:`imbalance_ranks` on spaces built already (e.g. :meth:`Space.subset` of the full ones, which
    reuses their Gram distances for the half-sample intervals)."""
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
