"""When an attack succeeds (docs/METHOD.md §3): the relative logit margins the model's decisions are read from,
the boundary band that keeps success independent of batches, CPU kernels, thread counts and implementations,
and the overshoot that moves a minimal-norm attack's images past it."""

from __future__ import annotations

import torch
from torch import nn

from freqmaps.runtime import fp32_precision

# The success rule's constants (docs/METHOD.md §3 gives the measurement, bench/boundary_noise.py takes it).
# MEASURED_NOISE: the largest change of one image's relative logit margin (logit_margins) seen between batch
# sizes, ATEN_CPU_CAPABILITY values (default, avx2), 1 and 2 threads and the maps stage's FFT round trip
# (8.0e-7), rounded up. BOUNDARY_BAND: half-width tau of the band around a decision boundary, 100x that.
MEASURED_NOISE = 1e-6
BOUNDARY_BAND = 1e-4  # 100 x MEASURED_NOISE
# OVERSHOOT_MARGIN: where the minimal-norm attacks stop, so that their images end 3 tau beyond the band's edge.
OVERSHOOT_MARGIN = 4 * BOUNDARY_BAND


def logit_margins(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """``max over k != y of f_k - f_y`` divided by ``max(1, max |f|)``: above 0 misclassified, within
    ``[-BOUNDARY_BAND, BOUNDARY_BAND]`` on the boundary (:func:`attack_outcomes`)."""
    others = logits.clone()
    others[torch.arange(len(labels), device=logits.device), labels] = -torch.inf
    true = logits.gather(1, labels[:, None]).squeeze(1)
    return (others.amax(1) - true) / logits.abs().amax(1).clamp(min=1)


@torch.no_grad()
def decisions(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor, device: torch.device, batch_size: int = 512
) -> tuple[torch.Tensor, torch.Tensor]:
    """Predicted labels and relative logit margins (see :func:`logit_margins`) on the CPU, in batches; in IEEE
    float32 on a GPU too (TF32 products and convolutions would move margins by far more than BOUNDARY_BAND)."""
    predictions, margins = [], []
    with fp32_precision("ieee", conv="ieee"):
        for i in range(0, len(images), batch_size):
            logits = model(images[i : i + batch_size].to(device)).float()
            predictions.append(logits.argmax(1).cpu())
            margins.append(logit_margins(logits, labels[i : i + batch_size].to(device)).cpu())
    if not predictions:
        return torch.empty(0, dtype=torch.long), torch.empty(0)
    return torch.cat(predictions), torch.cat(margins)


def attack_outcomes(
    correct: torch.Tensor, clean_margins: torch.Tensor, adversarial_margins: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The success rule (docs/METHOD.md §3), from which clean images are ``correct`` (argmax is the true label)
    and the relative logit margins (:func:`logit_margins`) of the clean and the attacked images: ``success``
    (correct, clean margin below -BOUNDARY_BAND, attacked margin above BOUNDARY_BAND) and ``on_boundary``
    (correct, and either margin within the band). Every other correct image is a failure (attacked margin below
    -BOUNDARY_BAND, or not a number). Noise smaller than a margin's distance to the band's edges changes no
    image between success and failure, and an attack whose images end beyond OVERSHOOT_MARGIN changes none at
    all while the noise stays below OVERSHOOT_MARGIN - BOUNDARY_BAND."""
    clear = correct & (clean_margins < -BOUNDARY_BAND)
    on_boundary = correct & ((clean_margins >= -BOUNDARY_BAND) | (adversarial_margins.abs() <= BOUNDARY_BAND))
    success = clear & (adversarial_margins > BOUNDARY_BAND)
    return success, on_boundary


@torch.no_grad()
def leave_boundary_band(
    model: nn.Module, clean: torch.Tensor, adversarial: torch.Tensor, labels: torch.Tensor, device: torch.device
) -> torch.Tensor:
    """A minimal-norm attack's images moved past ``OVERSHOOT_MARGIN``: each image misclassified by a margin in
    (0, OVERSHOOT_MARGIN] becomes clip(x0 + s (x_adv - x0)) for the first scale s of ``LEAVE_BAND_SCALES`` whose
    margin exceeds OVERSHOOT_MARGIN (its perturbation grows by the factor s), and stays as it was if none does
    (it is then on the boundary or a failure). Other images are returned unchanged."""
    out = adversarial.clone()
    _, margins = decisions(model, adversarial, labels, device)
    pending = (margins > 0) & (margins <= OVERSHOOT_MARGIN)
    for scale in LEAVE_BAND_SCALES:
        index = pending.nonzero().squeeze(1)
        if len(index) == 0:
            break
        candidate = (clean[index] + scale * (adversarial[index] - clean[index])).clamp(0, 1)
        _, moved = decisions(model, candidate, labels[index], device)
        past = moved > OVERSHOOT_MARGIN
        out[index[past]] = candidate[past]
        pending[index[past]] = False
    return out


# Typical images need 1.001 to 1.05; only an image whose clean margin lies within a few BOUNDARY_BAND of the
# boundary (its perturbation is then tiny) needs more.
LEAVE_BAND_SCALES = (1.001, 1.002, 1.005, 1.01, 1.02, 1.05, 1.1, 1.2, 1.5, 2.0, 3.0, 5.0, 10.0)
