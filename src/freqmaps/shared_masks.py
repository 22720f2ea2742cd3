"""Masks shared by many images: one per class ([P2], docs/METHOD.md §5) and one per dataset ([P1], §6)."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from freqmaps.fourier import apply_mask, l1_norm, l1_weights, mask_shape
from freqmaps.maps import adam_step

log = logging.getLogger(__name__)


# ------------------------------------------------------------------ class-level maps
@dataclass
class ClassMapSettings:
    """[P2] defaults: lambda 0.001 on sum|M|, Adam lr 0.01, at most 5000 iterations, no stop before 500."""

    lam: float = 0.001
    lr: float = 0.01
    min_iterations: int = 500
    max_iterations: int = 5000
    window: int = 20  # the averaged loss is the mean over this many iterations
    tol: float = 1e-3  # stop a class when its averaged loss changes by less than this
    parameterisation: str = "per_channel"
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8


def class_level_maps(
    model: nn.Module,
    clean: torch.Tensor,
    labels: torch.Tensor,
    adversarial: torch.Tensor,
    adversarial_labels: torch.Tensor,
    num_classes: int,
    settings: ClassMapSettings,
    device: torch.device,
) -> dict[str, Any]:
    """One mask per class, all classes optimised together (each with its own Adam state and stop).

    Each iteration takes two Adam steps: (a) on the attacked images whose adversarial label is c (clean image
    correct, attack successful), with their *true* labels as targets: the mask of c learns to undo attacks
    that land in c; (b) on the correctly classified clean images of class c, target c. A class takes a step
    only in a phase where it has images. The loss of a class is the mean cross-entropy of its images plus
    lam * sum|M_c|. A class stops after ``min_iterations`` once the mean of its last ``window`` losses
    differs from the mean of the ``window`` before by less than ``tol``.
    """
    clean, adversarial = clean.to(device), adversarial.to(device)
    labels, adversarial_labels = labels.to(device), adversarial_labels.to(device)
    with torch.no_grad():
        correct = model(clean).argmax(1) == labels
    success = correct & (adversarial_labels != labels)
    phases = [  # (images, targets, owner class of the mask applied)
        (adversarial[success], labels[success], adversarial_labels[success]),
        (clean[correct], labels[correct], labels[correct]),
    ]
    shape = mask_shape(settings.parameterisation, *clean.shape[1:])
    weights = l1_weights(settings.parameterisation, clean.shape[-1], device)
    masks = torch.ones(num_classes, *shape, device=device, dtype=clean.dtype)
    m, v = torch.zeros_like(masks), torch.zeros_like(masks)
    t = torch.zeros(num_classes, dtype=torch.long, device=device)
    running = torch.ones(num_classes, dtype=torch.bool, device=device)
    history = torch.zeros(num_classes, 0, dtype=torch.float64, device=device)
    iterations = torch.zeros(num_classes, dtype=torch.long, device=device)
    for iteration in range(1, settings.max_iterations + 1):
        total = torch.zeros(num_classes, dtype=torch.float64, device=device)
        for images, targets, owner in phases:
            counts = torch.bincount(owner, minlength=num_classes)
            mask = masks.detach().requires_grad_(True)
            ce = nn.functional.cross_entropy(
                model(apply_mask(images, mask[owner], settings.parameterisation)), targets, reduction="none"
            )
            per_class = torch.zeros(num_classes, dtype=ce.dtype, device=device).index_add(0, owner, ce)
            loss = per_class / counts.clamp(min=1) + settings.lam * l1_norm(mask, weights)
            (grad,) = torch.autograd.grad(loss.sum(), mask)
            with torch.no_grad():
                step = running & (counts > 0)
                t += step
                masks, m, v = adam_step(masks, m, v, t, grad, step, settings.lr, settings.betas, settings.eps)
                total += torch.where(counts > 0, loss.double(), 0.0)
        history = torch.cat([history, total[:, None]], 1)[:, -2 * settings.window :]
        iterations += running
        if iteration > settings.min_iterations and history.shape[1] == 2 * settings.window:
            recent, before = history[:, settings.window :].mean(1), history[:, : settings.window].mean(1)
            running &= (recent - before).abs() >= settings.tol
        if not running.any():
            break
    return {
        "masks": masks.detach(),
        "iterations": iterations.cpu(),
        "n_adversarial": torch.bincount(phases[0][2], minlength=num_classes).cpu(),
        "n_clean": torch.bincount(phases[1][2], minlength=num_classes).cpu(),
        **evaluate_class_maps(model, masks, clean, labels, adversarial, adversarial_labels, settings.parameterisation),
    }


@torch.no_grad()
def evaluate_class_maps(
    model: nn.Module,
    masks: torch.Tensor,
    clean: torch.Tensor,
    labels: torch.Tensor,
    adversarial: torch.Tensor,
    adversarial_labels: torch.Tensor,
    parameterisation: str,
) -> dict[str, float]:
    """How many attacks the predicted adversarial class's map undoes; how much clean accuracy the true
    class's map keeps (fractions of the successfully attacked and of the correctly classified images)."""
    correct = model(clean).argmax(1) == labels
    success = correct & (adversarial_labels != labels)
    reverted = model(apply_mask(adversarial[success], masks[adversarial_labels[success]], parameterisation)).argmax(1)
    kept = model(apply_mask(clean[correct], masks[labels[correct]], parameterisation)).argmax(1)
    return {
        "attacks_reverted": (reverted == labels[success]).double().mean().item() if success.any() else math.nan,
        "clean_accuracy_kept": (kept == labels[correct]).double().mean().item() if correct.any() else math.nan,
        "n_attacked": int(success.sum()),
        "n_correct": int(correct.sum()),
    }


