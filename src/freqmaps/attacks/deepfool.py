"""The project's batched L2 DeepFool, a torchattacks attack (imported only where an attack is built: see
:mod:`freqmaps.attacks`)."""

from __future__ import annotations

import torch
import torchattacks
from torch import nn

from freqmaps.attacks.success import OVERSHOOT_MARGIN, logit_margins


class BatchedDeepFool(torchattacks.attack.Attack):
    """DeepFool (L2, all classes as candidates) on the whole batch at once, as [P2]'s reference (foolbox) does it.

    Each step moves to the closest linearised boundary among the other classes (distance + 1e-4 for
    stability), the steps are summed, and the overshoot is applied to the total: x = clip(x0 + (1 + overshoot)
    * p_total), as foolbox's ``DeepFoolAttack``. An image stops once its margin passes OVERSHOOT_MARGIN (not
    merely its argmax), so it ends beyond the boundary band by far more than rounding (docs/METHOD.md §3). One
    backward pass per class for the whole batch (torchattacks 3.5.1 computes a Jacobian per image per step).
    tests/unit/test_attacks.py checks it against foolbox's L2DeepFoolAttack and torchattacks' DeepFool.
    """

    def __init__(self, model: nn.Module, steps: int = 50, overshoot: float = 0.02) -> None:
        super().__init__("DeepFool", model)
        self.steps, self.overshoot = steps, overshoot
        self.supported_mode = ["default"]

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        x0 = images.clone().detach().to(self.device)
        labels = labels.clone().detach().to(self.device)
        adversarial, total = x0.clone(), torch.zeros_like(x0)
        active = torch.ones(len(x0), dtype=torch.bool, device=self.device)
        shape = (-1, *[1] * (x0.ndim - 1))
        for step_index in range(self.steps + 1):  # the last pass only judges the last step
            index = active.nonzero().squeeze(1)
            if len(index) == 0:
                break
            x = adversarial[index].clone().requires_grad_(True)
            logits = self.get_logits(x)
            y = labels[index]
            fooled = logit_margins(logits.detach(), y) > OVERSHOOT_MARGIN
            active[index[fooled]] = False
            if step_index == self.steps:
                break
            classes = logits.shape[1]
            jacobian = torch.stack(
                [torch.autograd.grad(logits[:, c].sum(), x, retain_graph=c < classes - 1)[0] for c in range(classes)], 1
            )
            rows = torch.arange(len(index), device=self.device)
            f_prime = (logits - logits[rows, y][:, None]).detach()
            w_prime = jacobian - jacobian[rows, y][:, None]
            norms = w_prime.flatten(2).norm(dim=2)
            distance = f_prime.abs() / (norms + 1e-8)
            distance[rows, y] = torch.inf
            closest = distance.argmin(1)
            w = w_prime[rows, closest]
            step = (distance[rows, closest] + 1e-4).view(shape) * w / (norms[rows, closest].view(shape) + 1e-8)
            go = index[~fooled]
            total[go] += step[~fooled]
            adversarial[go] = (x0[go] + (1 + self.overshoot) * total[go]).clamp(0, 1)
        return adversarial
