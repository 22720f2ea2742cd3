"""Statistics against DADApy (installed and golden values), scipy/numpy references and known answers."""

import math
import warnings

import numpy as np
import pytest
import torch

from freqmaps import stats
from freqmaps.stats.compare import NULL_COLUMNS
from tests.conftest import FIXTURES
from tests.golden import golden_map_like

GOLDEN = FIXTURES / "dadapy"
t = torch.from_numpy


@pytest.fixture(scope="module")
def map_like():
    """GOLDEN.md's map-like synthetic case."""
    return golden_map_like(600)


@pytest.mark.numerics
def test_information_imbalance_golden_values_bit_for_bit(map_like):
    A, B = map_like
    k1 = stats.information_imbalance(t(A), t(B), k=1)
    assert (k1["x_to_y"], k1["y_to_x"]) == (0.10689444444444444, 0.2245888888888889)
    k5 = stats.information_imbalance(t(A), t(B), k=5)
    assert (k5["x_to_y"], k5["y_to_x"]) == (0.16177444444444444, 0.2566588888888889)
    assert k1["ties"] == 0


def test_information_imbalance_golden_coordinate_subsets():
    X3 = np.load(GOLDEN / "3d_gauss_small_z_var.npy")
    full_to_coords = [0.144, 0.15, 0.968, 0.02, 0.1426, 0.1492]
    coords_to_full = [0.5978, 0.5128, 0.9696, 0.02, 0.6208, 0.5434]
    for coords, forward, backward in zip(
        [[0], [1], [2], [0, 1], [0, 2], [1, 2]], full_to_coords, coords_to_full, strict=True
    ):
        result = stats.information_imbalance(t(X3), t(X3[:, coords]))
        assert result["x_to_y"] == pytest.approx(forward, abs=1e-12)
        assert result["y_to_x"] == pytest.approx(backward, abs=1e-12)
    pair = stats.information_imbalance(t(X3[:, [0]]), t(X3[:, [0, 1]]))
    assert (pair["x_to_y"], pair["y_to_x"]) == pytest.approx((0.598, 0.144), abs=1e-12)
    matrix = stats.information_imbalance(t(X3[:, [0]]), t(X3[:, [1]]))
    assert (matrix["x_to_y"], matrix["y_to_x"]) == pytest.approx((1.0168, 0.9938), abs=1e-12)


def test_twonn_golden_value():
    X2 = np.load(GOLDEN / "2gaussians_in_2d.npy")
    assert stats.twonn_dadapy(t(X2)) == pytest.approx(1.8549132955524876, rel=1e-9)


@pytest.mark.parametrize("k", [1, 5])
def test_information_imbalance_equals_installed_dadapy_on_random_data(k):
    from dadapy import MetricComparisons

    rng = np.random.default_rng(k)
    X = rng.normal(size=(500, 1000))
    Y = np.tanh(X[:, :200] @ rng.normal(size=(200, 300))) + 0.3 * rng.normal(size=(500, 300))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = stats.information_imbalance(t(X), t(Y), k=k)
        theirs = MetricComparisons(X).return_information_imbalace(Y, k=k, subset_size=500)
    assert abs(ours["x_to_y"] - theirs[0][0]) <= 1e-12
    assert abs(ours["y_to_x"] - theirs[1][0]) <= 1e-12


