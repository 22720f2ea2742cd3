"""Fourier masks (docs/METHOD.md §1): x' = Re(ifft2(M * fft2(x))) on the unshifted spectrum (DC at [0, 0]).

Three parameterisations of M for images [B, C, H, W]:
- ``per_channel``: one mask per channel, [C, H, W] ([P2]);
- ``shared``: one mask for all channels, [1, H, W] ([P1]);
- ``hermitian``: a half spectrum [C, H, W//2 + 1] applied with rfft2/irfft2. Real filtering only sees
  (M(k) + M(-k)) / 2, so this is the same family at half the parameters and cheaper FFTs. Its L1 penalty
  weights each half-spectrum column by how many full-spectrum entries it stands for, so the penalty equals
  that of the symmetric full mask.

Also here: the [P1] invariance loss of a mask (single-image and dataset-level masks share it) and the polar
coordinates of a centred spectrum (bands, the low-frequency index and the synthetic data's planted bands).
"""

from __future__ import annotations

import math

import torch

PARAMETERISATIONS = ("per_channel", "shared", "hermitian")


def mask_shape(parameterisation: str, channels: int, height: int, width: int) -> tuple[int, int, int]:
    if parameterisation == "per_channel":
        return channels, height, width
    if parameterisation == "shared":
        return 1, height, width
    if parameterisation == "hermitian":
        return channels, height, width // 2 + 1
    raise ValueError(f"maps.parameterisation: unknown {parameterisation!r}; known: {PARAMETERISATIONS}")


def apply_mask(images: torch.Tensor, masks: torch.Tensor, parameterisation: str) -> torch.Tensor:
    """Filter float images [B, C, H, W] with masks [B, C', H, W'] (or one mask broadcast over the batch)."""
    images = images if images.is_floating_point() else images.float()
    if parameterisation == "hermitian":
        return torch.fft.irfft2(torch.fft.rfft2(images) * masks, s=images.shape[-2:])
    return torch.fft.ifft2(torch.fft.fft2(images) * masks).real


