"""When an attack succeeds: the relative logit margin an adversarial label needs over the true one, and the
model's decisions it is read from (docs/METHOD.md §3)."""

from __future__ import annotations

import torch
from torch import nn

# The relative logit margin an adversarial label needs over the true one: 4x the largest relative change of
# float32 logits that rounding caused when measured (5.4e-7 between a batch of 1 and of 40 images, and through
# the maps stage's FFT round trip). torchattacks' DeepFool leaves images within 5e-7 of the boundary; foolbox's
# minimal-norm FMN and DeepFool end at least 2.7e-6 and 1.5e-4 past it.
SUCCESS_MARGIN = 2e-6


def logit_margins(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """max over k != y of f_k - f_y, divided by max(1, max |f|): > SUCCESS_MARGIN means robustly misclassified."""
    others = logits.clone()
    others[torch.arange(len(labels), device=logits.device), labels] = -torch.inf
    true = logits.gather(1, labels[:, None]).squeeze(1)
    return (others.amax(1) - true) / logits.abs().amax(1).clamp(min=1)


@torch.no_grad()
def decisions(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor, device: torch.device, batch_size: int = 512
) -> tuple[torch.Tensor, torch.Tensor]:
    """Predicted labels and relative logit margins (see :func:`logit_margins`) on the CPU, in batches."""
    predictions, margins = [], []
    for i in range(0, len(images), batch_size):
        logits = model(images[i : i + batch_size].to(device)).float()
        predictions.append(logits.argmax(1).cpu())
        margins.append(logit_margins(logits, labels[i : i + batch_size].to(device)).cpu())
    if not predictions:
        return torch.empty(0, dtype=torch.long), torch.empty(0)
    return torch.cat(predictions), torch.cat(margins)