@pytest.mark.parametrize("squash", [np.tanh, np.sin])
def test_information_imbalance_equals_installed_dadapy_at_different_widths(squash):
    """X of width D, Y of width D/2 (a random projection through tanh or sine, plus noise), k = 1..10: the
    values equal DADApy's bit for bit in both directions; in D = 300 the float32 products are chunked."""
    from dadapy import MetricComparisons

    rng = np.random.default_rng(7)
    for n, d in ((240, 300), (160, 9)):
        X = rng.normal(size=(n, d))
        Y = squash(X @ rng.normal(size=(d, d // 2)) / np.sqrt(d)) + 0.3 * rng.normal(size=(n, d // 2))
        for k in range(1, 11):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                theirs = MetricComparisons(X, maxk=n - 1).return_information_imbalace(Y, k=k, subset_size=n)
            ours = stats.information_imbalance(t(X), t(Y), k=k)
            assert (ours["x_to_y"], ours["y_to_x"]) == (theirs[0][0], theirs[1][0]), (n, d, k)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.numerics
def test_information_imbalance_at_different_widths_orders_ties_by_index(threads):
    """Small integers in X (width 12) and halves in Y (width 5): many exact ties, whose order is the stable
    one (distance, then index) on any number of threads. Reference: full float64 distances, one stable sort per
    row (DADApy's order of tied points is arbitrary, so it is no reference here)."""
    rng = np.random.default_rng(11)
    X = rng.integers(0, 3, size=(150, 12)).astype(np.float64)
    Y = np.round(2 * np.tanh(X @ rng.normal(size=(12, 5)) / 3)) / 2 + rng.integers(0, 2, size=(150, 5))

    def ranks(M):
        d = ((M[:, None, :] - M[None, :, :]) ** 2).sum(2)
        np.fill_diagonal(d, -np.inf)
        order = np.argsort(d, axis=1, kind="stable")
        rank = np.empty_like(order)
        np.put_along_axis(rank, order, np.arange(len(M))[None, :].repeat(len(M), 0), 1)
        return order[:, 1:], rank

    (nn_x, rank_x), (nn_y, rank_y) = ranks(X), ranks(Y)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        for k in (1, 3, 10):
            ours = stats.information_imbalance(t(X), t(Y), k=k)
            assert ours["ties"] > 0
            assert ours["x_to_y"] == np.take_along_axis(rank_y, nn_x[:, :k], 1).mean() / 75.0
            assert ours["y_to_x"] == np.take_along_axis(rank_x, nn_y[:, :k], 1).mean() / 75.0
    finally:
        torch.set_num_threads(before)


def test_truncated_information_imbalance_equals_dadapy_maxk():
    from dadapy import MetricComparisons

    rng = np.random.default_rng(3)
    X = rng.normal(size=(120, 6))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = MetricComparisons(X, maxk=10).return_inf_imb_two_selected_coords([0, 1, 2], [2, 3, 4, 5], k=3)
    ours = stats.information_imbalance(t(X[:, [0, 1, 2]]), t(X[:, [2, 3, 4, 5]]), k=3, maxk=10)
    assert (ours["x_to_y"], ours["y_to_x"]) == pytest.approx(theirs, abs=1e-12)


def test_twonn_equals_installed_dadapy(map_like):
    from dadapy import Data

    A, B = map_like
    for X, golden in ((A, 23.67116474871981), (B, 8.0716544633356)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = Data(X).compute_id_2NN()[0]
        # DADApy's r1, r2 come from sklearn's float64 Gram identity, whose rounding depends on the CPU's BLAS
        # kernels: its TwoNN moved by 1.1e-9 (relative) between an AVX-512 machine and an AMD EPYC one; ours,
        # from float64 differences, stays within 1e-12 of the golden value on both
        assert stats.twonn_dadapy(t(X)) == pytest.approx(theirs, rel=1e-8)
        assert stats.twonn_dadapy(t(X)) == pytest.approx(golden, rel=1e-11)


def test_gram_precision_is_float32_for_up_to_ten_queries_up_to_3072_dimensions():
    """Chunked float32 products keep the intervals narrow as D grows, so k = 1..10 take float32; the re-pairing
    nulls (many queries per row) take float64."""
    assert (
        stats.gram_precision(10, 3072) == stats.gram_precision(10, 500) == stats.gram_precision(20, 50) == torch.float32
    )
    assert stats.gram_precision(5 * 21, 3072) == stats.gram_precision(5 * 21, 50) == torch.float64  # k = 5, 20 nulls
    assert stats.summed_terms(3072, torch.float32, chunk=128) == 128 + 24
    assert stats.summed_terms(3072, torch.float32, chunk=64) == 64 + 48
    assert stats.summed_terms(3072, torch.float64) == 3072
    assert stats.summed_terms(100, torch.float32, chunk=128) == 100


@pytest.mark.parametrize("chunk", [2, 64, 128, 4096])
@pytest.mark.parametrize("construction", ["gaussian", "near_parallel", "skewed_positive"])
@pytest.mark.numerics
def test_gram_intervals_hold_every_exact_distance(construction, chunk):
    """Every pair's float32 Gram distance lies within its certified half-width of the exact (float64
    differences) one, for chunked products of any chunk size and for one product, on data built to stress
    rounding: rows nearly parallel to a large common direction (cancellation) and skewed positive values."""
    n, d = 100, 700
    g = torch.Generator().manual_seed(7)
    X = torch.randn(n, d, generator=g, dtype=torch.float64)
    if construction == "near_parallel":
        base = 100 * torch.randn(1, d, generator=g, dtype=torch.float64)
        X = base * torch.randn(n, 1, generator=g, dtype=torch.float64) + base + 1e-3 * X
    elif construction == "skewed_positive":
        X = torch.rand(n, d, generator=g, dtype=torch.float64) ** 8
    space = stats.Space(X, cache=True, precision=torch.float32, chunk=chunk)
    i, j = torch.triu_indices(n, n, 1)
    error = (space.full[i, j].double() - space.exact(i, j)).abs()
    assert bool((error <= space.half_width(i, j)).all())
    assert float(error.max()) > 0  # rounding happened: the check is not vacuous


@pytest.mark.numerics
def test_exact_distances_do_not_depend_on_the_threads_that_share_them():
    """Space.exact shares its pairs among as many Python threads as torch has, each summing on one thread:
    every value equals the one-thread computation bit for bit, and the float64 sum of squared differences."""
    g = torch.Generator().manual_seed(5)
    X = torch.randn(200, 300, generator=g, dtype=torch.float64)
    space = stats.Space(X, cache=False, precision=torch.float64)
    i, j = torch.randint(0, 200, (2, 5000), generator=g)  # about 6 batches: two threads share them
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        alone = space.exact(i, j)
        torch.set_num_threads(3)
        shared = space.exact(i, j)
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(alone, shared)
    assert torch.allclose(shared, ((X[i] - X[j]) ** 2).sum(1), rtol=1e-12, atol=0)


@pytest.mark.numerics
def test_chunked_float32_products_give_exact_ranks_in_many_dimensions():
    """D = 700 in chunks of 128 (and of 64), with near duplicates 2^-30 apart and exact duplicates: the
    chunked products' intervals (chunk + chunks terms, not D) still hold every exact value (a violated bound
    raises) and the ranks are those of a full float64 sort."""
    n, d = 120, 700
    g = torch.Generator().manual_seed(5)
    X = torch.randn(n, d, generator=g, dtype=torch.float64)
    X[60:90] = X[:30] + torch.randn(30, d, generator=g, dtype=torch.float64) * 2**-30
    X[90:100] = X[:10]
    reference = torch.empty(n, n, dtype=torch.long)
    exact = stats.Space(X, cache=False, precision=torch.float64)
    for i in range(n):
        dist = exact.exact(torch.full((n,), i), torch.arange(n))
        dist[i] = -math.inf
        reference[i, dist.argsort(stable=True)] = torch.arange(n)
    for chunk in (128, 64):
        space = stats.Space(X, cache=True, precision=torch.float32, chunk=chunk)
        assert space.slack < (d + 16) * 2.0**-24 / 3
        assert torch.equal(stats.nearest_neighbours(space, 7, 2**30), reference.argsort(1)[:, 1:8])
        queries = (torch.arange(n)[:, None] + torch.randint(1, n, (n, 10), generator=g)) % n
        ranks, _ = stats.query_ranks(space, queries, 2**30)
        assert torch.equal(ranks, reference.gather(1, queries))


@pytest.mark.parametrize("plain_share", [0.25, 0.0, math.inf])  # as shipped; every row plain; never plain
@pytest.mark.parametrize("chunk", [256, 2])  # one product; three chunks of two coordinates (float32 only)
@pytest.mark.parametrize("precision", [torch.float32, torch.float64])
@pytest.mark.parametrize("cache", [True, False])
@pytest.mark.numerics
def test_neighbours_and_ranks_are_exact_under_near_ties_and_duplicates(
    cache, precision, chunk, plain_share, monkeypatch
):
    """Offsets far below float32 resolution and exact duplicates: the certified search must still give the
    order of a full float64 sort (distance, then index), for few and many queries per row, several row chunks,
    both Gram precisions, and whether tie-heavy rows take the plain method or the windows."""
    monkeypatch.setattr(stats.neighbours, "_PLAIN_ROW_SHARE", plain_share)
    n = 64
    g = torch.Generator().manual_seed(3)
    X = torch.randint(0, 4, (n, 6), generator=g).double() + torch.randint(0, 3, (n, 6), generator=g).double() * 2**-28
    space = stats.Space(X, cache=cache, precision=precision, chunk=chunk)
    reference = torch.empty(n, n, dtype=torch.long)
    for i in range(n):
        d = space.exact(torch.full((n,), i), torch.arange(n))
        d[i] = -math.inf
        reference[i, d.argsort(stable=True)] = torch.arange(n)
    memory = n * 96 * 10  # chunks of 10 rows
    assert torch.equal(stats.nearest_neighbours(space, 5, memory), reference.argsort(1)[:, 1:6])
    for width in (1, 4, 40):  # counted by comparison passes, and by binary search in the sorted row
        queries = (torch.arange(n)[:, None] + torch.randint(1, n, (n, width), generator=g)) % n
        ranks, ties = stats.query_ranks(space, queries, memory)
        assert torch.equal(ranks, reference.gather(1, queries))
        assert ties > 0


@pytest.mark.parametrize("values", ["binary", "quarters", "wide integers"])
@pytest.mark.parametrize("precision", [torch.float32, torch.float64])
@pytest.mark.parametrize("cache", [True, False])
@pytest.mark.numerics
def test_data_computed_exactly_are_ranked_by_their_gram_values(values, precision, cache):
    """0/1 masks, multiples of 1/4 and integers up to 60: every Gram distance is exact, so no interval and no
    float64 re-check; the ranks and neighbours, full of exact ties, and the ties counted are still those of a
    full float64 sort (distance, then index), whether the whole matrix is held or rows are computed per chunk,
    and whether the distances fit the radix sort's int16 keys (binary, quarters) or not (wide integers)."""
    n, d = 90, 40
    g = torch.Generator().manual_seed(11)
    if values == "binary":
        X = (torch.rand(n, d, generator=g) < 0.2).double()
    elif values == "quarters":
        X = torch.randint(-6, 7, (n, d), generator=g).double() / 4
    else:  # distances up to 40 * 120^2, beyond the int16 keys
        X = torch.randint(-60, 61, (n, d), generator=g).double()
        X[:, :4] = torch.randint(0, 2, (n, 4), generator=g).double()  # some exact ties among the nearest
    space = stats.Space(X, cache=cache, precision=precision)
    assert space.computed_exactly and space.slack == 0.0
    reference = torch.empty(n, n, dtype=torch.long)
    distances = torch.empty(n, n, dtype=torch.float64)
    for i in range(n):
        distances[i] = ((X - X[i]) ** 2).sum(1)
        distances[i, i] = -math.inf
        reference[i, distances[i].argsort(stable=True)] = torch.arange(n)
    memory = n * 96 * 16
    assert torch.equal(stats.nearest_neighbours(space, 5, memory), reference.argsort(1)[:, 1:6])
    for width in (1, 5, 30):
        queries = (torch.arange(n)[:, None] + torch.randint(1, n, (n, width), generator=g)) % n
        ranks, ties = stats.query_ranks(space, queries, memory)
        assert torch.equal(ranks, reference.gather(1, queries))
        target = distances.gather(1, queries)
        assert ties == int((distances[:, None, :] == target[:, :, None]).sum() - target.numel())
        assert ties > 0 or values == "wide integers"


def test_only_data_whose_distances_fit_the_mantissa_are_computed_exactly():
    """4 D M^2 below 2^24 (float32) or 2^53 (float64), every value a multiple of one power of two."""
    ones = torch.ones(4, 256, dtype=torch.float64)
    assert stats.computed_exactly(ones * 255, torch.float32) is False  # 4 * 256 * 255^2 > 2^24
    assert stats.computed_exactly(ones[:, :64] * 255, torch.float32) is True  # 4 * 64 * 255^2 < 2^24
    assert stats.computed_exactly(ones * 255, torch.float64) is True
    assert stats.computed_exactly(ones * 2**-20, torch.float32) is True
    assert stats.computed_exactly(ones * 2**-30 * 3, torch.float32) is False  # 3 * 2^-30 needs e = 30 > 24
    assert stats.computed_exactly(torch.randn(4, 64, dtype=torch.float64), torch.float64) is False
    nan = ones.clone()
    nan[3, 5] = math.nan
    assert stats.computed_exactly(nan, torch.float64) is False


@pytest.mark.numerics
def test_ties_are_counted_not_hidden():
    X = torch.tensor([[0.0], [1.0], [2.0], [3.0]], dtype=torch.float64)  # equal gaps: every row has ties
    assert stats.information_imbalance(X, X)["ties"] > 0


def _twonn_transcription(X: np.ndarray) -> float:
    """docs/METHOD.md §4.4: the authors' TwoNN, in plain numpy."""
    D = np.sqrt(((X[:, None, :] - X[None, :, :]) ** 2).sum(-1))
    np.fill_diagonal(D, np.inf)
    r = np.sort(D, axis=1)[:, :2]
    keep = (r[:, 0] > 0) & (r[:, 0] != r[:, 1])
    mu = np.sort(r[keep, 1] / r[keep, 0])
    n = len(mu)
    F = np.arange(1, n + 1) / n
    m = int(np.floor(0.9 * n))
    x, y = np.log(mu[:-1])[:m], -np.log(1 - F[:-1])[:m]
    return float((x @ y) / (x @ x))


def test_idcor_matches_a_direct_transcription_of_the_definition():
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(150, 3))
    E = np.tanh(Z @ rng.normal(size=(3, 40))) + 0.05 * rng.normal(size=(150, 40))
    A = np.sin(Z @ rng.normal(size=(3, 30))) + 0.05 * rng.normal(size=(150, 30))

    def prepare(X):
        X = (X - X.mean(0)) / (X.std(0) + 1e-6)
        return X / np.linalg.norm(X, axis=1, keepdims=True)

    Ep, Ap = prepare(E), prepare(A)
    ide, ida, idea = _twonn_transcription(Ep), _twonn_transcription(Ap), _twonn_transcription(np.hstack([Ep, Ap]))
    expected = (ide + ida - idea) / max(ide, ida)
    perms = [torch.randperm(150, generator=torch.Generator().manual_seed(i)) for i in range(30)]
    ours = stats.idcor(t(E), t(A), perms)
    assert ours["value"] == pytest.approx(expected, rel=1e-9)
    null_ids = np.array([_twonn_transcription(np.hstack([Ep[p.numpy()], Ap])) for p in perms])
    assert ours["p_value"] == (int((null_ids < idea).sum()) + 1) / 31
    assert ours["value"] > 0.2 and ours["p_value"] < 0.05  # shared latent structure is detected


def _svcca_numpy(X, Y, variance=0.99):
    def reduce(M):
        M = M - M.mean(0)
        U, S, _ = np.linalg.svd(M, full_matrices=False)
        keep = int(np.searchsorted(np.cumsum(S**2) / (S**2).sum(), variance)) + 1
        return U[:, :keep] * S[:keep]

    Xr, Yr = reduce(X), reduce(Y)
    Qx, _ = np.linalg.qr(Xr - Xr.mean(0))
    Qy, _ = np.linalg.qr(Yr - Yr.mean(0))
    return float(np.clip(np.linalg.svd(Qx.T @ Qy, compute_uv=False), 0, 1).mean())


def test_svcca_matches_numpy_reference_and_known_answers():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 20))
    Y = X @ rng.normal(size=(20, 15)) + 0.5 * rng.normal(size=(300, 15))
    assert stats.svcca(t(X), t(Y)) == pytest.approx(_svcca_numpy(X, Y), abs=1e-10)
    Q, _ = np.linalg.qr(rng.normal(size=(20, 20)))
    assert stats.svcca(t(X), t(X @ Q)) == pytest.approx(1.0, abs=1e-9)  # invariant to rotations


def test_linear_cka_known_answers():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(200, 30))
    Q, _ = np.linalg.qr(rng.normal(size=(30, 30)))
    assert stats.linear_cka(t(X), t(3 * X @ Q)) == pytest.approx(1.0, abs=1e-12)
    assert stats.linear_cka(t(X), t(rng.normal(size=(200, 30)))) < 0.3
    wide = rng.normal(size=(20, 50))  # the N x N kernel path
    assert stats.linear_cka(t(wide), t(wide @ np.linalg.qr(rng.normal(size=(50, 50)))[0])) == pytest.approx(1.0)


