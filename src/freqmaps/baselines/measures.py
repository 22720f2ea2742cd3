"""Cheap frequency measures to hold the learned maps against (docs/METHOD.md §11), and their registry.

Every measure returns shifted spectra (zero frequency at the centre), as the maps are stored:
- ``fourier_heat_map`` (per model, Yin et al. 2019): the error rate when one real Fourier basis image of L2
  norm ``norm`` is added to the test images (a random sign per image and channel, clamped to [0, 1]), for
  every frequency. Computed on the half spectrum of rfft2 and mirrored, as the public PyTorch port does.
- ``gradient_spectrum`` / ``adversarial_gradient_spectrum`` (per image, Krishnamachari et al.):
  |FFT(dCE/dx)| of the clean image with its label / of the attacked image with its adversarial label.
- ``perturbation_spectrum`` (per attacked image): |FFT(x_adv - x)|.
- ``saliency`` / ``adversarial_saliency`` (per image): |dL/dM| at M = 1, L the map objective
  (``freqmaps.maps.map_loss`` of the masked image), i.e. the first gradient the map engine takes. Its L1 term
  adds the constant lam to every entry, which outweighs the data term on confidently classified images: then
  the entries a class needs (negative dCE/dM) get the *smallest* |dL/dM| (docs/guide/recipes.md, Baselines).
- ``data_saliency`` / ``adversarial_data_saliency`` (per image): |dCE(f(x'), t)/dM| at M = 1, the data term
  alone (lam = 0) through the same mask forward. For the essential objective it is the saliency without the
  L1 constant; for the invariance objective ([P1]) it is the gradient of CE itself, since that objective's
  data term exp((CE - CE_clean)^2) has zero gradient at M = 1.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from freqmaps import maps
from freqmaps.config import schema_defaults
from freqmaps.fourier import apply_mask, full_spectrum, l1_weights, mask_shape, shifted

SCOPES = ("model", "clean", "attack")  # one heat map per model; per clean test image; per attacked image


@dataclass(frozen=True)
class BaselineInputs:
    """The images a measure sees: clean test images [N, C, H, W] in [0, 1] with labels, and (for measures of
    scope ``attack``) the attacked images with their adversarial labels."""

    clean: torch.Tensor
    labels: torch.Tensor
    adversarial: torch.Tensor | None = None
    adversarial_labels: torch.Tensor | None = None


@dataclass
@schema_defaults("baselines", "heat_map")
class HeatMapSettings:
    """Fourier heat map settings (defaults: the config schema's ``baselines.heat_map``); norm 4.0 is the public
    port's value for CIFAR-size images (15.7 at 224 px)."""

    norm: float
    n_images: int  # the first configured test images
    batch_size: int  # perturbed images per forward pass

    def __post_init__(self) -> None:
        if not self.norm > 0 or self.n_images < 1 or self.batch_size < 1:
            raise ValueError(
                f"baselines.heat_map: norm must be positive and n_images, batch_size at least 1, got {self}"
            )


# ------------------------------------------------------------------ Fourier heat map
def half_spectrum_entries(height: int, width: int) -> torch.Tensor:
    """(row, column) [F, 2] of one of each pair of frequencies {k, -k}, unshifted: the rfft2 half spectrum
    without the entries of its self-mirrored columns (0, and W/2 for even W) whose mirror is already in it.
    The port measures those twice (the same basis image, two sign draws); here each frequency once."""
    rows, cols = torch.meshgrid(torch.arange(height), torch.arange(width // 2 + 1), indexing="ij")
    self_mirrored = (cols == 0) | ((width % 2 == 0) & (cols == width // 2))
    keep = ~self_mirrored | (rows <= height // 2)
    return torch.stack([rows[keep], cols[keep]], 1)


def fourier_basis(entries: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Unit-L2 real Fourier basis images [F, H, W] of the given half-spectrum entries: the port's
    irfft2(one-hot) / norm, which is cos(2 pi (r i / H + c j / W)) normalised (built directly, so no
    [F, F] one-hot stack is needed at large sizes)."""
    i = torch.arange(height, dtype=torch.float64, device=entries.device)[:, None]
    j = torch.arange(width, dtype=torch.float64, device=entries.device)[None, :]
    r, c = entries[:, 0, None, None].double(), entries[:, 1, None, None].double()
    basis = torch.cos(2 * torch.pi * (r * i / height + c * j / width))
    return (basis / basis.flatten(1).norm(dim=1)[:, None, None]).float()


def heat_map_signs(n_frequencies: int, n_images: int, channels: int, seed: int) -> torch.Tensor:
    """The random sign of every (frequency, image, channel) perturbation, +-1 [F, N, C], from ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, 2, (n_frequencies, n_images, channels), generator=generator).float() * 2 - 1


def _mirror(half_values: torch.Tensor, entries: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Values of the half-spectrum entries [F] on the full unshifted spectrum [H, W]: v(-k) = v(k)."""
    full = torch.zeros(height, width, dtype=half_values.dtype)
    rows, cols = entries[:, 0], entries[:, 1]
    full[(-rows) % height, (-cols) % width] = half_values
    full[rows, cols] = half_values
    return full


def _heat_map(
    error_rate: torch.Tensor, loss_change: torch.Tensor, entries: torch.Tensor, height: int, width: int
) -> dict[str, torch.Tensor]:
    """Per-frequency values of the half-spectrum entries as the stored, shifted full-spectrum maps."""
    return {
        "error_rate": shifted(_mirror(error_rate, entries, height, width)),
        "loss_change": shifted(_mirror(loss_change, entries, height, width)),
    }


def _perturbed_outcome(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor, perturbations: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Errors and cross-entropy of the model on clamp(images + perturbations) (one row per pair)."""
    logits = model((images + perturbations).clamp(0, 1))
    loss = nn.functional.cross_entropy(logits, labels, reduction="none")
    return (logits.argmax(1) != labels).double(), loss.double()


def fourier_heat_map(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    settings: HeatMapSettings,
    device: torch.device,
    seed: int = 0,
) -> dict[str, torch.Tensor]:
    """Error rate and mean loss change per frequency (shifted [H, W] each), batched over frequencies and images.

    Each forward pass holds ``batch_size`` (frequency, image) pairs; the signs come from ``heat_map_signs``,
    so the result equals :func:`fourier_heat_map_loop`'s.
    """
    n, channels, height, width = images.shape
    entries = half_spectrum_entries(height, width)
    signs = heat_map_signs(len(entries), n, channels, seed).to(device)
    x, y, on_device = images.to(device).float(), labels.to(device), entries.to(device)
    with torch.no_grad():
        clean_loss = nn.functional.cross_entropy(model(x), y, reduction="none").double()
        errors = torch.zeros(len(entries) * n, dtype=torch.float64, device=device)
        losses = torch.zeros_like(errors)
        for start in range(0, len(errors), settings.batch_size):
            pair = torch.arange(start, min(start + settings.batch_size, len(errors)), device=device)
            frequency, image = pair // n, pair % n
            basis = fourier_basis(on_device[frequency], height, width)
            delta = settings.norm * basis[:, None] * signs[frequency, image][:, :, None, None]
            errors[pair], losses[pair] = _perturbed_outcome(model, x[image], y[image], delta)
    error_rate = errors.view(-1, n).mean(1).cpu()
    loss_change = (losses.view(-1, n) - clean_loss).mean(1).cpu()
    return _heat_map(error_rate, loss_change, entries, height, width)


def fourier_heat_map_loop(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    settings: HeatMapSettings,
    device: torch.device,
    seed: int = 0,
) -> dict[str, torch.Tensor]:
    """The reference: one frequency at a time, as the public port runs it (same signs as the batched one)."""
    n, channels, height, width = images.shape
    entries = half_spectrum_entries(height, width)
    signs = heat_map_signs(len(entries), n, channels, seed)
    x, y = images.to(device).float(), labels.to(device)
    error_rate = torch.zeros(len(entries), dtype=torch.float64)
    loss_change = torch.zeros(len(entries), dtype=torch.float64)
    with torch.no_grad():
        clean_loss = nn.functional.cross_entropy(model(x), y, reduction="none").double()
        for f in range(len(entries)):
            basis = fourier_basis(entries[f : f + 1], height, width)[0].to(device)
            delta = settings.norm * basis * signs[f].to(device)[:, :, None, None]
            errors, losses = _perturbed_outcome(model, x, y, delta)
            error_rate[f] = errors.mean().item()
            loss_change[f] = (losses - clean_loss).mean().item()
    return _heat_map(error_rate, loss_change, entries, height, width)


# ------------------------------------------------------------------ per-image spectra
def amplitude_spectrum(images: torch.Tensor) -> torch.Tensor:
    """|FFT| of images [N, C, H, W] per channel, shifted."""
    return shifted(torch.fft.fft2(images.double()).abs()).float()


def input_gradient(
    model: nn.Module, images: torch.Tensor, targets: torch.Tensor, device: torch.device, batch_size: int = 256
) -> torch.Tensor:
    """dCE(f(x), t)/dx per image [N, C, H, W] (the summed loss: each image gets its own gradient in eval mode)."""
    out = torch.empty(images.shape, dtype=torch.float32)
    for start in range(0, len(images), batch_size):
        x = images[start : start + batch_size].to(device).float().requires_grad_(True)
        loss = nn.functional.cross_entropy(model(x), targets[start : start + batch_size].to(device), reduction="sum")
        (grad,) = torch.autograd.grad(loss, x)
        out[start : start + batch_size] = grad.cpu()
    return out


def mask_saliency(
    model: nn.Module,
    images: torch.Tensor,
    targets: torch.Tensor,
    settings: maps.MapSettings,
    device: torch.device,
    batch_size: int = 256,
    data_term_only: bool = False,
) -> torch.Tensor:
    """|dL/dM| at M = 1 [N, C', H, W] (unshifted full spectrum), L the map engine's per-image objective, or
    with ``data_term_only`` L = CE(f(x'), t) alone (lam = 0)."""
    n, channels, height, width = images.shape
    shape = mask_shape(settings.parameterisation, channels, height, width)
    weights = l1_weights(settings.parameterisation, width, device)
    out = []
    for start in range(0, n, batch_size):
        x = images[start : start + batch_size].to(device).float()
        y = targets[start : start + batch_size].to(device)
        with torch.no_grad():
            clean_ce = nn.functional.cross_entropy(model(x), y, reduction="none")
        mask = torch.ones(len(x), *shape, device=device, requires_grad=True)
        logits = model(apply_mask(x, mask, settings.parameterisation))
        if data_term_only:
            loss = nn.functional.cross_entropy(logits, y, reduction="none")
        else:
            loss = maps.map_loss(logits, y, mask, weights, settings, clean_ce, shape[0] * height * width)
        (grad,) = torch.autograd.grad(loss.sum(), mask)
        out.append(full_spectrum(grad.abs(), settings.parameterisation, width).cpu())
    return torch.cat(out) if out else torch.zeros(0, *shape[:1], height, width)


# ------------------------------------------------------------------ the registry
Measure = Callable[[nn.Module, BaselineInputs, maps.MapSettings, torch.device], torch.Tensor]


def _adversarial(inputs: BaselineInputs) -> tuple[torch.Tensor, torch.Tensor]:
    if inputs.adversarial is None or inputs.adversarial_labels is None:
        raise ValueError("this baseline needs attacked images and their adversarial labels")
    return inputs.adversarial, inputs.adversarial_labels


@dataclass(frozen=True)
class Baseline:
    """One cheap measure: what it is, what it is computed for, and the function (per-image measures return
    shifted maps [N, C, H, W]; the model measure is run by :func:`fourier_heat_map`)."""

    description: str
    scope: str  # one of SCOPES
    compute: Measure | None = None


BASELINES: dict[str, Baseline] = {
    "fourier_heat_map": Baseline("error rate under one Fourier basis perturbation per frequency (Yin et al.)", "model"),
    "gradient_spectrum": Baseline(
        "|FFT(dCE/dx)| of the clean image with its label",
        "clean",
        lambda model, inp, s, dev: amplitude_spectrum(input_gradient(model, inp.clean, inp.labels, dev)),
    ),
    "adversarial_gradient_spectrum": Baseline(
        "|FFT(dCE/dx)| of the attacked image with its adversarial label",
        "attack",
        lambda model, inp, s, dev: amplitude_spectrum(input_gradient(model, *_adversarial(inp), dev)),
    ),
    "perturbation_spectrum": Baseline(
        "|FFT(x_adv - x)| of the attack's perturbation",
        "attack",
        lambda model, inp, s, dev: amplitude_spectrum(_adversarial(inp)[0] - inp.clean),
    ),
    "saliency": Baseline(
        "|dL/dM| at M = 1 of the essential-map objective (clean image, its label)",
        "clean",
        lambda model, inp, s, dev: shifted(mask_saliency(model, inp.clean, inp.labels, s, dev)),
    ),
    "adversarial_saliency": Baseline(
        "|dL/dM| at M = 1 of the adversarial-map objective (attacked image, adversarial label)",
        "attack",
        lambda model, inp, s, dev: shifted(mask_saliency(model, *_adversarial(inp), s, dev)),
    ),
    "data_saliency": Baseline(
        "|dCE/dM| at M = 1, the data term alone (lam = 0; clean image, its label)",
        "clean",
        lambda model, inp, s, dev: shifted(mask_saliency(model, inp.clean, inp.labels, s, dev, data_term_only=True)),
    ),
    "adversarial_data_saliency": Baseline(
        "|dCE/dM| at M = 1, the data term alone (lam = 0; attacked image, adversarial label)",
        "attack",
        lambda model, inp, s, dev: shifted(mask_saliency(model, *_adversarial(inp), s, dev, data_term_only=True)),
    ),
}


def of_scope(scope: str, names: list[str] | None = None) -> list[str]:
    """The baselines of one scope, among ``names`` (all when None), in registry order."""
    if scope not in SCOPES:
        raise ValueError(f"baseline scope must be one of {SCOPES}, not {scope!r}")
    return [name for name, b in BASELINES.items() if b.scope == scope and (names is None or name in names)]


def check_names(names: list[str]) -> None:
    """Reject unknown baseline names before any work, naming them."""
    unknown = [name for name in names if name not in BASELINES]
    if unknown:
        raise ValueError(f"baselines.measures: unknown {unknown}; known: {list(BASELINES)}")


def per_image_baselines(
    names: list[str], model: nn.Module, inputs: BaselineInputs, settings: maps.MapSettings, device: torch.device
) -> dict[str, torch.Tensor]:
    """Every named per-image baseline, shifted [N, C, H, W] each."""
    check_names(names)
    out = {}
    for name in names:
        baseline = BASELINES[name]
        if baseline.compute is None:
            raise ValueError(f"baseline {name!r} is a per-model measure, not a per-image one")
        out[name] = baseline.compute(model, inputs, settings, device).float()
    return out
