"""A dataset whose essential frequencies are known: the known-answer check of the whole method.

Each class owns a set of Fourier frequencies (``rings``: an annulus of radii; ``wedges``: a pair of opposite
orientation sectors) that carries its signal with random phases, on top of a shared background with a 1/f
amplitude spectrum and random phases, which carries no class information. ``scales`` gives every class two
rings, one at low and one at high radius, so class information sits at both ([P1]'s frequency-bias claim).
Neighbouring classes can share part of their band (``overlap``), so that an attack from class a to b has
frequencies that separate them and frequencies that do not.

Bands are defined on the shifted spectrum (zero frequency at the centre), symmetric under k -> -k, as the
maps are stored. Images are uint8 like every other dataset, generated from ``seed`` and the split, so the
same settings always give the same images.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from freqmaps.fourier import polar_frequencies, without_dc

LAYOUTS = ("rings", "wedges", "scales")


@dataclass
class SyntheticSettings:
    size: int = 28
    channels: int = 1
    n_classes: int = 4
    n_train: int = 6000
    n_test: int = 1000
    layout: str = "rings"
    band_width: float = 2.0  # rings/scales: radial width of a band in frequency units (wedges: pi / n_classes)
    overlap: float = 0.0  # rings/wedges: share of each band's width that reaches into the next class's band
    radius_range: list[float] = field(default_factory=lambda: [2.5, 11.5])  # band centres (rings), extent (wedges)
    signal: float = 0.15  # std of the class signal, pixel units
    background: float = 0.15  # std of the 1/f background, pixel units
    exponent: float = 1.0  # background amplitude ~ 1 / |k|^exponent
    background_class: bool = False  # one more class of background alone (it owns no frequencies)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.layout not in LAYOUTS:
            raise ValueError(f"datasets.synthetic.layout: {self.layout!r} is not one of {LAYOUTS}")
        if not 0 <= self.overlap < 1:
            raise ValueError(f"datasets.synthetic.overlap: {self.overlap} must lie in [0, 1)")
        low, high = self.radius_range
        if not 0 < low < high <= self.size / 2:
            raise ValueError(
                f"datasets.synthetic.radius_range: {self.radius_range} must satisfy 0 < low < high <= size / 2"
            )

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> SyntheticSettings:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in cfg.items() if k in known})


def _grid(size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Radius and orientation (folded to [0, pi), so k and -k agree) of every entry of a shifted spectrum."""
    radius, angle = polar_frequencies(size, size)
    return radius, torch.remainder(angle, math.pi)


def class_bands(settings: SyntheticSettings) -> torch.Tensor:
    """The planted frequencies: bool [classes, size, size] on the shifted spectrum (the background class,
    when there is one, is the last and owns none)."""
    radius, orientation = _grid(settings.size)
    low, high = settings.radius_range
    n = settings.n_classes
    bands = torch.zeros(n, settings.size, settings.size, dtype=torch.bool)
    if settings.layout == "rings":
        centres = np.linspace(low, high, n)
        spacing = (high - low) / max(n - 1, 1)
        half = settings.band_width / 2 + settings.overlap * spacing / 2
        for c in range(n):
            bands[c] = (radius - centres[c]).abs() <= half
    elif settings.layout == "scales":  # a low and a high ring per class, the low rings in the lower half
        middle = (low + high) / 2
        lows, highs = np.linspace(low, middle - 1, n), np.linspace(middle + 1, high, n)
        for c in range(n):
            for centre in (lows[c], highs[c]):
                bands[c] |= (radius - centre).abs() <= settings.band_width / 2
    else:  # wedges: sectors of orientation, between the two radii
        width = math.pi / n * (1 + settings.overlap)
        inside = (radius >= low) & (radius <= high)
        for c in range(n):
            centre = math.pi * (c + 0.5) / n
            distance = torch.remainder(orientation - centre + math.pi / 2, math.pi) - math.pi / 2
            bands[c] = inside & (distance.abs() <= width / 2)
    empty = [c for c in range(n) if not bands[c].any()]
    if empty:
        raise ValueError(f"datasets.synthetic: classes {empty} get no frequencies; widen band_width or the size")
    if settings.background_class:
        bands = torch.cat([bands, torch.zeros_like(bands[:1])])
    return bands


def num_classes(settings: SyntheticSettings) -> int:
    return settings.n_classes + int(settings.background_class)


