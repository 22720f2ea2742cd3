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
import warnings
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
from freqmaps.data.core import DatasetInfo, ImageSet

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
    "try_attack",
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


POSITIVE_PARAMETERS = ("eps", "alpha")  # a budget or step of 0 (or less) leaves every image where it was


def _type_problem(value: Any, default: Any) -> str | None:
    """What is wrong with ``value`` for a parameter whose default is ``default`` (None when its type fits)."""
    if default is None or default is inspect.Parameter.empty:
        return None
    if isinstance(default, bool):
        return None if isinstance(value, bool) else "true or false"
    if isinstance(default, int | float):
        return None if isinstance(value, int | float) and not isinstance(value, bool) else "a number"
    if isinstance(default, str):
        return None if isinstance(value, str) else "a string"
    if isinstance(default, tuple | list):
        return None if isinstance(value, list | tuple) else "a list"
    return None


def check_attack(name: str, cfg: dict[str, Any]) -> None:
    """Refuse, before any job, an unknown backend or method, parameters the method's class does not take, values
    of the wrong kind for the parameter's default, and counts (a parameter whose default is a positive integer:
    steps, restarts, eot_iter, queries) or budgets (``POSITIVE_PARAMETERS``) of zero or less, with which the
    attack cannot succeed. :func:`try_attack` then runs the attack on a stand-in model."""
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
    for key, value in params.items():
        default = accepted[key].default if key in accepted else None
        wanted = _type_problem(value, default)
        if wanted:
            raise AttackConfigError(
                f"attacks.{name}.params.{key}: {value!r} is not {wanted} ({backend_name} {method}'s default is "
                f"{default!r})"
            )
        counts = isinstance(default, int) and not isinstance(default, bool) and default >= 1
        if (counts or key in POSITIVE_PARAMETERS) and isinstance(value, int | float) and not value > 0:
            why = f"a count ({backend_name} {method}'s default is {default})" if counts else "a budget or step size"
            raise AttackConfigError(
                f"attacks.{name}.params.{key}: must be positive, got {value}; it is {why}, and with {value} "
                "the attack cannot change an image"
            )


STAND_IN_MARGIN = 1e-3  # the stand-in's logit margin: any attack that moves the image at all can flip it


def _stand_in(info: DatasetInfo) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """A one-layer classifier of the dataset's inputs, one image in [0, 1] and the label it predicts for it, by
    ``STAND_IN_MARGIN`` only: the image starts correctly classified, as the images attacked in a run do, and an
    attack that keeps only adversarial results (CW, EAD) finds one within a step."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        flat = info.channels * info.size * info.size
        model = nn.Sequential(nn.Flatten(), nn.Linear(flat, info.num_classes)).eval()
        image = torch.rand(1, info.channels, info.size, info.size)
    with torch.no_grad():
        logits = model(image)[0]
        label, runner_up = logits.topk(2).indices
        model[1].bias[label] -= logits[label] - logits[runner_up] - STAND_IN_MARGIN  # just inside the boundary
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return model, image, label.reshape(1)


# Iteration counts a trial caps at TRIAL_ITERATIONS when they are integers above it: a value an attack refuses
# fails in its first iterations, and a hundred FAB or FMN steps cost seconds even on the stand-in.
ITERATION_PARAMETERS = ("steps", "n_queries", "max_iterations", "nb_iter", "num_iter_set")
TRIAL_ITERATIONS = 10


def _capped(backend: str, method: str, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` with every iteration count (configured or defaulted) above ``TRIAL_ITERATIONS`` capped."""
    accepted = keyword_parameters(ATTACK_BACKENDS[backend].methods()[method])
    capped = dict(params)
    for key in ITERATION_PARAMETERS:
        value = params.get(key, accepted[key].default if key in accepted else None)
        if isinstance(value, int) and not isinstance(value, bool) and value > TRIAL_ITERATIONS:
            capped[key] = TRIAL_ITERATIONS
    return capped


