"""The foolbox backend: [P2]'s minimal-norm attacks (eps omitted: every image pushed just past the boundary)."""

from __future__ import annotations

import functools
from typing import Any

import torch
from torch import nn

from freqmaps.attacks.backend import AttackBackend, BatchAttack
from freqmaps.attacks.success import leave_boundary_band

FOOLBOX_METHODS = {  # [P2]'s attacks (minimal-norm with eps omitted), and PGD to compare the backends
    "LInfFMNAttack": "LInfFMNAttack",
    "LinfDeepFoolAttack": "LinfDeepFoolAttack",
    "LinfPGD": "LinfPGD",
}


@functools.cache
def foolbox_methods() -> dict[str, Any]:
    import foolbox

    return {name: getattr(foolbox.attacks, attr) for name, attr in FOOLBOX_METHODS.items()}


class FoolboxBackend(AttackBackend):
    extra = ("eps",)
    needs_extra = ("LinfPGD",)

    def methods(self) -> dict[str, Any]:
        return foolbox_methods()

    def build(
        self, model: nn.Module, method: str, params: dict[str, Any], num_classes: int, seed: int, device: torch.device
    ) -> BatchAttack:
        import foolbox

        settings = dict(params)
        eps = settings.pop("eps", None)  # None: minimal-norm, every image pushed past OVERSHOOT_MARGIN
        attack = foolbox_methods()[method](**settings)
        fmodel = foolbox.PyTorchModel(model.eval(), bounds=(0, 1), device=device)

        def run(images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
            images, labels = images.to(device), labels.to(device)
            _, clipped, _ = attack(fmodel, images, labels, epsilons=eps)
            if eps is None:  # minimal-norm: foolbox stops as soon as the label flips, inside the boundary band
                clipped = leave_boundary_band(model, images, clipped, labels, device)
            return clipped

        return run
