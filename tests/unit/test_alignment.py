"""The frequency-resolved alignment map (freqmaps.alignment, docs/METHOD.md §4.12) on planted data: E and A
co-vary across images only inside a planted band, so the frequencies it finds must lie in the band."""

import math

import numpy as np
import pytest
import scipy.stats
import torch

from freqmaps.alignment import alignment_map, alignment_rows, spearman_by_column
from freqmaps.fourier import polar_frequencies

SIDE = 16


def planted(n=120, low=3.0, high=5.0, seed=0, strength=1.0):
    """Maps [n, 1, 16, 16] of independent noise, except on the ring low <= radius <= high (cycles/image) where
    E and A share a per-image, per-frequency signal: E = s + noise, A = strength * s + noise."""
    g = torch.Generator().manual_seed(seed)
    E = torch.rand(n, 1, SIDE, SIDE, generator=g)
    A = torch.rand(n, 1, SIDE, SIDE, generator=g)
    radius, _ = polar_frequencies(SIDE, SIDE)
    band = (radius >= low) & (radius <= high)
    shared = torch.rand(n, 1, SIDE, SIDE, generator=g)
    E = torch.where(band, shared + 0.3 * E, E)
    A = torch.where(band, strength * shared + 0.3 * A, A)
    return E, A, band


def test_spearman_per_column_matches_scipy_and_its_permutation():
    g = torch.Generator().manual_seed(1)
    X, Y = torch.rand(30, 5, generator=g), torch.rand(30, 5, generator=g)
    X[:, 2] = torch.round(X[:, 2] * 3)  # ties
    Y[:, 3] = 0.5  # constant: no correlation
    perm = torch.randperm(30, generator=g)
    rho, null = spearman_by_column(X, Y, [perm])
    for j in (0, 1, 2, 4):
        assert rho[j].item() == pytest.approx(scipy.stats.spearmanr(X[:, j], Y[:, j]).statistic)
        assert null[0, j].item() == pytest.approx(scipy.stats.spearmanr(X[perm, j], Y[:, j]).statistic)
    assert math.isnan(rho[3]) and math.isnan(null[0, 3])


def _in_band(result, band, sign):
    """The map's discoveries lie in the band: all of the band is found, with rho of the planted sign, and
    outside it only the few false discoveries that a false-discovery rate of 0.05 allows (at most 2 x 5% of
    the discoveries); the strongest associations are all in the band."""
    found = result.significant[0]
    assert found[band].all()
    assert (sign * result.rho[0][band] > 0).all()
    false = int((found & ~band).sum())
    assert false <= 2 * result.level * int(found.sum())
    strongest = result.rho[0].abs().nan_to_num(0).reshape(-1).argsort(descending=True)[: int(band.sum())]
    assert band.reshape(-1)[strongest].all()


def test_significant_frequencies_lie_in_the_planted_band():
    """Positive association planted on a ring of radius 3 to 5 cycles/image; DC is outside the family."""
    E, A, band = planted()
    result = alignment_map(E, A, torch.arange(len(E)) % 4, n_permutations=999, seed=0)
    _in_band(result, band, +1)
    assert math.isnan(result.p_adjusted[0, SIDE // 2, SIDE // 2])


def test_an_anti_aligned_band_is_found_with_negative_rho():
    E, A, band = planted(strength=-1.0, low=5.0, high=6.5)
    result = alignment_map(E, A, torch.zeros(len(E), dtype=torch.long), n_permutations=999, seed=0)
    _in_band(result, band, -1)


def test_unrelated_maps_give_few_discoveries():
    """No planted band: at false-discovery rate 0.05 the map finds (almost) nothing among 255 frequencies."""
    g = torch.Generator().manual_seed(2)
    E, A = torch.rand(80, 1, SIDE, SIDE, generator=g), torch.rand(80, 1, SIDE, SIDE, generator=g)
    result = alignment_map(E, A, torch.zeros(80, dtype=torch.long), n_permutations=499, seed=2)
    assert result.significant.sum() <= 2
    p = result.p_value.reshape(-1).numpy()
    assert 0.35 < np.nanmean(p) < 0.65  # about uniform under the null


def test_table_names_each_frequency_in_cycles_per_image():
    E, A, _ = planted(n=40)
    result = alignment_map(E, A, torch.zeros(40, dtype=torch.long), n_permutations=19, seed=0)
    rows = alignment_rows(result)
    assert len(rows) == SIDE * SIDE
    (dc,) = [r for r in rows if r["dc"]]
    assert (dc["fy"], dc["fx"], dc["radius"]) == (0, 0, 0.0)
    assert {r["fy"] for r in rows} == set(range(-SIDE // 2, SIDE // 2))
    corner = next(r for r in rows if r["fy"] == -8 and r["fx"] == -8)
    assert corner["rho"] == pytest.approx(float(result.rho[0, 0, 0]))


def test_stage_writes_the_table_and_the_figure_from_the_maps_files(tmp_path):
    """From two maps files (image 0 dropped from one: only pairs kept in both count) to the tidy table, the
    figure and the sidecar; the config's silence takes the schema's defaults."""
    from freqmaps.io import read_csv, sidecar_path
    from freqmaps.stages.alignment import alignment
    from tests.unit.test_contrasts import _maps_files

    E, A, band = planted(n=60)
    _maps_files(tmp_path / "E.safetensors", list(range(60)), E)
    _maps_files(tmp_path / "A.safetensors", list(range(1, 60)), A[1:])
    alignment(
        essential_path=tmp_path / "E.safetensors",
        adversarial_path=tmp_path / "A.safetensors",
        settings={"n_permutations": 199},
        dc="separate",
        seed=0,
        table_path=tmp_path / "alignment.csv",
        figure_path=tmp_path / "alignment.png",
        title="planted",
    )
    rows = read_csv(tmp_path / "alignment.csv")
    assert len(rows) == SIDE * SIDE and {r["n_pairs"] for r in rows} == {"59"}
    assert {r["null"] for r in rows} == {"random"} and {r["permutations"] for r in rows} == {"199"}
    found = {(int(r["fy"]), int(r["fx"])) for r in rows if r["significant"] == "True"}
    radius = {(int(r["fy"]), int(r["fx"])): float(r["radius"]) for r in rows}
    assert found and sum(not 3 <= radius[f] <= 5 for f in found) <= 0.1 * len(found)
    assert (tmp_path / "alignment.png").stat().st_size > 0
    assert sidecar_path(tmp_path / "alignment.csv").exists()
