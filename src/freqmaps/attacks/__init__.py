"""Adversarial attacks from one registry of backends, with success rates and perturbation sizes (docs/METHOD.md §3).

``ATTACK_BACKENDS`` maps each backend name (the schema's ``attacks.<name>.backend`` enum) to an
:class:`AttackBackend`: the methods it offers, the check of a configured method and its parameters (run
before any job), and the builder of a batch attack ``(images, labels) -> adversarial images``. Images are
in [0, 1] pixel space; models normalise internally.

An attack *succeeds* on an image the model classifies correctly when clean and, when attacked, wrongly with a
relative logit margin above ``BOUNDARY_BAND``; an image whose clean or attacked margin lies within the band is
*on the boundary*, neither a success nor a failure, and counted apart (:func:`attack_outcomes`). The band stands
far above the margin changes that batches, CPU kernels, thread counts and implementations cause, and the
minimal-norm attacks go on until their margin exceeds ``OVERSHOOT_MARGIN`` (:func:`leave_boundary_band`, the
batched DeepFool's stopping test), so which images count as attacked does not depend on the machine.
"""

from __future__ import annotations

import inspect
import logging
import time
from typing import Any

import torch
from torch import nn

from freqmaps.attacks.backend import AttackBackend, BatchAttack, keyword_parameters
from freqmaps.attacks.foolbox_backend import FOOLBOX_METHODS, FoolboxBackend, foolbox_methods
from freqmaps.attacks.success import (
    BOUNDARY_BAND,
    LEAVE_BAND_SCALES,
    MEASURED_NOISE,
    OVERSHOOT_MARGIN,
    attack_outcomes,
    decisions,
    leave_boundary_band,
    logit_margins,
)
from freqmaps.attacks.torchattacks_backend import TorchattacksBackend, torchattacks_methods
from freqmaps.data import ImageSet

__all__ = [
    "ATTACK_BACKENDS",
    "FOOLBOX_METHODS",
    "BOUNDARY_BAND",
    "LEAVE_BAND_SCALES",
    "MEASURED_NOISE",
    "OVERSHOOT_MARGIN",
    "AttackBackend",
    "AttackConfigError",
    "BatchAttack",
    "attack_metrics",
    "attack_outcomes",
    "build_attack",
    "check_attack",
    "decisions",
    "foolbox_methods",
    "judge_success",
    "leave_boundary_band",
    "logit_margins",
    "run_attack",
    "torchattacks_methods",
]

log = logging.getLogger(__name__)


class AttackConfigError(ValueError):
    """A configured attack cannot run; the message names the attack, the key and the valid values."""


def __getattr__(name: str) -> Any:
    """``BatchedDeepFool`` on first use: torchattacks (and the scipy.stats it loads) costs about 0.7 s to import,
    which every workflow job that imports this module but attacks nothing would pay."""
    if name == "BatchedDeepFool":
        from freqmaps.attacks.deepfool import BatchedDeepFool

        return BatchedDeepFool
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# One entry per attack library (the schema's attacks.<name>.backend enum): a new backend is one module with an
# AttackBackend subclass, and its entry here.
ATTACK_BACKENDS: dict[str, AttackBackend] = {
    "torchattacks": TorchattacksBackend(),
    "foolbox": FoolboxBackend(),
}


def check_attack(name: str, cfg: dict[str, Any]) -> None:
    """Refuse, before any job, an unknown backend or method and parameters the method's class does not take."""
    backend_name = cfg.get("backend", "torchattacks")
    if backend_name not in ATTACK_BACKENDS:
        raise AttackConfigError(
            f"attacks.{name}.backend: unknown backend {backend_name!r}; known: {sorted(ATTACK_BACKENDS)}"
        )
    backend, method, params = ATTACK_BACKENDS[backend_name], cfg.get("method"), cfg.get("params") or {}
    methods = backend.methods()
    if method not in methods:
        raise AttackConfigError(
            f"attacks.{name}.method: unknown {backend_name} attack {method!r}; known: {sorted(methods)}"
        )
    accepted = keyword_parameters(methods[method])
    valid = sorted(set(accepted) - set(backend.automatic)) + list(backend.extra)
    for key in params:
        if key not in valid:
            set_by = " (set by freqmaps)" if key in backend.automatic else ""
            raise AttackConfigError(
                f"attacks.{name}.params.{key}: {backend_name} {method} has no parameter {key!r}{set_by}; valid: {valid}"
            )
    required = [k for k, p in accepted.items() if p.default is inspect.Parameter.empty and k not in backend.automatic]
    required += list(backend.extra) if method in backend.needs_extra else []
    missing = [k for k in required if k not in params]
    if missing:
        raise AttackConfigError(f"attacks.{name}.params: {backend_name} {method} needs {missing}; valid: {valid}")
    if "eps" in params and not params["eps"] > 0:
        raise AttackConfigError(f"attacks.{name}.params.eps: must be positive, got {params['eps']}")