# ------------------------------------------------------------------ dataset-level masks
@dataclass
class DatasetMaskSettings:
    """[P1] defaults: lambda 0.2, Adam lr 1e-3 with OneCycle (pct_start 0.1), up to 100 epochs."""

    lam: float = 0.2
    lr: float = 1e-3
    epochs: int = 100
    batch_size: int = 128
    pct_start: float = 0.1
    accuracy_fraction: float = 0.99  # save the mask while masked accuracy >= this fraction of unmasked
    patience: int = 7  # stop after this many epochs in which the sparsity changed by <= sparsity_tol
    sparsity_tol: float = 1e-5
    zero: float = 1e-8  # entries at or below this count as removed
    parameterisation: str = "shared"
    history: list = field(default_factory=list)


def invariance_loss(
    masked_logits: torch.Tensor, logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor, lam: float
) -> torch.Tensor:
    """[P1]: mean over images of exp((CE(f(x'), y) - CE(f(x), y))^2) + (lam / |M_0|_1) |M|_1, |M_0|_1 = M.numel()."""
    masked_ce = nn.functional.cross_entropy(masked_logits, targets, reduction="none")
    ce = nn.functional.cross_entropy(logits, targets, reduction="none")
    return torch.exp((masked_ce - ce) ** 2).mean() + lam / mask.numel() * mask.abs().sum()


def dataset_level_mask(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    eval_images: torch.Tensor,
    eval_labels: torch.Tensor,
    settings: DatasetMaskSettings,
    device: torch.device,
    generator: torch.Generator,
) -> dict[str, Any]:
    """One mask for every image of a dataset, trained with the invariance loss (docs/METHOD.md §6).

    After each epoch the mask is evaluated on ``eval_images``: it is saved while the masked accuracy is at
    least ``accuracy_fraction`` of the unmasked accuracy; training stops once the sparsity (fraction of
    entries <= ``zero``) has changed by at most ``sparsity_tol`` for ``patience`` consecutive epochs.
    """
    shape = mask_shape(settings.parameterisation, *images.shape[1:])
    mask = torch.ones(1, *shape, device=device, requires_grad=True)
    optimiser = torch.optim.Adam([mask], lr=settings.lr)
    steps_per_epoch = math.ceil(len(images) / settings.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=settings.lr, pct_start=settings.pct_start, total_steps=settings.epochs * steps_per_epoch
    )
    with torch.no_grad():
        base_accuracy = _accuracy(model, eval_images, eval_labels, None, settings.parameterisation, device)
    saved, saved_epoch, history, calm, sparsity_before = None, None, [], 0, 0.0
    for epoch in range(1, settings.epochs + 1):
        order = torch.randperm(len(images), generator=generator)
        for s in range(steps_per_epoch):
            index = order[s * settings.batch_size : (s + 1) * settings.batch_size]
            x, y = images[index].to(device), labels[index].to(device)
            with torch.no_grad():
                logits = model(x)
            loss = invariance_loss(model(apply_mask(x, mask, settings.parameterisation)), logits, y, mask, settings.lam)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            with torch.no_grad():
                mask.clamp_(0, 1)
        with torch.no_grad():
            accuracy = _accuracy(model, eval_images, eval_labels, mask, settings.parameterisation, device)
            sparsity = (mask <= settings.zero).double().mean().item()
        history.append({"epoch": epoch, "loss": loss.item(), "masked_accuracy": accuracy, "sparsity": sparsity})
        log.info(
            "dataset mask epoch %d: masked accuracy %.4f (unmasked %.4f), sparsity %.4f",
            epoch,
            accuracy,
            base_accuracy,
            sparsity,
        )
        if accuracy >= settings.accuracy_fraction * base_accuracy:
            saved, saved_epoch = mask.detach().clone(), epoch
        calm = calm + 1 if abs(sparsity - sparsity_before) <= settings.sparsity_tol else 0
        sparsity_before = sparsity
        if calm >= settings.patience:
            break
    final = mask.detach().clone()
    return {
        "mask": (saved if saved is not None else final)[0],
        "saved_epoch": saved_epoch,
        "final_mask": final[0],
        "unmasked_accuracy": base_accuracy,
        "history": history,
        "masked_accuracy": history[saved_epoch - 1]["masked_accuracy"]
        if saved_epoch
        else history[-1]["masked_accuracy"],
    }


def _accuracy(model, images, labels, mask, parameterisation, device, batch_size: int = 512) -> float:
    correct = 0
    for s in range(0, len(images), batch_size):
        x = images[s : s + batch_size].to(device)
        if mask is not None:
            x = apply_mask(x, mask, parameterisation)
        correct += (model(x).argmax(1).cpu() == labels[s : s + batch_size]).sum().item()
    return correct / max(len(images), 1)
