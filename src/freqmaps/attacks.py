"""Adversarial attacks through torchattacks, with success rates and perturbation sizes (docs/METHOD.md §3)."""

from __future__ import annotations

import logging
import time
from typing import Any

import torch
import torchattacks
from torch import nn

from freqmaps.data import ImageSet
from freqmaps.training import predict

log = logging.getLogger(__name__)

# torchattacks class name -> the keyword arguments a config may set (all others are an error).
ATTACK_PARAMETERS: dict[str, tuple[str, ...]] = {
    "PGD": ("eps", "alpha", "steps", "random_start"),
    "FGSM": ("eps",),
    "DeepFool": ("steps", "overshoot"),
    "FAB": ("norm", "eps", "steps", "n_restarts", "alpha_max", "eta", "beta"),
    "CW": ("c", "kappa", "steps", "lr"),
}


class BatchedDeepFool(torchattacks.attack.Attack):
    """torchattacks' DeepFool, step for step, on the whole batch at once.

    torchattacks 3.5.1 runs DeepFool one image at a time with a Jacobian per image per step; this computes
    the same per-image step (closest linearised boundary among the other classes, overshoot applied to each
    step, clamp to [0, 1], an image stops once misclassified) with one backward pass per class for the
    whole batch. tests/unit/test_attacks.py checks it against torchattacks.DeepFool.
    """

    def __init__(self, model: nn.Module, steps: int = 50, overshoot: float = 0.02) -> None:
        super().__init__("DeepFool", model)
        self.steps, self.overshoot = steps, overshoot
        self.supported_mode = ["default"]

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        adversarial = images.clone().detach().to(self.device)
        labels = labels.clone().detach().to(self.device)
        active = torch.ones(len(adversarial), dtype=torch.bool, device=self.device)
        for _ in range(self.steps):
            index = active.nonzero().squeeze(1)
            if len(index) == 0:
                break
            x = adversarial[index].clone().requires_grad_(True)
            logits = self.get_logits(x)
            y = labels[index]
            fooled = logits.argmax(1) != y
            classes = logits.shape[1]
            jacobian = torch.stack(
                [torch.autograd.grad(logits[:, c].sum(), x, retain_graph=c < classes - 1)[0] for c in range(classes)], 1
            )
            rows = torch.arange(len(index), device=self.device)
            f_prime = (logits - logits[rows, y][:, None]).detach()
            w_prime = jacobian - jacobian[rows, y][:, None]
            norms = w_prime.flatten(2).norm(dim=2)
            value = f_prime.abs() / norms
            value[rows, y] = torch.inf
            closest = value.argmin(1)
            w = w_prime[rows, closest]
            delta = (
                f_prime[rows, closest].abs().view(-1, *[1] * (x.ndim - 1))
                * w
                / norms[rows, closest].view(-1, *[1] * (x.ndim - 1)) ** 2
            )
            stepped = (x.detach() + (1 + self.overshoot) * delta).clamp(0, 1)
            adversarial[index[~fooled]] = stepped[~fooled]
            active[index[fooled]] = False
        return adversarial


def build_attack(model: nn.Module, method: str, params: dict[str, Any], num_classes: int):
    """A configured torchattacks attack on ``model`` (inputs in [0, 1], no normalisation in torchattacks)."""

    if method not in ATTACK_PARAMETERS:
        raise ValueError(f"attacks.*.method: unknown attack {method!r}; known: {sorted(ATTACK_PARAMETERS)}")
    unknown = set(params) - set(ATTACK_PARAMETERS[method])
    if unknown:
        raise ValueError(
            f"attacks ({method}): unknown parameter(s) {sorted(unknown)}; allowed: {ATTACK_PARAMETERS[method]}"
        )
    if "eps" in params and not params["eps"] > 0:
        raise ValueError(f"attacks ({method}): eps must be positive, got {params['eps']}")
    kwargs = dict(params)
    if method == "DeepFool":
        return BatchedDeepFool(model, **kwargs)
    if method == "FAB":
        kwargs["n_classes"] = num_classes  # torchattacks' default of 10 would be wrong for other datasets
    return getattr(torchattacks, method)(model, **kwargs)


def run_attack(
    model: nn.Module, data: ImageSet, method: str, params: dict[str, Any], device: torch.device, batch_size: int = 250
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Attack every image of ``data``; return the tensors to store and the summary metrics.

    An attack *succeeds* on an image the model classifies correctly when clean and wrongly when attacked;
    its adversarial label is ``argmax f(x_adv)``.
    """
    attack = build_attack(model, method, params, data.info.num_classes)
    clean = data.floats()
    adversarial = torch.empty_like(clean)
    started = time.time()
    for i in range(0, len(data), batch_size):
        x = clean[i : i + batch_size].to(device)
        y = data.labels[i : i + batch_size].to(device)
        adversarial[i : i + batch_size] = attack(x, y).detach().cpu()
        log.info("%s: %d/%d images attacked", method, min(i + batch_size, len(data)), len(data))
    seconds = time.time() - started
    tensors = {
        "clean": clean,
        "adversarial": adversarial,
        "labels": data.labels,
        "clean_predictions": predict(model, clean, device),
        "adversarial_labels": predict(model, adversarial, device),
    }
    delta = (adversarial - clean).flatten(1)
    tensors["linf"], tensors["l2"] = delta.abs().amax(1), delta.norm(dim=1)
    metrics = attack_metrics(tensors, method, params, seconds)
    log.info(
        "%s: success rate %.3f on %d correctly classified images",
        method,
        metrics["success_rate"],
        metrics["n_clean_correct"],
    )
    return tensors, metrics


def attack_metrics(
    tensors: dict[str, torch.Tensor], method: str, params: dict[str, Any], seconds: float
) -> dict[str, Any]:
    """Success rate, accuracies and perturbation sizes from stored attack tensors (one shard or all)."""
    labels = tensors["labels"]
    correct = tensors["clean_predictions"] == labels
    success = correct & (tensors["adversarial_labels"] != labels)
    ok = success.nonzero().squeeze(1)

    def summary(values: torch.Tensor) -> dict[str, float | None]:
        if len(values) == 0:
            return {"mean": None, "median": None, "max": None}
        return {"mean": values.mean().item(), "median": values.median().item(), "max": values.max().item()}

    return {
        "method": method,
        "params": params,
        "n_images": len(labels),
        "clean_accuracy": correct.float().mean().item(),
        "n_clean_correct": int(correct.sum()),
        "n_success": int(success.sum()),
        "success_rate": success.sum().item() / max(int(correct.sum()), 1),
        "robust_accuracy": (tensors["adversarial_labels"] == labels).float().mean().item(),
        "linf_successful": summary(tensors["linf"][ok]),
        "l2_successful": summary(tensors["l2"][ok]),
        "attack_seconds": seconds,
    }
