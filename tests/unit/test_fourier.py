import math

import numpy as np
import pytest
import torch

from freqmaps.fourier import (
    apply_mask,
    full_spectrum,
    invariance_loss,
    l1_norm,
    l1_weights,
    mask_shape,
    polar_frequencies,
    shifted,
)


def test_mask_forward_equals_direct_fft_filter():
    rng = np.random.default_rng(0)
    x = rng.random((4, 3, 16, 12))
    m = rng.random((4, 3, 16, 12))
    expected = np.real(np.fft.ifft2(m * np.fft.fft2(x)))  # the definition, in numpy float64
    got = apply_mask(torch.from_numpy(x).float(), torch.from_numpy(m).float(), "per_channel")
    np.testing.assert_allclose(got.numpy(), expected, atol=2e-6)


def test_identity_mask_returns_the_image():
    x = torch.rand(2, 1, 28, 28)
    assert torch.allclose(apply_mask(x, torch.ones(2, 1, 28, 28), "per_channel"), x, atol=1e-6)
    assert torch.allclose(apply_mask(x, torch.ones(2, 1, 28, 15), "hermitian"), x, atol=1e-6)


def test_shared_mask_broadcasts_over_channels():
    x, m = torch.rand(2, 3, 8, 8), torch.rand(2, 1, 8, 8)
    assert torch.allclose(apply_mask(x, m, "shared"), apply_mask(x, m.expand(2, 3, 8, 8), "per_channel"), atol=1e-6)


@pytest.mark.parametrize("width", [8, 9])
def test_hermitian_half_spectrum_equals_its_symmetric_full_mask(width):
    x = torch.rand(3, 2, 10, width, dtype=torch.float64)
    half = torch.rand(3, 2, 10, width // 2 + 1, dtype=torch.float64)
    full = full_spectrum(half, "hermitian", width)
    # the full mask is Hermitian-symmetric: M(-k) = M(k) off the self-mirrored columns
    mirrored = torch.roll(torch.flip(full, dims=(-2, -1)), shifts=(1, 1), dims=(-2, -1))
    cols = [c for c in range(width) if c != 0 and 2 * c != width]
    assert torch.equal(full[..., cols], mirrored[..., cols])
    # filtering with the half spectrum equals filtering with the symmetrised full mask
    sym = (full + mirrored) / 2
    assert torch.allclose(apply_mask(x, half, "hermitian"), apply_mask(x, sym, "per_channel"), atol=1e-10)
    # for masks in [0, 1], the weighted half-spectrum L1 equals the L1 of the symmetric full mask
    assert torch.allclose(l1_norm(half, l1_weights("hermitian", width)), l1_norm(sym, None), atol=1e-9)


def test_shapes_and_shift():
    assert mask_shape("per_channel", 3, 32, 32) == (3, 32, 32)
    assert mask_shape("shared", 3, 32, 32) == (1, 32, 32)
    assert mask_shape("hermitian", 3, 32, 32) == (3, 32, 17)
    m = torch.zeros(1, 1, 8, 8)
    m[..., 0, 0] = 1
    assert shifted(m)[0, 0, 4, 4] == 1  # DC moves to the centre
    with pytest.raises(ValueError, match="parameterisation"):
        mask_shape("polar", 3, 8, 8)


@pytest.mark.parametrize(("height", "width"), [(28, 28), (32, 32), (17, 17)])
def test_bands_tile_the_spectrum_exactly_once(height, width):
    from freqmaps.fourier import band_index

    for index in band_index(height, width, 64):
        counts = torch.bincount(index.flatten(), minlength=64)
        assert counts.sum() == height * width  # every entry in one band, none twice
        assert index.min() >= 0 and index.max() < 64
    radial, _ = band_index(height, width, 64)
    assert radial[height // 2, width // 2] == 0  # the DC entry is in the innermost annulus
    assert radial[0, 0] == radial.max()  # a corner is in the outermost occupied annulus


def test_band_energies_partition_the_normalised_mask():
    from freqmaps.fourier import band_energies

    masks = torch.rand(5, 3, 32, 32)
    radial, angular = band_energies(masks, 64)
    assert torch.allclose((radial**2).sum(-1), torch.ones(5, 3, dtype=torch.float64))
    assert torch.allclose((angular**2).sum(-1), torch.ones(5, 3, dtype=torch.float64))
    low = torch.zeros(1, 1, 32, 32)
    low[..., 15:18, 15:18] = 1  # energy only near the centre
    r, _ = band_energies(low, 64)
    assert r[0, 0, :5].pow(2).sum() == pytest.approx(1.0)  # radius <= sqrt(2): annuli 0..4 of width 0.354


def test_invariance_loss_known_values():
    clean_ce = torch.rand(6) + 0.1
    mask = torch.ones(1, 28, 28)
    l1 = mask.abs().sum()
    # an identity mask leaves the classifier unchanged: exp(0) = 1, and |M|_1 / |M_0|_1 = 1
    unchanged = invariance_loss(clean_ce, clean_ce, l1, mask.numel(), 0.2, mean_over_images=True)
    assert unchanged.item() == pytest.approx(1.2)
    assert invariance_loss(clean_ce, clean_ce, torch.tensor(0.0), mask.numel(), 0.2, mean_over_images=True) == 1.0
    per_image = invariance_loss(clean_ce + 1.0, clean_ce, torch.full((6,), 392.0), 784, 0.2)
    assert per_image.shape == (6,) and torch.allclose(per_image, torch.full((6,), math.e + 0.1))


def test_single_image_maps_use_the_same_invariance_loss():
    """maps.map_loss's invariance objective is this loss, per image, with the full-spectrum entry count."""
    from freqmaps.maps import MapSettings, map_loss

    torch.manual_seed(0)
    logits, clean_logits = torch.randn(5, 10), torch.randn(5, 10)
    targets, masks = torch.randint(0, 10, (5,)), torch.rand(5, 3, 8, 5)
    weights = l1_weights("hermitian", 8)
    clean_ce = torch.nn.functional.cross_entropy(clean_logits, targets, reduction="none")
    settings = MapSettings(objective="invariance", parameterisation="hermitian", lam=0.07)
    masked_ce = torch.nn.functional.cross_entropy(logits, targets, reduction="none")
    expected = invariance_loss(masked_ce, clean_ce, l1_norm(masks, weights), 3 * 8 * 8, 0.07)
    assert torch.equal(map_loss(logits, targets, masks, weights, settings, clean_ce, 3 * 8 * 8), expected)


@pytest.mark.parametrize(("height", "width"), [(8, 8), (7, 10)])
def test_polar_frequencies_are_centred_on_the_zero_frequency(height, width):
    radius, angle = polar_frequencies(height, width)
    assert radius.shape == angle.shape == (height, width)
    assert radius[height // 2, width // 2] == 0 and radius.argmin() == (height // 2) * width + width // 2
    assert radius[height // 2, width // 2 + 2] == 2 and angle[height // 2, width // 2 + 2] == 0  # +x axis
    assert angle[height // 2 - 1, width // 2] == pytest.approx(-math.pi / 2)  # the row above the centre