def build_attack(
    model: nn.Module,
    method: str,
    params: dict[str, Any],
    num_classes: int,
    backend: str = "torchattacks",
    seed: int = 0,
    device: torch.device | str = "cpu",
) -> BatchAttack:
    """A configured batch attack on ``model`` (inputs in [0, 1]); the backend sets the class count and seed."""
    check_attack("*", {"backend": backend, "method": method, "params": params})
    return ATTACK_BACKENDS[backend].build(model, method, dict(params), num_classes, seed, torch.device(device))


def judge_success(
    model: nn.Module, clean: torch.Tensor, adversarial: torch.Tensor, labels: torch.Tensor, device: torch.device
) -> dict[str, torch.Tensor]:
    """The one judgement of an attack, as the attack file stores it: ``clean_predictions``, ``clean_margins``,
    ``adversarial_labels`` (``argmax f(x_adv)``), ``adversarial_margins`` (:func:`logit_margins`), and
    :func:`attack_outcomes`' ``success`` and ``on_boundary``. Later stages read the stored flags rather than judge
    again from labels."""
    clean_predictions, clean_margins = decisions(model, clean, labels, device)
    adversarial_labels, margins = decisions(model, adversarial, labels, device)
    success, on_boundary = attack_outcomes(clean_predictions == labels, clean_margins, margins)
    return {
        "clean_predictions": clean_predictions,
        "clean_margins": clean_margins,
        "adversarial_labels": adversarial_labels,
        "adversarial_margins": margins,
        "success": success,
        "on_boundary": on_boundary,
    }


def run_attack(
    model: nn.Module,
    data: ImageSet,
    method: str,
    params: dict[str, Any],
    device: torch.device,
    batch_size: int = 250,
    backend: str = "torchattacks",
    seed: int = 0,
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Attack every image of ``data``; return the tensors to store and the summary metrics.

    The judgement (``success`` and the labels it rests on) is :func:`judge_success`'s.
    """
    attack = build_attack(model, method, params, data.info.num_classes, backend, seed, device)
    clean = data.floats()
    adversarial = torch.empty_like(clean)
    started = time.time()
    for i in range(0, len(data), batch_size):
        x = clean[i : i + batch_size].to(device)
        y = data.labels[i : i + batch_size].to(device)
        adversarial[i : i + batch_size] = attack(x, y).detach().cpu()
        log.info("%s (%s): %d/%d images attacked", method, backend, min(i + batch_size, len(data)), len(data))
    seconds = time.time() - started
    tensors = {
        "clean": clean,
        "adversarial": adversarial,
        "labels": data.labels,
        **judge_success(model, clean, adversarial, data.labels, device),
    }
    delta = (adversarial - clean).flatten(1)
    tensors["linf"], tensors["l2"] = delta.abs().amax(1), delta.norm(dim=1)
    metrics = attack_metrics(tensors, method, params, seconds, backend)
    log.info(
        "%s: success rate %.3f on %d correctly classified images; clean accuracy %.3f, robust accuracy %.3f",
        method,
        metrics["success_rate"],
        metrics["n_clean_correct"],
        metrics["clean_accuracy"],
        metrics["robust_accuracy"],
    )
    return tensors, metrics


def attack_metrics(
    tensors: dict[str, torch.Tensor], method: str, params: dict[str, Any], seconds: float, backend: str = "torchattacks"
) -> dict[str, Any]:
    """Success rate, clean and robust accuracy and perturbation sizes from stored attack tensors (one shard or all).

    Robust accuracy is the share of images classified correctly clean on which the attack did not succeed
    (RobustBench's definition: clean accuracy times one minus the success rate). Images on the boundary are not
    successes there; ``n_on_boundary`` counts them, beside ``n_success`` and ``n_attack_failed``.
    """
    labels = tensors["labels"]
    correct = tensors["clean_predictions"] == labels
    success, on_boundary = tensors["success"], tensors["on_boundary"]
    ok = success.nonzero().squeeze(1)

    def summary(values: torch.Tensor) -> dict[str, float | None]:
        if len(values) == 0:
            return {"mean": None, "median": None, "max": None}
        return {"mean": values.mean().item(), "median": values.median().item(), "max": values.max().item()}

    return {
        "backend": backend,
        "method": method,
        "params": params,
        "n_images": len(labels),
        "clean_accuracy": correct.float().mean().item(),
        "n_clean_correct": int(correct.sum()),
        "n_success": int(success.sum()),
        "n_on_boundary": int(on_boundary.sum()),  # neither success nor failure (docs/METHOD.md §3)
        "n_attack_failed": int((correct & ~success & ~on_boundary).sum()),
        "success_rate": success.sum().item() / max(int(correct.sum()), 1),
        "robust_accuracy": (correct & ~success).float().mean().item(),
        "linf_successful": summary(tensors["linf"][ok]),
        "l2_successful": summary(tensors["l2"][ok]),
        "attack_seconds": seconds,
    }
