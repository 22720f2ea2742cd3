"""What an attack backend is: the methods an attack library offers, the check of a configured method and its
parameters, and the builder of a batch attack. One subclass per library, each in its own module, registered in
:data:`freqmaps.attacks.ATTACK_BACKENDS`."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

BatchAttack = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def keyword_parameters(factory: Any) -> dict[str, inspect.Parameter]:
    """A class's constructor parameters by name, without self and the model."""
    parameters = dict(inspect.signature(factory.__init__).parameters)
    parameters.pop("self", None)
    parameters.pop("model", None)
    return {n: p for n, p in parameters.items() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}


class AttackBackend:
    """One attack library. ``automatic``: parameters the backend sets itself (class count, seed, verbosity);
    ``extra``: parameters freqmaps takes beside the class's own; ``needs_extra``: methods that require them."""

    automatic: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()
    needs_extra: tuple[str, ...] = ()

    def methods(self) -> dict[str, Any]:
        """Method name -> the class (or factory) it builds."""
        raise NotImplementedError

    def build(
        self, model: nn.Module, method: str, params: dict[str, Any], num_classes: int, seed: int, device: torch.device
    ) -> BatchAttack:
        """A batch attack ``(images, labels) -> adversarial images`` on ``model`` (inputs in [0, 1])."""
        raise NotImplementedError
