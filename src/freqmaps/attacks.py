"""Adversarial attacks from one registry of backends, with success rates and perturbation sizes (docs/METHOD.md §3).

``ATTACK_BACKENDS`` maps each backend name (the schema's ``attacks.<name>.backend`` enum) to an
:class:`AttackBackend`: the methods it offers, the check of a configured method and its parameters (run
before any job), and the builder of a batch attack ``(images, labels) -> adversarial images``. Images are
in [0, 1] pixel space; models normalise internally.

An attack *succeeds* on an image the model classifies correctly when clean and, when attacked, wrongly with
a logit margin above rounding noise (:func:`decisions`): an image left exactly on a decision boundary is not
counted, so success does not depend on the batch or the order of floating-point sums.
"""

from __future__ import annotations

import functools
import inspect
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from freqmaps.data import ImageSet

log = logging.getLogger(__name__)

BatchAttack = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
# The relative logit margin an adversarial label needs over the true one: 4x the largest relative change of
# float32 logits that rounding caused when measured (5.4e-7 between a batch of 1 and of 40 images, and through
# the maps stage's FFT round trip). torchattacks' DeepFool leaves images within 5e-7 of the boundary; foolbox's
# minimal-norm FMN and DeepFool end at least 2.7e-6 and 1.5e-4 past it.
SUCCESS_MARGIN = 2e-6


class AttackConfigError(ValueError):
    """A configured attack cannot run; the message names the attack, the key and the valid values."""


def logit_margins(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """``max over k != y of f_k - f_y`` divided by ``max(1, max |f|)``: above SUCCESS_MARGIN is robustly
    misclassified."""
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


def __getattr__(name: str) -> Any:
    """``BatchedDeepFool`` on first use: torchattacks (and the scipy.stats it loads) costs about 0.7 s to import,
    which every workflow job that imports this module but attacks nothing would pay."""
    if name == "BatchedDeepFool":
        from freqmaps.deepfool import BatchedDeepFool

        return BatchedDeepFool
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ------------------------------------------------------------------ backends
@dataclass(frozen=True)
class AttackBackend:
    """One attack library: its method names, the check of a method's parameters, and the batch-attack builder."""

    methods: Callable[[], dict[str, Any]]  # method name -> the class (or factory) it builds
    automatic: tuple[str, ...]  # parameters the backend sets itself (class count, seed, verbosity)
    build: Callable[[nn.Module, str, dict[str, Any], int, int, torch.device], BatchAttack]


def _keyword_parameters(factory: Any) -> dict[str, inspect.Parameter]:
    """A class's constructor parameters by name, without self and the model."""
    parameters = dict(inspect.signature(factory.__init__).parameters)
    parameters.pop("self", None)
    parameters.pop("model", None)
    return {n: p for n, p in parameters.items() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}


@functools.cache
def torchattacks_methods() -> dict[str, Any]:
    """Every torchattacks attack class that attacks a model (its first constructor argument)."""
    import torchattacks  # here, not at the top: see __getattr__

    found = {}
    for name in torchattacks.__all__ if hasattr(torchattacks, "__all__") else dir(torchattacks):
        cls = getattr(torchattacks, name, None)
        if inspect.isclass(cls) and issubclass(cls, torchattacks.attack.Attack):
            first = next(iter(list(inspect.signature(cls.__init__).parameters)[1:]), None)
            if first == "model":
                found[name] = cls
    return found


_TORCHATTACKS_AUTOMATIC = ("n_classes", "seed", "verbose")


def _build_torchattacks(
    model: nn.Module, method: str, params: dict[str, Any], num_classes: int, seed: int, device: torch.device
) -> BatchAttack:
    if method == "DeepFool":
        from freqmaps.deepfool import BatchedDeepFool

        return BatchedDeepFool(model, **params)
    cls = torchattacks_methods()[method]
    accepted = _keyword_parameters(cls)
    automatic = {"n_classes": num_classes, "seed": seed, "verbose": False}
    return cls(model, **params, **{k: v for k, v in automatic.items() if k in accepted})


FOOLBOX_METHODS = {  # [P2]'s attacks (minimal-norm with eps omitted), and PGD to compare the backends
    "LInfFMNAttack": "LInfFMNAttack",
    "LinfDeepFoolAttack": "LinfDeepFoolAttack",
    "LinfPGD": "LinfPGD",
}
_FOOLBOX_NEEDS_EPS = ("LinfPGD",)


@functools.cache
def foolbox_methods() -> dict[str, Any]:
    import foolbox

    return {name: getattr(foolbox.attacks, attr) for name, attr in FOOLBOX_METHODS.items()}


def _build_foolbox(
    model: nn.Module, method: str, params: dict[str, Any], num_classes: int, seed: int, device: torch.device
) -> BatchAttack:
    import foolbox

    settings = dict(params)
    eps = settings.pop("eps", None)  # None: minimal-norm, every image pushed just past the boundary
    attack = foolbox_methods()[method](**settings)
    fmodel = foolbox.PyTorchModel(model.eval(), bounds=(0, 1), device=device)

    def run(images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        _, clipped, _ = attack(fmodel, images.to(device), labels.to(device), epsilons=eps)
        return clipped

    return run


ATTACK_BACKENDS: dict[str, AttackBackend] = {
    "torchattacks": AttackBackend(torchattacks_methods, _TORCHATTACKS_AUTOMATIC, _build_torchattacks),
    "foolbox": AttackBackend(foolbox_methods, (), _build_foolbox),
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
    accepted = _keyword_parameters(methods[method])
    valid = sorted(set(accepted) - set(backend.automatic)) + (["eps"] if backend_name == "foolbox" else [])
    for key in params:
        if key not in valid:
            set_by = " (set by freqmaps)" if key in backend.automatic else ""
            raise AttackConfigError(
                f"attacks.{name}.params.{key}: {backend_name} {method} has no parameter {key!r}{set_by}; valid: {valid}"
            )
    required = [k for k, p in accepted.items() if p.default is inspect.Parameter.empty and k not in backend.automatic]
    required += ["eps"] if backend_name == "foolbox" and method in _FOOLBOX_NEEDS_EPS else []
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
    """The one judgement of an attack, as the attack file stores it: ``clean_predictions``, ``adversarial_labels``
    (``argmax f(x_adv)``), ``adversarial_margins`` (:func:`logit_margins`) and ``success``, which marks correctly
    classified images whose attacked version is misclassified by more than ``SUCCESS_MARGIN``. Later stages read
    the stored ``success`` rather than judge again from labels."""
    clean_predictions, _ = decisions(model, clean, labels, device)
    adversarial_labels, margins = decisions(model, adversarial, labels, device)
    correct = clean_predictions == labels
    return {
        "clean_predictions": clean_predictions,
        "adversarial_labels": adversarial_labels,
        "adversarial_margins": margins,
        "success": correct & (adversarial_labels != labels) & (margins > SUCCESS_MARGIN),
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
    (RobustBench's definition: clean accuracy times one minus the success rate).
    """
    labels = tensors["labels"]
    correct = tensors["clean_predictions"] == labels
    success = tensors["success"]
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
        "success_rate": success.sum().item() / max(int(correct.sum()), 1),
        "robust_accuracy": (correct & ~success).float().mean().item(),
        "linf_successful": summary(tensors["linf"][ok]),
        "l2_successful": summary(tensors["l2"][ok]),
        "attack_seconds": seconds,
    }
