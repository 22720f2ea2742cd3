"""Training classifiers, including the robustness variants of [P1] (METHOD.md §6)."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from freqmaps.data import AUGMENTATIONS, DatasetInfo, ImageSet, random_affine
from freqmaps.io import ResultFileError, load_tensors, save_tensors, write_json
from freqmaps.models import build_model
from freqmaps.runtime import peak_memory_mb, provenance

log = logging.getLogger(__name__)

VARIANTS = ("standard", "adversarial", "scale", "translate", "rotate", "noise")


@dataclass
class TrainSettings:
    """One training recipe; ``variant`` picks the robustness treatment on top of the base augmentation."""

    arch: str = "small_cnn"
    variant: str = "standard"
    epochs: int = 3
    batch_size: int = 128
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    milestones: list[int] = field(default_factory=list)  # epochs at which lr is divided by 10
    base_augmentation: str | None = None  # crop_flip | crop | none; None: the dataset's (DatasetInfo.augmentation)
    n_train: int | None = None  # first n training images (None: all)
    adv_eps: float = 8 / 255  # adversarial variant: PGD L-inf radius in pixel units
    adv_steps: int = 10
    adv_step_size: float | None = None  # None: eps / 8, as in [P1]
    noise_std: float = 0.1  # noise variant: Gaussian noise std in pixel units
    scale: tuple[float, float] = (0.5, 1.5)
    translate: float = 0.4
    degrees: float = 180.0

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ValueError(f"models.*.train.variant: unknown variant {self.variant!r}; known: {VARIANTS}")
        if self.base_augmentation not in (None, *AUGMENTATIONS):
            raise ValueError(
                f"models.*.train.base_augmentation: {self.base_augmentation!r} is not one of {sorted(AUGMENTATIONS)}"
            )
        self.scale = tuple(self.scale)


def _augment(x: torch.Tensor, s: TrainSettings, generator: torch.Generator) -> torch.Tensor:
    x = AUGMENTATIONS[s.base_augmentation](x, generator, padding=max(1, x.shape[-1] // 8))
    if s.variant == "scale":
        x = random_affine(x, generator, scale=s.scale)
    elif s.variant == "translate":
        x = random_affine(x, generator, translate=s.translate)
    elif s.variant == "rotate":
        x = random_affine(x, generator, degrees=s.degrees)
    elif s.variant == "noise":
        x = (x + s.noise_std * torch.randn(x.shape, generator=generator).to(x.device)).clamp_(0, 1)
    return x


@torch.no_grad()
def predict(model: nn.Module, images: torch.Tensor, device: torch.device, batch_size: int = 512) -> torch.Tensor:
    """Predicted labels (on the CPU) for float images in [0, 1]."""
    out = [model(images[i : i + batch_size].to(device)).argmax(1).cpu() for i in range(0, len(images), batch_size)]
    return torch.cat(out) if out else torch.empty(0, dtype=torch.long)


def accuracy(model: nn.Module, data: ImageSet, device: torch.device, batch_size: int = 512) -> float:
    correct = 0
    for i in range(0, len(data), batch_size):
        correct += (
            (predict(model, data.floats(slice(i, i + batch_size)), device) == data.labels[i : i + batch_size])
            .sum()
            .item()
        )
    return correct / max(len(data), 1)


def train_classifier(
    train: ImageSet, test: ImageSet, settings: TrainSettings, device: torch.device, generator: torch.Generator
) -> tuple[nn.Module, dict[str, Any]]:
    """Train from scratch with SGD + step decay; returns the model (eval mode) and its metrics."""
    from tqdm import tqdm

    settings.base_augmentation = settings.base_augmentation or train.info.augmentation  # recorded as used
    model = build_model(settings.arch, train.info).to(device)
    optimiser = torch.optim.SGD(
        model.parameters(),
        lr=settings.lr,
        momentum=settings.momentum,
        weight_decay=settings.weight_decay,
        nesterov=settings.momentum > 0,
    )
    schedule = torch.optim.lr_scheduler.MultiStepLR(optimiser, milestones=settings.milestones, gamma=0.1)
    attack = None
    if settings.variant == "adversarial":
        import torchattacks

        attack = torchattacks.PGD(
            model,
            eps=settings.adv_eps,
            alpha=settings.adv_step_size or settings.adv_eps / 8,
            steps=settings.adv_steps,
            random_start=True,
        )
    n = len(train) if settings.n_train is None else min(settings.n_train, len(train))
    steps_per_epoch = math.ceil(n / settings.batch_size)
    loss_fn = nn.CrossEntropyLoss()
    history, started = [], time.time()
    for epoch in range(settings.epochs):
        model.train()
        order = torch.randperm(n, generator=generator)
        total, seen = 0.0, 0
        bar = tqdm(range(steps_per_epoch), desc=f"epoch {epoch + 1}/{settings.epochs}", mininterval=10, ascii=True)
        for step in bar:
            index = order[step * settings.batch_size : (step + 1) * settings.batch_size]
            x = _augment(train.floats(index, device), settings, generator)
            y = train.labels[index].to(device)
            if attack is not None:
                x = attack(x, y)  # fully adversarial batches, as in [P1]
                model.train()
            loss = loss_fn(model(x), y)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            total, seen = total + loss.detach().double() * len(index), seen + len(index)  # no host sync per step
        total = float(total)
        schedule.step()
        model.eval()
        test_acc = accuracy(model, test, device)
        history.append({"epoch": epoch + 1, "train_loss": total / seen, "test_accuracy": test_acc})
        log.info("epoch %d: train loss %.4f, test accuracy %.4f", epoch + 1, total / seen, test_acc)
    model.eval()
    metrics = {
        "test_accuracy": history[-1]["test_accuracy"] if history else accuracy(model, test, device),
        "history": history,
        "n_train": n,
        "n_test": len(test),
        "train_seconds": time.time() - started,
        "train_images_per_second": n * settings.epochs / max(time.time() - started, 1e-9),
        "peak_memory_mb": peak_memory_mb(device),
    }
    return model, metrics


def save_classifier(
    model: nn.Module,
    path: str | Path,
    info: DatasetInfo,
    settings: TrainSettings,
    metrics: dict[str, Any],
    device: torch.device,
    seed: int,
) -> None:
    """Weights to safetensors (with the architecture in its metadata) and a JSON sidecar of metrics."""
    record = provenance(device, seed, asdict(settings))
    save_tensors(path, model.state_dict(), {"arch": settings.arch, "dataset": info.name, **record})
    write_json(Path(path).with_suffix(".json"), {"dataset": info.name, "arch": settings.arch, **metrics, **record})


def load_classifier(path: str | Path, info: DatasetInfo, device: torch.device) -> nn.Module:
    """Rebuild the architecture named in the weights file and load it; never unpickles."""
    state, meta = load_tensors(path)
    if meta.get("dataset") != info.name:
        raise ResultFileError(f"{path}: weights were trained on {meta.get('dataset')!r}, not {info.name!r}")
    model = build_model(meta["arch"], info)
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise ResultFileError(f"{path}: weights do not fit architecture {meta['arch']!r} ({err})") from err
    return model.to(device).eval()