def test_cosine_and_pearson_match_scipy():
    from scipy.spatial.distance import cosine
    from scipy.stats import pearsonr

    rng = np.random.default_rng(4)
    E, A = rng.random((10, 50)), rng.random((10, 50))
    cos = stats.cosine_per_image(t(E), t(A)).numpy()
    pear = stats.pearson_per_image(t(E), t(A)).numpy()
    for i in range(10):
        assert cos[i] == pytest.approx(1 - cosine(E[i], A[i]), abs=1e-12)
        assert pear[i] == pytest.approx(pearsonr(E[i], A[i])[0], abs=1e-12)


def test_within_class_repairing_keeps_classes():
    labels = torch.tensor([0, 0, 1, 1, 1, 2, 2, 2, 2])
    for perm in stats.repairings(labels, "within_class", 10, torch.Generator().manual_seed(0)):
        assert torch.equal(labels[perm], labels)
        assert sorted(perm.tolist()) == list(range(9))


def _draws(comparison, statistic, null, direction="", k=None):
    return [
        d["value"]
        for d in comparison.null_draws
        if (d["statistic"], d["direction"], d["k"], d["null"]) == (statistic, direction, k, null)
    ]


def _rows(comparison):
    return {(r["statistic"], r["direction"], r["k"]): r for r in comparison.rows}


