"""Masks shared by many images: one per class ([P2], docs/METHOD.md §5) and one per dataset ([P1], §6)."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from freqmaps.config import schema_defaults
from freqmaps.data.core import ImageSet
from freqmaps.fourier import apply_mask, invariance_loss, l1_norm, l1_weights, mask_shape
from freqmaps.maps import adam_step
from freqmaps.training import accuracy

log = logging.getLogger(__name__)


# ------------------------------------------------------------------ class-level maps
@dataclass
@schema_defaults("frequency_bias", "class_maps")
class ClassMapSettings:
    """[P2] defaults (the config schema's ``frequency_bias.class_maps``): lambda 0.001 on sum|M|, Adam lr 0.01,
    at most 5000 iterations, no stop before 500."""

    lam: float
    lr: float
    min_iterations: int
    max_iterations: int
    window: int  # the averaged loss is the mean over this many iterations
    tol: float  # stop a class when its averaged loss changes by less than this
    parameterisation: str
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8


def class_level_maps(
    *,
    model: nn.Module,
    attack: Mapping[str, torch.Tensor],
    num_classes: int,
    settings: ClassMapSettings,
    device: torch.device,
) -> dict[str, Any]:
    """One mask per class from an attack's images, all classes optimised together (each with its own Adam
    state and stop).

    ``attack`` holds the attack file's ``clean``, ``labels``, ``adversarial``, ``adversarial_labels``,
    ``clean_predictions`` and ``success`` (:func:`freqmaps.attacks.judge_success`'s judgement, used as stored).
    Each iteration takes two Adam steps: (a) on the successfully attacked images whose adversarial label is c,
    with their *true* labels as targets: the mask of c learns to undo attacks that land in c; (b) on the
    correctly classified clean images of class c, target c. A class takes a step only in a phase where it has
    images. The loss of a class is the mean cross-entropy of its images plus lam * sum|M_c|. A class stops
    after ``min_iterations`` once the mean of its last ``window`` losses differs from the mean of the
    ``window`` before by less than ``tol``.
    """
    clean, adversarial = attack["clean"].to(device), attack["adversarial"].to(device)
    labels, adversarial_labels = attack["labels"].to(device), attack["adversarial_labels"].to(device)
    correct, success = _correct_and_attacked(attack, device)
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
        **evaluate_class_maps(model=model, masks=masks, attack=attack, parameterisation=settings.parameterisation),
    }


@torch.no_grad()
def evaluate_class_maps(
    *, model: nn.Module, masks: torch.Tensor, attack: Mapping[str, torch.Tensor], parameterisation: str
) -> dict[str, float]:
    """How many attacks the predicted adversarial class's map undoes; how much clean accuracy the true
    class's map keeps (fractions of the successfully attacked and of the correctly classified images of
    ``attack``, the tensors of an attack file as :func:`class_level_maps` takes them)."""
    device = masks.device
    clean, adversarial = attack["clean"].to(device), attack["adversarial"].to(device)
    labels, adversarial_labels = attack["labels"].to(device), attack["adversarial_labels"].to(device)
    correct, success = _correct_and_attacked(attack, device)
    reverted = model(apply_mask(adversarial[success], masks[adversarial_labels[success]], parameterisation)).argmax(1)
    kept = model(apply_mask(clean[correct], masks[labels[correct]], parameterisation)).argmax(1)
    return {
        "attacks_reverted": (reverted == labels[success]).double().mean().item() if success.any() else math.nan,
        "clean_accuracy_kept": (kept == labels[correct]).double().mean().item() if correct.any() else math.nan,
        "n_attacked": int(success.sum()),
        "n_correct": int(correct.sum()),
    }


def _correct_and_attacked(
    attack: Mapping[str, torch.Tensor], device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Which clean images the model classified correctly, and which of those the attack succeeded on, as the
    attack file recorded them (never judged again here)."""
    correct = attack["clean_predictions"] == attack["labels"]
    return correct.to(device), attack["success"].to(device)