def _random_phase_field(amplitude: torch.Tensor, count: int, channels: int, generator: torch.Generator) -> torch.Tensor:
    """Real images [count, channels, H, W] with the given shifted amplitude spectrum and random phases,
    each scaled to unit standard deviation."""
    size = amplitude.shape[-1]
    phase = torch.rand(count, channels, size, size, generator=generator, dtype=torch.float64) * 2 * math.pi
    spectrum = amplitude * torch.polar(torch.ones_like(phase), phase)
    field = torch.fft.ifft2(torch.fft.ifftshift(spectrum, dim=(-2, -1))).real
    field = field - field.mean(dim=(-2, -1), keepdim=True)
    return field / field.flatten(1).std(1).clamp(min=1e-12)[:, None, None, None]


def generate(settings: SyntheticSettings, split: str, batch: int = 2048) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 images [N, C, size, size] and balanced labels [N] of one split."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")
    count = settings.n_train if split == "train" else settings.n_test
    generator = torch.Generator().manual_seed(settings.seed * 2 + (split == "test"))
    labels = torch.arange(count) % num_classes(settings)
    labels = labels[torch.randperm(count, generator=generator)]
    bands = class_bands(settings).double()
    radius, _ = _grid(settings.size)
    background_amplitude = radius.clamp(min=1.0) ** -settings.exponent
    background_amplitude[settings.size // 2, settings.size // 2] = 0.0  # no DC: brightness is set below
    images = torch.empty(count, settings.channels, settings.size, settings.size, dtype=torch.uint8)
    for start in range(0, count, batch):
        y = labels[start : start + batch]
        background = _random_phase_field(background_amplitude, len(y), settings.channels, generator)
        signal = _random_phase_field(bands[y][:, None], len(y), settings.channels, generator)
        x = 0.5 + settings.background * background + settings.signal * signal
        images[start : start + batch] = (x.clamp(0, 1) * 255).round().to(torch.uint8)
    return images, labels


def read_bands(path: str, key: str, n_classes: int, size: int) -> torch.Tensor:
    """The planted bands of a dataset from its ``bands`` file (config key ``key``): bool [n_classes, size, size]
    on the shifted spectrum. A missing file, a missing tensor or a wrong shape is an error naming the key."""
    from pathlib import Path

    from safetensors import safe_open

    if not Path(path).is_file():
        raise ValueError(f"{key}: {path} not found (a safetensors file holding bool `bands` [classes, H, W])")
    with safe_open(path, framework="pt") as handle:
        if "bands" not in handle.keys():
            raise ValueError(f"{key}: {path} holds {sorted(handle.keys())}, no tensor named `bands`")
        bands = handle.get_tensor("bands")
    if bands.dtype != torch.bool or tuple(bands.shape) != (n_classes, size, size):
        raise ValueError(
            f"{key}: `bands` in {path} is {bands.dtype} {list(bands.shape)}; the dataset needs bool "
            f"[{n_classes}, {size}, {size}] (one planted frequency set per class, shifted spectrum)"
        )
    return bands


# ------------------------------------------------------------------ known-answer measures
def band_mass(maps: torch.Tensor, regions: torch.Tensor) -> torch.Tensor:
    """Share of each map's non-DC L1 mass (channels summed) inside its region: maps [N, C, H, W] (shifted),
    regions bool [N, H, W]. Returns [N].

    The zero frequency is left out of both sides: every map keeps it (it sets the image's brightness, which
    no class owns) and no planted band contains it, so counting it would judge a map that finds its band
    exactly by how much brightness it also keeps. Its share is reported beside (:func:`dc_share`)."""
    mass = without_dc(maps.double().abs().sum(1))
    return (mass * regions).flatten(1).sum(1) / mass.flatten(1).sum(1).clamp(min=1e-300)


def attack_regions(bands: torch.Tensor, true: torch.Tensor, adversarial: torch.Tensor) -> dict[str, torch.Tensor]:
    """For each attacked image, the spectrum split by the two classes' bands: frequencies only the adversarial
    class owns, only the true class owns, both own, and neither. bool [N, H, W] each; they tile the spectrum."""
    a, t = bands[adversarial], bands[true]
    return {
        "adversarial_only": a & ~t,
        "true_only": t & ~a,
        "shared": a & t,
        "neither": ~a & ~t,
    }