def test_imbalance_null_equals_recomputing_on_repaired_rows(map_like):
    """compare() ranks every re-pairing in one pass per space; each draw must equal the direct computation."""
    A, B = map_like
    E, M = t(A[:80]), t(B[:80])
    labels = torch.arange(80) % 4
    settings = stats.StatsSettings(statistics=["information_imbalance"], nulls=["random"], n_null=3, k=[2])
    comparison = stats.compare(E, M, labels, settings, seed=5, device=torch.device("cpu"))
    perms = stats.repairings(labels, "random", 3, torch.Generator().manual_seed(5))
    direct = [stats.information_imbalance(E, M[p], k=2) for p in perms]
    assert _draws(comparison, "information_imbalance", "random", "E_to_A", 2) == [d["x_to_y"] for d in direct]
    assert _draws(comparison, "information_imbalance", "random", "A_to_E", 2) == [d["y_to_x"] for d in direct]


@pytest.mark.parametrize("shape", [(60, 150), (150, 20)])  # N < D: kernel path; N >= D: feature path
def test_matrix_statistic_nulls_equal_recomputing_on_repaired_rows(shape):
    """compare() reduces each side once and permutes the reduction for every null draw; each draw must equal
    the statistic recomputed on the re-paired rows."""
    rng = np.random.default_rng(7)
    base = rng.random(shape)
    E, M = t(base + 0.3 * rng.random(shape)), t(base + 0.3 * rng.random(shape))
    labels = torch.arange(shape[0]) % 3
    settings = stats.StatsSettings(statistics=["cka", "svcca"], nulls=["within_class"], n_null=4, n_half_samples=2)
    comparison = stats.compare(E, M, labels, settings, seed=3, device=torch.device("cpu"))
    perms = stats.repairings(labels, "within_class", 4, torch.Generator().manual_seed(3))
    rows = _rows(comparison)
    for name, direct in (("cka", stats.linear_cka), ("svcca", stats.svcca)):
        expected = [direct(E, M[p]) for p in perms]
        assert _draws(comparison, name, "within_class") == pytest.approx(expected, abs=1e-12)
        assert rows[(name, "", None)]["value"] == pytest.approx(direct(E, M), abs=1e-12)