def l1_weights(parameterisation: str, width: int, device: torch.device | str = "cpu") -> torch.Tensor | None:
    """Per-column weights of the L1 penalty (None: plain sum)."""
    if parameterisation != "hermitian":
        return None
    weights = torch.full((width // 2 + 1,), 2.0, device=device)
    weights[0] = 1.0
    if width % 2 == 0:
        weights[-1] = 1.0
    return weights


def l1_norm(masks: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
    """Sum of |M| per mask (the [P2] penalty: a sum over all entries, not a mean)."""
    magnitude = masks.abs() if weights is None else masks.abs() * weights
    return magnitude.flatten(1).sum(1)


def full_spectrum(masks: torch.Tensor, parameterisation: str, width: int) -> torch.Tensor:
    """Masks as full-spectrum arrays [..., H, W] (a half spectrum is mirrored: M(-k) = M(k))."""
    if parameterisation != "hermitian":
        return masks
    height = masks.shape[-2]
    full = masks.new_empty(*masks.shape[:-1], width)
    half = masks.shape[-1]
    full[..., :half] = masks
    mirror_cols = torch.arange(half, width, device=masks.device)
    rows = (-torch.arange(height, device=masks.device)) % height
    full[..., mirror_cols] = masks[..., rows, :][..., (width - mirror_cols)]
    return full


def invariance_loss(
    masked_ce: torch.Tensor,
    clean_ce: torch.Tensor,
    mask_l1: torch.Tensor,
    entries: int,
    lam: float,
    *,
    mean_over_images: bool = False,
) -> torch.Tensor:
    """[P1]'s invariance loss: exp((CE(f(x'), t) - CE(f(x), t))^2) + (lam / |M_0|_1) |M|_1, |M_0|_1 = ``entries``.

    ``masked_ce`` and ``clean_ce`` are per-image cross-entropies [N], ``mask_l1`` the L1 norm of each image's
    mask [N] (``l1_norm``). Returns the loss per image; with ``mean_over_images`` (one mask shared by all N
    images, ``mask_l1`` its norm) the mean of the first term over the images plus the mask's penalty once.
    """
    change = torch.exp((masked_ce - clean_ce) ** 2)
    return (change.mean() if mean_over_images else change) + lam / entries * mask_l1


def shifted(masks: torch.Tensor) -> torch.Tensor:
    """Centre the DC component, as maps are stored and plotted."""
    return torch.fft.fftshift(masks, dim=(-2, -1))


def polar_frequencies(height: int, width: int, device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """Radius and angle (atan2, in [-pi, pi]) of every entry of a shifted spectrum, whose centre (zero
    frequency) is at (H // 2, W // 2): two float64 [H, W] tensors."""
    rows = torch.arange(height, dtype=torch.float64, device=device)[:, None] - height // 2
    cols = torch.arange(width, dtype=torch.float64, device=device)[None, :] - width // 2
    return torch.sqrt(rows**2 + cols**2), torch.atan2(rows, cols)


def radial_band_edges(height: int, n_bands: int = 64) -> torch.Tensor:
    """Edges of the radial bands of :func:`band_index`, in cycles per image from the centre: n_bands equal
    annuli from 0 to the corner of an H x H spectrum, sqrt(2) * H / 2 (float64, n_bands + 1 values)."""
    return torch.linspace(0, math.sqrt(2) * height / 2, n_bands + 1, dtype=torch.float64)


def band_index(height: int, width: int, n_bands: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """Radial and angular band of every entry of a shifted (centred) spectrum, as in [P1].

    Radial annuli have edges linspace(0, sqrt(2) * H / 2, n_bands + 1) around the centre (H // 2, W // 2);
    angular sectors split [-pi, pi) into n_bands equal parts. Every entry lies in exactly one band of each.
    """
    radius, angle = polar_frequencies(height, width)
    edges = radial_band_edges(height, n_bands)
    radial = (torch.searchsorted(edges, radius, right=True) - 1).clamp(0, n_bands - 1)
    angular = torch.floor((angle + math.pi) / (2 * math.pi) * n_bands).long().clamp(0, n_bands - 1)
    return radial, angular


def band_energies(shifted_masks: torch.Tensor, n_bands: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """L2 energy of each radial and each angular band of masks [N, C, H, W] (shifted), per channel.

    Each mask is first divided by its L2 norm, so the squared band energies of a mask sum to 1.
    Returns radial [N, C, n_bands] and angular [N, C, n_bands].
    """
    masks = shifted_masks.double()
    norm = masks.flatten(2).norm(dim=2).clamp(min=1e-12)[..., None, None]
    squared = (masks / norm) ** 2
    radial, angular = band_index(masks.shape[-2], masks.shape[-1], n_bands)
    out = []
    for index in (radial, angular):
        flat = index.flatten().to(masks.device)
        energy = torch.zeros(*masks.shape[:2], n_bands, dtype=torch.float64, device=masks.device)
        energy.index_add_(2, flat, squared.flatten(2))
        out.append(energy.sqrt())
    return out[0], out[1]


def low_frequency_share(shifted_masks: torch.Tensor, radius_fraction: float = 0.25) -> torch.Tensor:
    """Low-frequency index: the share of each mask's energy (squared L2, all channels) at radii up to
    ``radius_fraction`` * H from the centre of the shifted spectrum. An all-pass mask scores the area
    fraction of that disc (about pi / 16 = 0.196 for 0.25); higher means the mask favours low frequencies.
    Returns [N] for masks [N, C, H, W]."""
    masks = shifted_masks.double()
    height, width = masks.shape[-2:]
    radius, _ = polar_frequencies(height, width, masks.device)
    inside = radius <= radius_fraction * height
    energy = masks**2
    return energy[..., inside].flatten(1).sum(1) / energy.flatten(1).sum(1).clamp(min=1e-300)


# ------------------------------------------------------------------ the zero frequency (docs/METHOD.md §4.1)
def dc_index(height: int, width: int) -> tuple[int, int]:
    """Where the zero frequency sits on a shifted spectrum (``fftshift`` puts it at (H // 2, W // 2))."""
    return height // 2, width // 2


def dc_share(maps: torch.Tensor) -> torch.Tensor:
    """Share of each shifted map's L1 mass (channels summed) at the zero frequency: maps [N, C, H, W] -> [N]
    (0 for an all-zero map)."""
    mass = maps.double().abs().sum(1)
    row, column = dc_index(*mass.shape[-2:])
    return mass[:, row, column] / mass.flatten(1).sum(1).clamp(min=1e-300)


def without_dc(maps: torch.Tensor) -> torch.Tensor:
    """A copy of shifted maps [..., H, W] with the zero-frequency entry set to 0."""
    out = maps.clone()
    row, column = dc_index(*maps.shape[-2:])
    out[..., row, column] = 0
    return out
