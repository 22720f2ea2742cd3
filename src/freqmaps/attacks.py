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
from freqmaps.runtime import fp32_precision

log = logging.getLogger(__name__)

BatchAttack = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
# The success rule's constants (docs/METHOD.md §3 gives the measurement, bench/boundary_noise.py takes it).
# MEASURED_NOISE: the largest change of one image's relative logit margin (logit_margins) seen between batch
# sizes, ATEN_CPU_CAPABILITY values (default, avx2), 1 and 2 threads and the maps stage's FFT round trip
# (8.0e-7), rounded up. BOUNDARY_BAND: half-width tau of the band around a decision boundary, 100x that.
MEASURED_NOISE = 1e-6
BOUNDARY_BAND = 1e-4  # 100 x MEASURED_NOISE
# OVERSHOOT_MARGIN: where the minimal-norm attacks stop, so that their images end 3 tau beyond the band's edge.
OVERSHOOT_MARGIN = 4 * BOUNDARY_BAND


class AttackConfigError(ValueError):
    """A configured attack cannot run; the message names the attack, the key and the valid values."""


def logit_margins(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """max over k != y of f_k - f_y, divided by max(1, max |f|): > 0 misclassified, |.| <= BOUNDARY_BAND on the
    boundary (:func:`attack_outcomes`)."""
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