def test_compare_values_and_null_draws_equal_the_direct_functions(map_like):
    """Every statistic's value, null draws and p-values from compare() equal the library's direct functions on
    the same re-pairings (drawn from the seed in the order of settings.nulls)."""
    A, B = map_like
    E, M = t(A[:90, :300]), t(B[:90, :300])
    labels = torch.arange(90) % 3
    settings = stats.StatsSettings(n_null=4, n_bootstrap=5, n_half_samples=3, k=[1, 3])
    comparison = stats.compare(E, M, labels, settings, seed=11, device=torch.device("cpu"))
    generator = torch.Generator().manual_seed(11)
    perms = {kind: stats.repairings(labels, kind, 4, generator) for kind in settings.nulls}
    rows = _rows(comparison)
    imbalance = stats.information_imbalance
    direct = {  # each statistic of the pairs (E_i, M_p[i]): the nulls re-pair M ...
        ("cosine", "", None): lambda p: stats.cosine_per_image(E, M[p]).mean().item(),
        ("pearson", "", None): lambda p: stats.pearson_per_image(E, M[p]).mean().item(),
        ("cka", "", None): lambda p: stats.linear_cka(E, M[p]),
        ("svcca", "", None): lambda p: stats.svcca(E, M[p]),
        ("idcor", "", None): lambda p: stats.idcor(E[p], M)["value"],  # ... IdCor's re-pair E (pairs (E_p[i], M_i))
    }
    for k in (1, 3):
        direct[("information_imbalance", "E_to_A", k)] = lambda p, k=k: imbalance(E, M[p], k)["x_to_y"]
        direct[("information_imbalance", "A_to_E", k)] = lambda p, k=k: imbalance(E, M[p], k)["y_to_x"]
    assert list(rows) == list(direct)
    identity = torch.arange(90)
    for key, fn in direct.items():
        row = rows[key]
        assert row["value"] == pytest.approx(fn(identity), rel=1e-12, abs=1e-12)
        assert row["note"] == "" and row["n"] == 90
        for kind, kind_perms in perms.items():
            expected = np.array([fn(p) for p in kind_perms])
            assert _draws(comparison, *key[:1], kind, *key[1:]) == pytest.approx(list(expected), rel=1e-12, abs=1e-12)
            larger = row["related_when"] == "larger"
            assert row[f"{kind}_p_value"] == stats.permutation_p(row["value"], expected, larger)
            assert row[f"{kind}_p_less"] == stats.permutation_p(row["value"], expected, not larger)
            assert row[f"{kind}_null_mean"] == pytest.approx(expected.mean(), rel=1e-12)
    assert list(comparison.rows[0]) == [
        *stats.COLUMNS,
        *(f"{kind}_{column}" for kind in settings.nulls for column in NULL_COLUMNS),
        "note",
    ]
    assert comparison.details["information_imbalance"]["ties"] == 0
    assert set(comparison.details["idcor"]) == {"id_E", "id_A", "id_EA"}