# ------------------------------------------------------------------ dataset-level masks
@dataclass
@schema_defaults("frequency_bias", "dataset_mask")
class DatasetMaskSettings:
    """[P1] defaults (the config schema's ``frequency_bias.dataset_mask``): lambda 0.2, Adam lr 1e-3 with
    OneCycle (pct_start 0.1), up to 100 epochs."""

    lam: float
    lr: float
    epochs: int
    batch_size: int
    pct_start: float
    accuracy_fraction: float  # save the mask while masked accuracy >= this fraction of unmasked
    patience: int  # stop after this many epochs in which the sparsity changed by <= sparsity_tol
    sparsity_tol: float
    zero: float  # entries at or below this count as removed
    parameterisation: str


def dataset_level_mask(
    model: nn.Module,
    train: ImageSet,
    held_out: ImageSet,
    settings: DatasetMaskSettings,
    device: torch.device,
    generator: torch.Generator,
) -> dict[str, Any]:
    """One mask for every image of a dataset, trained with the invariance loss (docs/METHOD.md §6).

    The mask learns on ``train``; after each epoch it is evaluated on ``held_out``: it is saved while the
    masked accuracy is at least ``accuracy_fraction`` of the unmasked accuracy; training stops once the
    sparsity (fraction of entries <= ``zero``) has changed by at most ``sparsity_tol`` for ``patience``
    consecutive epochs.
    """
    shape = mask_shape(settings.parameterisation, *train.images.shape[1:])
    mask = torch.ones(1, *shape, device=device, requires_grad=True)
    optimiser = torch.optim.Adam([mask], lr=settings.lr)
    steps_per_epoch = math.ceil(len(train) / settings.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=settings.lr, pct_start=settings.pct_start, total_steps=settings.epochs * steps_per_epoch
    )
    base_accuracy = accuracy(model, held_out, device)
    saved, saved_epoch, history, calm, sparsity_before = None, None, [], 0, 0.0
    for epoch in range(1, settings.epochs + 1):
        order = torch.randperm(len(train), generator=generator)
        for s in range(steps_per_epoch):
            index = order[s * settings.batch_size : (s + 1) * settings.batch_size]
            x, y = train.floats(index).to(device), train.labels[index].to(device)
            with torch.no_grad():
                clean_ce = nn.functional.cross_entropy(model(x), y, reduction="none")
            masked_ce = nn.functional.cross_entropy(
                model(apply_mask(x, mask, settings.parameterisation)), y, reduction="none"
            )
            # one mask for all images: the penalty uses its plain L1 norm over its M.numel() entries
            loss = invariance_loss(
                masked_ce, clean_ce, mask.abs().sum(), mask.numel(), settings.lam, mean_over_images=True
            )
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            with torch.no_grad():
                mask.clamp_(0, 1)
        with torch.no_grad():
            masked_accuracy = accuracy(
                model, FilteredImages.of(held_out, mask.detach(), settings.parameterisation), device
            )
            sparsity = (mask <= settings.zero).double().mean().item()
        history.append({"epoch": epoch, "loss": loss.item(), "masked_accuracy": masked_accuracy, "sparsity": sparsity})
        log.info(
            "dataset mask epoch %d: masked accuracy %.4f (unmasked %.4f), sparsity %.4f",
            epoch,
            masked_accuracy,
            base_accuracy,
            sparsity,
        )
        if masked_accuracy >= settings.accuracy_fraction * base_accuracy:
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


@dataclass
class FilteredImages(ImageSet):
    """A split seen through one Fourier mask: ``floats`` returns the filtered images (filtered on the mask's
    device), so ``training.accuracy`` of a ``FilteredImages`` is the classifier's accuracy under the mask."""

    mask: torch.Tensor
    parameterisation: str

    @classmethod
    def of(cls, images: ImageSet, mask: torch.Tensor, parameterisation: str) -> FilteredImages:
        return cls(images.images, images.labels, images.info, mask, parameterisation)

    def floats(self, index: torch.Tensor | slice | None = None, device: torch.device | str = "cpu") -> torch.Tensor:
        unfiltered = super().floats(index).to(self.mask.device)
        return apply_mask(unfiltered, self.mask, self.parameterisation).to(device)
