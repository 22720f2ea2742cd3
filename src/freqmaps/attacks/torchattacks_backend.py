"""The torchattacks backend: every torchattacks attack class, DeepFool as the project's batched DeepFool."""

from __future__ import annotations

import functools
import inspect
from typing import Any

import torch
from torch import nn

from freqmaps.attacks.backend import AttackBackend, BatchAttack, keyword_parameters


@functools.cache
def torchattacks_methods() -> dict[str, Any]:
    """Every torchattacks attack class that attacks a model (its first constructor argument)."""
    import torchattacks  # here, not at the top: about 0.7 s with the scipy.stats it loads

    found = {}
    for name in torchattacks.__all__ if hasattr(torchattacks, "__all__") else dir(torchattacks):
        cls = getattr(torchattacks, name, None)
        if inspect.isclass(cls) and issubclass(cls, torchattacks.attack.Attack):
            first = next(iter(list(inspect.signature(cls.__init__).parameters)[1:]), None)
            if first == "model":
                found[name] = cls
    return found


class TorchattacksBackend(AttackBackend):
    automatic = ("n_classes", "seed", "verbose")

    def methods(self) -> dict[str, Any]:
        return torchattacks_methods()

    def build(
        self, model: nn.Module, method: str, params: dict[str, Any], num_classes: int, seed: int, device: torch.device
    ) -> BatchAttack:
        if method == "DeepFool":
            from freqmaps.attacks.deepfool import BatchedDeepFool

            return BatchedDeepFool(model, **params)
        cls = torchattacks_methods()[method]
        accepted = keyword_parameters(cls)
        automatic = {"n_classes": num_classes, "seed": seed, "verbose": False}
        return cls(model, **params, **{k: v for k, v in automatic.items() if k in accepted})