def test_k_not_below_the_number_of_pairs_gives_a_row_with_the_reason(caplog):
    """Issue: k >= the number of kept pairs used to drop every information-imbalance row silently."""
    rng = np.random.default_rng(0)
    E, M = t(rng.random((6, 5))), t(rng.random((6, 5)))
    settings = stats.StatsSettings(statistics=["information_imbalance"], n_null=3, n_half_samples=2, k=[1, 6, 9])
    with caplog.at_level("WARNING"):
        comparison = stats.compare(E, M, torch.arange(6) % 2, settings, seed=0, device=torch.device("cpu"))
    rows = _rows(comparison)
    assert [(r["direction"], r["k"]) for r in comparison.rows] == [
        (d, k) for k in (1, 6, 9) for d in ("E_to_A", "A_to_E")
    ]
    assert math.isfinite(rows[("information_imbalance", "E_to_A", 1)]["value"])
    for k in (6, 9):
        for direction in ("E_to_A", "A_to_E"):
            row = rows[("information_imbalance", direction, k)]
            assert math.isnan(row["value"]) and math.isnan(row["random_p_value"])
            assert row["note"] == f"information_imbalance: k={k} >= n=6 pairs"
            assert _draws(comparison, "information_imbalance", "random", direction, k) == []
    assert "k=6 >= n=6 pairs" in caplog.text and "k=9 >= n=6 pairs" in caplog.text


@pytest.mark.parametrize("n", [1, 3])
def test_too_few_pairs_for_cka_and_svcca_give_rows_not_a_crash(n):
    """One kept pair has nothing to centre (CKA divided by zero); three pairs have halves of one pair."""
    rng = np.random.default_rng(0)
    E, M = t(rng.random((n, 5))), t(rng.random((n, 5)))
    settings = stats.StatsSettings(statistics=["cka", "svcca"], n_null=3, n_half_samples=2)
    rows = _rows(stats.compare(E, M, torch.zeros(n, dtype=torch.long), settings, seed=0, device=torch.device("cpu")))
    for name in ("cka", "svcca"):
        row = rows[(name, "", None)]
        assert math.isnan(row["ci_low"]) and math.isnan(row["ci_high"])
        if n == 1:
            assert math.isnan(row["value"]) and row["note"] == f"{name}: needs at least 2 pairs, got n=1"
        else:
            assert math.isfinite(row["value"]) and row["note"] == ""


@pytest.mark.parametrize("name", list(stats.STATISTICS))
def test_every_registered_statistic_gives_its_declared_rows(name):
    """Each registry entry, alone, on tiny input: the rows its entry declares, finite values and intervals,
    one null draw per configured draw, and names matching the entry."""
    rng = np.random.default_rng(1)
    base = rng.random((24, 12))
    E, M = t(base + 0.2 * rng.random((24, 12))), t(base + 0.2 * rng.random((24, 12)))
    settings = stats.StatsSettings(statistics=[name], n_null=5, n_bootstrap=5, n_half_samples=4, k=[1, 2])
    comparison = stats.compare(E, M, torch.arange(24) % 3, settings, seed=0, device=torch.device("cpu"))
    entry = stats.STATISTICS[name]
    assert entry.related_when in ("larger", "smaller")
    directions = ("E_to_A", "A_to_E") if entry.directional else ("",)
    expected = [(d, k) for k in ([1, 2] if entry.per_k else [None]) for d in directions]
    assert [(r["direction"], r["k"]) for r in comparison.rows] == expected
    for row in comparison.rows:
        assert row["statistic"] == name and row["ci_method"] == entry.ci_method and row["note"] == ""
        assert math.isfinite(row["value"]) and row["ci_low"] <= row["ci_high"]
        for kind in settings.nulls:
            assert len(_draws(comparison, name, kind, row["direction"], row["k"])) == 5


def test_every_registered_statistic_is_computed_by_default():
    """(The schema's names against the registry: tests/unit/test_config.py.)"""
    assert stats.StatsSettings().statistics == list(stats.STATISTICS)


