"""GPU against CPU: the same statistics and the same map decisions (run with `pytest -m gpu` on a GPU machine).

Skipped without a CUDA device, so CI (CPU only) reports them as skipped.
"""

import copy

import pytest
import torch

from freqmaps import stats
from freqmaps.data import FASHION_MNIST
from freqmaps.maps import MapSettings, learn_maps
from freqmaps.models import build_model, freeze
from freqmaps.runtime import fp32_precision
from tests.golden import golden_map_like

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]
CPU, GPU = torch.device("cpu"), torch.device("cuda")


@pytest.fixture(scope="module")
def paired_rows():
    """GOLDEN.md's map-like construction at N = 1500, D = 3072 (tie-free)."""
    return tuple(torch.from_numpy(M) for M in golden_map_like(1500))


@pytest.mark.parametrize("memory_bytes", [2**32, 1500 * 1500 * 4 * 2, 1500 * 1500 * 4])  # both, one, none held
def test_ranks_on_the_gpu_equal_the_cpu_ranks(paired_rows, memory_bytes):
    """The order is defined by float64 differences, so the GPU's Gram products (another summation order,
    TF32 switched off; float32 for one query per row in few dimensions) must give the very same ranks on every
    memory path; and so must the float64 Gram path of many queries (nulls included)."""
    X, Y = paired_rows
    perms = [torch.randperm(len(X), generator=torch.Generator().manual_seed(s)) for s in range(5)]
    few = X[:, :256], Y[:, :256]  # a few queries per row in 256 dimensions: float32 Gram distances
    assert stats.gram_precision(5, 256) == torch.float32
    on_cpu = stats.imbalance_ranks(*few, 5, memory_bytes=memory_bytes)
    with fp32_precision("tf32"):  # the engine must switch TF32 off for its own products
        on_gpu = stats.imbalance_ranks(*(M.to(GPU) for M in few), 5, memory_bytes=memory_bytes)
    for direction in ("x_to_y", "y_to_x"):
        for a, b in zip(on_cpu[direction], on_gpu[direction], strict=True):
            assert torch.equal(a, b)
    assert on_cpu["ties"] == on_gpu["ties"] == 0
    many = perms * 4  # 105 queries per row: float64 Gram distances
    on_cpu = stats.imbalance_ranks(X, Y, 5, many, memory_bytes=memory_bytes)
    on_gpu = stats.imbalance_ranks(X.to(GPU), Y.to(GPU), 5, many, memory_bytes=memory_bytes)
    for direction in ("x_to_y", "y_to_x"):
        assert all(torch.equal(a, b) for a, b in zip(on_cpu[direction], on_gpu[direction], strict=True))


def test_statistics_on_the_gpu_equal_the_cpu_ones(paired_rows):
    X, Y = (M[:400] for M in paired_rows)
    labels = torch.arange(400) % 4
    settings = stats.StatsSettings(n_null=10, n_bootstrap=10, n_half_samples=10, k=[1, 5])
    on_cpu = stats.compare(X, Y, labels, settings, 0, CPU)
    on_gpu = stats.compare(X, Y, labels, settings, 0, GPU)
    for a, b in zip(on_cpu.rows, on_gpu.rows, strict=True):
        assert (a["statistic"], a["direction"], a["k"]) == (b["statistic"], b["direction"], b["k"])
        if a["statistic"] == "information_imbalance":  # exact ranks: equal values
            assert a["value"] == b["value"]
        else:  # float64 reductions in another order
            assert b["value"] == pytest.approx(a["value"], rel=1e-9, abs=1e-12)
    for a, b in zip(on_cpu.null_draws, on_gpu.null_draws, strict=True):
        assert {**a, "value": 0} == {**b, "value": 0}
        if a["statistic"] == "information_imbalance":  # exact ranks: equal null draws
            assert a["value"] == b["value"]
    assert stats.twonn_dadapy(X.to(GPU)) == pytest.approx(stats.twonn_dadapy(X), rel=1e-9)


def test_map_engine_on_the_gpu_keeps_the_cpu_decisions():
    """fp64 on both devices (cuDNN deterministic): the same step counts and kept decisions, masks within 1e-6."""
    torch.manual_seed(0)
    model = freeze(build_model("small_cnn", FASHION_MNIST)).double()
    g = torch.Generator().manual_seed(1)
    x = torch.rand(32, 1, 28, 28, generator=g, dtype=torch.float64)
    with torch.no_grad():
        y = model(x).argmax(1)
    y[::2] = (y[::2] + 1) % 10  # half of the targets are not the prediction: maps that must be dropped
    settings = MapSettings(lam=0.001, min_steps=10, max_steps=60, batch_size=16)
    on_cpu = learn_maps(model, x, y, settings, CPU, 10, progress=False)
    with torch.backends.cudnn.flags(deterministic=True, benchmark=False):
        on_gpu = learn_maps(copy.deepcopy(model).to(GPU), x, y, settings, GPU, 10, progress=False)
    assert torch.equal(on_gpu.steps, on_cpu.steps) and torch.equal(on_gpu.kept, on_cpu.kept)
    assert on_cpu.kept.any() and (~on_cpu.kept).any()
    assert (on_gpu.masks - on_cpu.masks).abs().max() <= 1e-6