def _run_on_stand_in(
    backend: str, method: str, params: dict[str, Any], info: DatasetInfo, capped: bool = True
) -> torch.Tensor:
    """The attack's output on ``_stand_in``'s image, its iteration counts capped (``_capped``) unless
    ``capped`` is false (seeded, warnings silenced: this is only a trial)."""
    params = _capped(backend, method, params) if capped else params
    model, image, label = _stand_in(info)
    with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.manual_seed(0)
        attack = ATTACK_BACKENDS[backend].build(model, method, dict(params), info.num_classes, 0, torch.device("cpu"))
        return attack(image.clone(), label) - image


def try_attack(name: str, cfg: dict[str, Any], info: DatasetInfo) -> str | None:
    """Build the configured attack on a stand-in model of ``info``'s inputs (``_stand_in``) and attack one
    image, so that a parameter value the attack class refuses only when it runs (a string it does not know, a
    float where it counts, a kernel it has no name for) fails before any job, naming the parameter.

    An attack that changes no pixel of that image, one step from the stand-in's boundary, is refused when it does
    so with its defaults too (the identity, VANILA); with the configured parameters alone it is a warning, which
    is returned: too few steps or queries may still fool a real model, rarely. The first trial caps iteration
    counts (``TRIAL_ITERATIONS``); only an attack that changes nothing then is run again in full."""
    check_attack(name, cfg)
    backend, method, params = cfg.get("backend", "torchattacks"), cfg["method"], dict(cfg.get("params") or {})
    images = f"the {info.name} images ({info.channels}×{info.size}×{info.size}, {info.num_classes} classes)"
    try:
        change = _run_on_stand_in(backend, method, params, info)
    except Exception as err:  # noqa: BLE001 - any failure of a third-party attack is a config error here
        raise AttackConfigError(_blame(name, backend, method, params, info, images, err)) from None
    if change.abs().amax() > 0 or _run_on_stand_in(backend, method, params, info, capped=False).abs().amax() > 0:
        return None  # (capped, a minimal-norm attack may not yet have found an adversarial image to return)
    required = _required(backend, method, params)
    if not _run_on_stand_in(backend, method, required, info, capped=False).abs().amax() > 0:
        raise AttackConfigError(
            f"attacks.{name}.method: {backend} {method} changes no pixel of an image of {images} even with its "
            "default parameters, on a stand-in model whose boundary is one small step away: it can fool no model"
        )
    return (
        f"attacks.{name}.params: {backend} {method} with {params} changed no pixel of an image of {images} on a "
        "stand-in model whose boundary is one small step away (with its defaults it does): too few steps, "
        "iterations or queries? It may fool few or no images of a real model"
    )


def _required(backend: str, method: str, params: dict[str, Any]) -> dict[str, Any]:
    """The configured values of the parameters ``method`` cannot run without (foolbox LinfPGD's eps)."""
    chosen = ATTACK_BACKENDS[backend]
    return {k: params[k] for k in chosen.extra if k in params and method in chosen.needs_extra}


def _blame(
    name: str, backend: str, method: str, params: dict[str, Any], info: DatasetInfo, images: str, err: Exception
) -> str:
    """The config key at fault for an attack that failed on the stand-in: the method itself when it fails with its
    defaults, else the parameter that fails alone (with the method's required ones beside it), else the parameters
    together."""
    reason = f"{type(err).__name__}: {err}".splitlines()[0]
    required = _required(backend, method, params)
    try:
        _run_on_stand_in(backend, method, required, info)
    except Exception:  # noqa: BLE001
        return f"attacks.{name}.method: {backend} {method} cannot attack {images}, even with its defaults ({reason})"
    for key, value in params.items():
        if key in required:
            continue
        try:
            _run_on_stand_in(backend, method, {**required, key: value}, info)
        except Exception:  # noqa: BLE001
            return (
                f"attacks.{name}.params.{key}: {backend} {method} cannot run with {key}: {value!r} on {images} "
                f"({reason})"
            )
    return f"attacks.{name}.params: {backend} {method} cannot run with {params} together on {images} ({reason})"


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