def test_compare_detects_per_image_structure_and_reports_nulls():
    rng = np.random.default_rng(6)
    labels = torch.arange(120) % 3
    base = rng.random((120, 64))
    E = t(base + 0.1 * rng.random((120, 64)))
    A = t(base + 0.1 * rng.random((120, 64)))
    comparison = stats.compare(E, A, labels, stats.StatsSettings(n_null=50, n_bootstrap=50), 0, torch.device("cpu"))
    rows = _rows(comparison)
    assert len(comparison.per_image) == 120
    cos = rows[("cosine", "", None)]
    assert cos["ci_low"] <= cos["value"] <= cos["ci_high"]
    assert cos["random_p_value"] == pytest.approx(1 / 51) and cos["within_class_p_value"] == pytest.approx(1 / 51)
    forward, backward = rows[("information_imbalance", "E_to_A", 1)], rows[("information_imbalance", "A_to_E", 1)]
    assert forward["value"] < forward["random_null_mean"]
    idcor = rows[("idcor", "", None)]
    assert math.isfinite(idcor["value"])
    for name in ("cka", "svcca"):  # intervals of the matrix statistics, above their nulls
        row = rows[(name, "", None)]
        assert row["random_null_mean"] < row["ci_low"] < row["ci_high"] <= 1.0
    for row in (forward, backward):  # half-sample intervals
        assert row["ci_low"] <= row["value"] <= row["ci_high"] < row["random_null_mean"] - 3 * row["random_null_sd"]
    assert idcor["ci_low"] <= idcor["value"] <= idcor["ci_high"]
    assert idcor["ci_low"] > idcor["random_null_mean"]


@pytest.fixture
def one_thread():
    """Tiny linear algebra many times over: one thread (two would mostly wait for each other)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("name", ["cka", "svcca"])
def test_matrix_statistic_intervals_cover_the_population_value(name, one_thread):
    """X ~ N(0, I_3), Y = X + N(0, I_3): population linear CKA = ||S_xy||^2 / (||S_xx|| ||S_yy||) = 3 / (sqrt 3 *
    2 sqrt 3) = 1/2, and every canonical correlation is 1/sqrt 2 (SVCCA keeps all three directions). Over many
    replicates, compare()'s 95% intervals must cover it at about the nominal rate (the bootstrap with
    replacement they replace sat above its own estimate) and always contain their own estimate."""
    truth = {"cka": 0.5, "svcca": 2**-0.5}[name]
    n, replicates = 300, 100
    generator = torch.Generator().manual_seed(0)
    settings = stats.StatsSettings(statistics=[name], nulls=["random"], n_null=1)  # 100 random halves
    covered = contained = 0
    for seed in range(replicates):
        X = torch.randn(n, 3, generator=generator, dtype=torch.float64)
        Y = X + torch.randn(n, 3, generator=generator, dtype=torch.float64)
        (row,) = stats.compare(X, Y, torch.zeros(n), settings, seed, torch.device("cpu")).rows
        assert row["ci_method"] == "half_samples"
        covered += row["ci_low"] <= truth <= row["ci_high"]
        contained += row["ci_low"] <= row["value"] <= row["ci_high"]
    assert contained == replicates
    assert 0.88 <= covered / replicates <= 0.99  # nominal 0.95; binomial sd 0.022 at 100 replicates


def test_half_sample_interval_of_a_mean_is_its_normal_interval():
    """Known answer: for a mean, random halves give the full-sample standard error (1/m - 1/N = 1/N)."""
    values = torch.from_numpy(np.random.default_rng(1).normal(2.0, 3.0, size=800))
    low, high = stats.half_sample_interval(
        lambda rows: np.array([values[rows].mean().item()]),
        np.array([values.mean().item()]),
        len(values),
        2000,
        torch.Generator().manual_seed(0),
    )
    half_width = 1.96 * values.std().item() / math.sqrt(len(values))
    assert low[0] == pytest.approx(values.mean().item() - half_width, abs=0.1 * half_width)
    assert high[0] == pytest.approx(values.mean().item() + half_width, abs=0.1 * half_width)


@pytest.mark.parametrize("held", ["both", "one_at_a_time", "none"])
def test_half_of_a_space_ranks_as_the_half_computed_afresh(map_like, held):
    """Half-sample intervals reuse the full distance matrices; the ranks must be those of the rows alone,
    whether both matrices are held, one at a time, or none (rows per chunk)."""
    A, B = map_like
    X, Y = t(A[:200]), t(B[:200])
    rows = torch.randperm(200, generator=torch.Generator().manual_seed(2))[:100].sort().values
    memory = {"both": 2**32, "one_at_a_time": 200 * 200 * 4 * 2, "none": 200 * 200 * 4}[held]
    sx, sy = stats.spaces(X, Y, memory_bytes=memory)
    assert (sx.full is not None, sx.may_cache) == {"both": (True, True), "one_at_a_time": (False, True)}.get(
        held, (False, False)
    )
    reused = stats.space_imbalance_ranks(sx.subset(rows), sy.subset(rows), 3, memory_bytes=memory)
    fresh = stats.imbalance_ranks(X[rows], Y[rows], 3)
    for direction in ("x_to_y", "y_to_x"):
        assert torch.equal(reused[direction][0], fresh[direction][0])


def test_settings_reject_unknown_names():
    with pytest.raises(ValueError, match="stats.statistics"):
        stats.StatsSettings(statistics=["mutual_information"])
    with pytest.raises(ValueError, match="stats.nulls"):
        stats.StatsSettings(nulls=["shuffled"])


def test_distances_are_true_float32_whatever_the_caller_set(map_like):
    """A caller's reduced-precision matmul setting (here oneDNN's bf16 on the CPU; TF32 on a GPU) would void
    the distance bounds: the engine switches it off for its own products and restores it afterwards. Only
    PyTorch's per-backend API is touched (mixing it with the legacy flags makes PyTorch raise)."""
    A, _ = map_like
    X = t(A[:300])
    plain = stats.Space(X, cache=True).full
    before = torch.backends.mkldnn.matmul.fp32_precision
    torch.backends.mkldnn.matmul.fp32_precision = "bf16"
    try:
        under_bf16 = stats.Space(X, cache=True).full
        assert torch.backends.mkldnn.matmul.fp32_precision == "bf16"
    finally:
        torch.backends.mkldnn.matmul.fp32_precision = before
    assert torch.equal(under_bf16, plain)


def test_correlate_writes_flat_rows_long_null_draws_and_the_figures_read_them(tmp_path):
    """The stage's tables in the contract's column order, the null draws in long format (one row per view,
    statistic, direction, k, null and draw), and the two figures that parse them."""
    import csv

    from freqmaps import figures
    from freqmaps.io import save_tensors
    from freqmaps.outcomes import KEPT
    from freqmaps.stages.correlate import correlate

    n = 30
    g = torch.Generator().manual_seed(0)
    base = torch.rand(n, 1, 8, 8, generator=g)
    for kind, noise in (("essential", 0.1), ("adversarial", 0.2)):
        tensors = {
            "maps": base + noise * torch.rand(n, 1, 8, 8, generator=g),
            "ids": torch.arange(n),
            "labels": torch.arange(n) % 3,
            "targets": (torch.arange(n) + 1) % 3,
            "outcome": torch.full((n,), KEPT),
        }
        save_tensors(tmp_path / f"{kind}.safetensors", tensors, {})
    cfg = {"n_null": 5, "n_bootstrap": 5, "n_half_samples": 4, "k": [1, 40], "views": ["maps", "radial_bands"]}
    out = {name: tmp_path / f"pgd{name}.csv" for name in ("", "_per_image", "_null_draws")}
    correlate(
        essential_path=tmp_path / "essential.safetensors",
        adversarial_path=tmp_path / "adversarial.safetensors",
        stats_cfg=cfg,
        seed=0,
        device="cpu",
        table_path=out[""],
        per_image_path=out["_per_image"],
        null_draws_path=out["_null_draws"],
    )
    with open(out[""]) as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
    nulls = [f"{kind}_{c}" for kind in stats.NULLS for c in ("null_mean", "null_sd", "p_value", "p_less")]
    dc = ["dc", "value_with_dc", "E_dc_share", "A_dc_share"]  # stats.dc: separate, the default
    converged = ["essential_at_max_steps", "adversarial_at_max_steps"]
    assert reader.fieldnames == ["view", *stats.COLUMNS, *nulls, *dc, *converged, "note"]
    k40 = [r for r in rows if r["k"] == "40"]
    assert len(k40) == 4 and all(
        r["value"] == "nan" and r["note"] == "information_imbalance: k=40 >= n=30 pairs" for r in k40
    )
    with open(out["_null_draws"]) as handle:
        draws = list(csv.DictReader(handle))
    assert list(draws[0]) == ["view", "statistic", "direction", "k", "null", "draw", "value"]
    finite = [r for r in rows if r["note"] == ""]
    assert len(draws) == len(finite) * len(stats.NULLS) * 5
    figures.null_histograms(out[""], out["_null_draws"], tmp_path / "nulls.png")
    figures.information_imbalance_plane([out[""]], ["pgd"], tmp_path / "plane.png")
    assert (tmp_path / "nulls.png").stat().st_size > 0 and (tmp_path / "plane.png").stat().st_size > 0


# ------------------------------------------------------------------ pairs where a per-image statistic is undefined
def test_maps_without_variation_are_left_out_of_per_image_means_and_their_null_draws():
    """A map that keeps only the zero frequency is a zero vector once DC is left out (stats.dc: separate, the
    default): its cosine and Pearson correlation with anything are 0 / 0. The default run had 6 such maps among
    435, which made the value, every null draw and so the reading NaN (and the permutation p its floor: NaN
    compares false). They are left out: the value is the mean over the other pairs, the draws are finite."""
    g = torch.Generator().manual_seed(0)
    E = torch.rand(80, 40, generator=g, dtype=torch.float64)
    A = E + 0.2 * torch.randn(80, 40, generator=g, dtype=torch.float64)
    E[:3] = 0.0  # three maps with nothing but DC
    A[5] = 0.0
    settings = stats.StatsSettings(statistics=["cosine", "pearson"], nulls=["random"], n_null=50, n_bootstrap=50)
    result = stats.compare(E, A, torch.arange(80) % 4, settings, seed=0, device=torch.device("cpu"))
    defined = torch.ones(80, dtype=torch.bool)
    defined[[0, 1, 2, 5]] = False
    expected = {
        "cosine": stats.cosine_per_image(E[defined], A[defined]).mean().item(),
        "pearson": stats.pearson_per_image(E[defined], A[defined]).mean().item(),
    }
    for row in result.rows:
        assert row["value"] == pytest.approx(expected[row["statistic"]], rel=1e-12), row
        assert row["ci_low"] < row["value"] < row["ci_high"]
        assert row["random_p_value"] == pytest.approx(1 / 51)  # strongly related, and computed
        assert result.details[row["statistic"]]["undefined_pairs"] == 4
    draws = [d["value"] for d in result.null_draws]
    assert len(draws) == 100 and all(math.isfinite(v) for v in draws)


def test_a_permutation_p_is_not_read_from_undefined_values():
    assert math.isnan(stats.permutation_p(math.nan, np.array([0.1, 0.2]), True))
    assert math.isnan(stats.permutation_p(0.5, np.array([math.nan, math.nan]), True))
    assert stats.permutation_p(0.5, np.array([math.nan, 0.1, 0.9]), True) == pytest.approx(2 / 3)
