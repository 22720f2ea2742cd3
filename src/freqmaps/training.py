"""Training classifiers: the robustness variants of [P1] (docs/METHOD.md §6) and the training modes (from scratch or
from weights, head only on a frozen pretrained backbone as in [P2], or none: the model analysed as it is).

Two registries: ``TRAINING_VARIANTS`` (the treatment of each training batch) and ``TRAINING_MODES`` (which
parameters train). Adding one is one entry here and its name in the schema's enum (a test checks both).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from freqmaps.config import schema_defaults
from freqmaps.data.core import DatasetInfo, ImageSet
from freqmaps.data.transforms import AUGMENTATIONS, random_affine
from freqmaps.io import (
    ResultFileError,
    load_metadata,
    load_tensors,
    regenerate_command,
    save_tensors,
    sidecar_path,
    write_json,
)
from freqmaps.models.loading import check_model, load_weights
from freqmaps.models.registry import build_architecture, model_input_spec, model_source
from freqmaps.models.spec import InputSpec, ModelSource, ModelSpec
from freqmaps.runtime import note_spinning_threads, peak_memory_mb, provenance
from freqmaps.weights import WeightsError, fit_problems, fit_state_dict, safetensors_shapes, sha256

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainingVariant:
    """A robustness treatment of training batches: an augmentation of the images in [0, 1], and whether the
    batches are then replaced by PGD adversarial examples."""

    augment: Callable[[torch.Tensor, TrainSettings, torch.Generator], torch.Tensor] | None = None
    adversarial: bool = False


def _gaussian_noise(x: torch.Tensor, s: TrainSettings, generator: torch.Generator) -> torch.Tensor:
    return (x + s.noise_std * torch.randn(x.shape, generator=generator).to(x.device)).clamp_(0, 1)


TRAINING_VARIANTS: dict[str, TrainingVariant] = {
    "standard": TrainingVariant(),
    "adversarial": TrainingVariant(adversarial=True),  # PGD L-inf, fully adversarial batches, as in [P1]
    "scale": TrainingVariant(lambda x, s, g: random_affine(x, g, scale=s.scale)),
    "translate": TrainingVariant(lambda x, s, g: random_affine(x, g, translate=s.translate)),
    "rotate": TrainingVariant(lambda x, s, g: random_affine(x, g, degrees=s.degrees)),
    "noise": TrainingVariant(_gaussian_noise),
}
VARIANTS = tuple(TRAINING_VARIANTS)


def _head_parameters(model: nn.Sequential, spec: ModelSpec) -> list[nn.Parameter]:
    return list(model[1].get_submodule(model_source(spec).head_name(model[1])).parameters())


@dataclass(frozen=True)
class TrainingMode:
    """Which parameters train: ``trainable`` picks them (None: no training, the model is analysed as it is);
    ``needs_weights``: the mode starts from weights; ``new_head``: the weights' classification layer is replaced
    by a fresh one for the dataset's classes."""

    trainable: Callable[[nn.Sequential, ModelSpec], list[nn.Parameter]] | None
    needs_weights: bool = False
    new_head: bool = False
    frozen_backbone: bool = False  # batch-norm statistics of the backbone stay as loaded (eval mode)


TRAINING_MODES: dict[str, TrainingMode] = {
    "full": TrainingMode(lambda model, spec: list(model.parameters())),  # from scratch, or on from the weights
    "head_only": TrainingMode(_head_parameters, needs_weights=True, new_head=True, frozen_backbone=True),  # [P2]
    "none": TrainingMode(None, needs_weights=True),  # evaluate, attack and map the model as it is
}


@dataclass
@schema_defaults("$defs", "train_recipe")
class TrainSettings:
    """One training recipe: ``mode`` picks which parameters train, ``variant`` the robustness treatment on top of
    the base augmentation. Defaults and meanings: the config schema's ``train_recipe``."""

    arch: str = "small_cnn"  # the builtin architecture when no model spec is given
    mode: str
    variant: str
    epochs: int
    batch_size: int
    lr: float
    momentum: float
    weight_decay: float
    milestones: list[int]  # epochs at which lr is divided by 10
    base_augmentation: str | None  # crop_flip | crop | none; None: the dataset's (DatasetInfo.augmentation)
    n_train: int | None  # first n training images (None: all)
    adv_eps: float  # adversarial variant: PGD L-inf radius in pixel units
    adv_steps: int
    adv_step_size: float | None  # None: eps / 8, as in [P1]
    noise_std: float  # noise variant: Gaussian noise std in pixel units
    scale: tuple[float, float]
    translate: float
    degrees: float

    def __post_init__(self) -> None:
        if self.variant not in TRAINING_VARIANTS:
            raise ValueError(f"models.*.train.variant: unknown variant {self.variant!r}; known: {VARIANTS}")
        if self.mode not in TRAINING_MODES:
            raise ValueError(f"models.*.train.mode: unknown mode {self.mode!r}; known: {list(TRAINING_MODES)}")
        if self.base_augmentation not in (None, *AUGMENTATIONS):
            raise ValueError(
                f"models.*.train.base_augmentation: {self.base_augmentation!r} is not one of {sorted(AUGMENTATIONS)}"
            )
        self.scale = tuple(self.scale)


def check_model_config(name: str, cfg: dict[str, Any]) -> None:
    """Fail fast, naming ``models.<name>``, on a model that cannot be built, weights that are absent (and may not
    be downloaded) or a training recipe that cannot run; the workflow calls this before any job."""
    check_model(name, cfg)
    try:
        settings = TrainSettings(**cfg.get("train", {}))
    except (TypeError, ValueError) as err:
        raise ValueError(f"models.{name}.train: {err}".replace("models.*.train.", "")) from err
    spec = ModelSpec.from_config(cfg)
    if TRAINING_MODES[settings.mode].needs_weights and not model_source(spec).weights_files(spec):
        raise ValueError(
            f"models.{name}.train.mode: {settings.mode!r} starts from trained weights; give `weights` (a file), "
            "`pretrained` (torchvision/timm) or a robustbench entry"
        )


def check_model_fits(name: str, cfg: dict[str, Any], info: DatasetInfo) -> None:
    """Before any job, for one model and one dataset: an untrained architecture, which takes the dataset's images at
    their own size, classifies a blank batch of them (images too small for its pooling fail here, not in training;
    a trained model gets images resized to its own input), and a safetensors weights file's keys and
    shapes, read from its header, fit the architecture for the dataset's classes (the head excepted where the
    training mode replaces it)."""
    spec = ModelSpec.from_config(cfg)
    source = model_source(spec)
    files = source.weights_files(spec)
    header = bool(files) and files[0].suffix == ".safetensors" and files[0].is_file()
    header = header and type(source).state_dict is ModelSource.state_dict  # a source reading files its own way
    untrained = not files and not spec.pretrained  # its input is the dataset's own; a trained one resizes to its
    if not (untrained or header):
        return
    try:
        input_spec = model_input_spec(spec, info)
        at_own_size = untrained and input_spec.size in (None, info.size)
        model = build_architecture(spec, info, input_spec).eval()
    except Exception:  # noqa: BLE001 - a model that cannot be built here is built, and judged, by its job
        return
    if at_own_size:
        try:
            with torch.no_grad():
                model(torch.zeros(2, info.channels, info.size, info.size))
        except RuntimeError as err:
            reason = str(err).strip().splitlines()[0][:300]
            raise ValueError(
                f"models.{name}: {spec.source} architecture {spec.arch!r} cannot classify the {info.name} images "
                f"({info.channels}×{info.size}×{info.size}): {reason}"
            ) from None
    if not header:
        return
    mode = TrainSettings(**cfg.get("train", {})).mode
    skip = (source.head_name(model[1]),) if TRAINING_MODES[mode].new_head else ()
    expected = {k: tuple(v.shape) for k, v in model[1].state_dict().items()}
    problems = fit_problems(expected, safetensors_shapes(files[0]), skip)
    if problems:
        raise ValueError(
            f"models.{name}.weights: {files[0]} does not fit {spec.source} architecture {spec.arch!r} with "
            f"{info.num_classes} classes ({info.name}); " + "; ".join(problems)
        )


def _augment(x: torch.Tensor, s: TrainSettings, generator: torch.Generator) -> torch.Tensor:
    x = AUGMENTATIONS[s.base_augmentation](x, generator, padding=max(1, x.shape[-1] // 8))
    augment = TRAINING_VARIANTS[s.variant].augment
    return x if augment is None else augment(x, s, generator)


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


def prepare_classifier(
    spec: ModelSpec, info: DatasetInfo, mode: str
) -> tuple[nn.Sequential, InputSpec, dict[str, Any]]:
    """The classifier a training mode starts from: the architecture for ``info``'s classes with its own input
    normalisation, filled with the spec's weights (a fresh head where the mode replaces it); also what to record
    about it (source, weights file and its SHA-256, input resolution and normalisation)."""
    training_mode = TRAINING_MODES[mode]
    input_spec = model_input_spec(spec, info)
    model = build_architecture(spec, info, input_spec)
    path = load_weights(model, spec, info, new_head=training_mode.new_head)
    if training_mode.needs_weights and path is None:
        raise WeightsError(f"train.mode {mode!r} needs weights, and the {spec.source} model {spec.arch!r} has none")
    if path is not None:
        check_finite(model, f"{path} (the weights of {spec.source} model {spec.arch!r})")
    record = {
        "source": spec.source,
        "arch": spec.arch,
        "mode": mode,
        "weights_file": None if path is None else str(path),
        "weights_sha256": None if path is None else sha256(path),
        "input": asdict(input_spec),
    }
    log.info("model %s/%s (%s), weights %s, input %s", spec.source, spec.arch, mode, path, input_spec)
    return model, input_spec, record


class TrainingError(RuntimeError):
    """Training cannot give a usable classifier; the message names the cause (the loss, the data, the weights)."""


def check_finite(model: nn.Module, what: str) -> None:
    """Refuse a classifier with a NaN or infinite weight or buffer: every prediction would be NaN, every attack
    would 'succeed' or none, and the statistics would later find nothing to correlate without saying why."""
    bad = [name for name, t in model.state_dict().items() if t.is_floating_point() and not torch.isfinite(t).all()]
    if bad:
        shown = ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        raise WeightsError(f"{what}: non-finite (NaN or infinite) values in {shown}; these weights cannot classify")


def _non_finite_loss(epoch: int, loss: float, info: DatasetInfo, settings: TrainSettings) -> TrainingError:
    """What to say when the training loss is NaN or infinite: the likely cause among what the run knows."""
    constant = [c for c, std in enumerate(info.std) if not std > 0]
    if constant:
        cause = (
            f"channel(s) {constant} of dataset {info.name!r} have standard deviation {[info.std[c] for c in constant]}"
            " (normalising divides by it); give datasets.<name>.mean and std, or drop the constant channel"
        )
    else:
        cause = f"the learning rate (lr: {settings.lr}) may be too large for this model, or the data hold NaN"
    return TrainingError(f"training loss became {loss} in epoch {epoch}: {cause}")


def augmentation_override(base_augmentation: str | None, info: DatasetInfo) -> str:
    """A warning when the model's ``base_augmentation`` replaces the dataset's own (e.g. a flip on
    orientation-coded data, where it mixes classes); empty when it does not."""
    if base_augmentation is None or base_augmentation == info.augmentation:
        return ""
    return (
        f"models.*.train.base_augmentation: {base_augmentation!r} overrides dataset {info.name!r}'s own "
        f"augmentation {info.augmentation!r}"
    )


def flip_warning(name: str, source: str, data_cfg: dict[str, Any], train_cfg: dict[str, Any], used: str) -> str:
    """A warning when an image folder trains with random horizontal flips that nobody asked for: the source's
    default ``crop_flip`` maps an orientation to its mirror (stripes at 45 degrees become 135), which mixes
    classes coded by orientation; empty when the augmentation was chosen or has no flip."""
    chosen = "augmentation" in data_cfg or train_cfg.get("base_augmentation") is not None
    if source != "image_folder" or chosen or used != "crop_flip":
        return ""
    return (
        f"datasets.{name}: image_folder trains with crop_flip (random crop and horizontal flip) by default; a flip "
        "turns an orientation into its mirror image (45 degrees into 135), so classes that differ by orientation "
        f"are mixed: set datasets.{name}.augmentation: crop (or none) if orientation carries the class"
    )


def _set_train_mode(model: nn.Module, mode: TrainingMode) -> None:
    """Training mode for a trained network; a frozen backbone keeps its batch-norm statistics (eval mode)."""
    model.train(not mode.frozen_backbone)


def train_classifier(
    train: ImageSet,
    test: ImageSet,
    settings: TrainSettings,
    device: torch.device,
    generator: torch.Generator,
    spec: ModelSpec | None = None,
) -> tuple[nn.Module, dict[str, Any]]:
    """Train with SGD + step decay the parameters ``settings.mode`` picks (none: no training) of the classifier
    ``spec`` describes (default: the builtin ``settings.arch``); returns it in eval mode and its metrics."""
    from tqdm import tqdm

    note_spinning_threads()

    override = augmentation_override(settings.base_augmentation, train.info)
    if override:
        log.warning("%s", override)
    settings.base_augmentation = settings.base_augmentation or train.info.augmentation  # recorded as used
    spec = spec or ModelSpec(arch=settings.arch)
    mode = TRAINING_MODES[settings.mode]
    model, _, record = prepare_classifier(spec, train.info, settings.mode)
    record["augmentation_override"] = override
    model = model.to(device)
    started = time.time()
    if mode.trainable is None:
        model.eval()
        return model, {
            **record,
            "test_accuracy": accuracy(model, test, device),
            "history": [],
            "n_train": 0,
            "n_test": len(test),
            "train_seconds": 0.0,
            "peak_memory_mb": peak_memory_mb(device),
        }
    trained = mode.trainable(model, spec)
    ids = {id(p) for p in trained}
    for p in model.parameters():
        p.requires_grad_(id(p) in ids)
    optimiser = torch.optim.SGD(
        trained,
        lr=settings.lr,
        momentum=settings.momentum,
        weight_decay=settings.weight_decay,
        nesterov=settings.momentum > 0,
    )
    schedule = torch.optim.lr_scheduler.MultiStepLR(optimiser, milestones=settings.milestones, gamma=0.1)
    attack = None
    if TRAINING_VARIANTS[settings.variant].adversarial:
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
    history = []
    for epoch in range(settings.epochs):
        _set_train_mode(model, mode)
        order = torch.randperm(n, generator=generator)
        total, seen = 0.0, 0
        bar = tqdm(range(steps_per_epoch), desc=f"epoch {epoch + 1}/{settings.epochs}", mininterval=10, ascii=True)
        for step in bar:
            index = order[step * settings.batch_size : (step + 1) * settings.batch_size]
            x = _augment(train.floats(index, device), settings, generator)
            y = train.labels[index].to(device)
            if attack is not None:
                x = attack(x, y)  # fully adversarial batches, as in [P1]
                _set_train_mode(model, mode)
            loss = loss_fn(model(x), y)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            total, seen = total + loss.detach().double() * len(index), seen + len(index)  # no host sync per step
        total = float(total)
        if not math.isfinite(total):
            raise _non_finite_loss(epoch + 1, total / seen, train.info, settings)
        schedule.step()
        model.eval()
        test_acc = accuracy(model, test, device)
        history.append({"epoch": epoch + 1, "train_loss": total / seen, "test_accuracy": test_acc})
        log.info("epoch %d: train loss %.4f, test accuracy %.4f", epoch + 1, total / seen, test_acc)
    model.eval()
    metrics = {
        **record,
        "test_accuracy": history[-1]["test_accuracy"] if history else accuracy(model, test, device),
        "history": history,
        "n_train": n,
        "n_test": len(test),
        "trained_parameters": sum(p.numel() for p in trained),
        "train_seconds": time.time() - started,
        "train_images_per_second": n * settings.epochs / max(time.time() - started, 1e-9),
        "peak_memory_mb": peak_memory_mb(device),
    }
    return model, metrics


def save_classifier(
    model: nn.Module,
    path: str | Path,
    *,
    info: DatasetInfo,
    settings: TrainSettings,
    metrics: dict[str, Any],
    device: torch.device,
    seed: int,
    spec: ModelSpec | None = None,
) -> None:
    """Weights to safetensors (with the model spec and its input in the metadata, so :func:`load_classifier`
    rebuilds it) and a JSON sidecar of metrics, source, weights file hash and input resolution."""
    spec = spec or ModelSpec(arch=settings.arch)
    record = provenance(device, seed, asdict(settings))
    input_record = metrics.get("input") or asdict(model_input_spec(spec, info))
    meta = {"arch": spec.arch, "dataset": info.name, "model": spec.record(), "input": input_record}
    state = {key: value.clone() for key, value in model.state_dict().items()}  # no shared storage in safetensors
    save_tensors(path, state, {**meta, **record})
    write_json(sidecar_path(path), {**metrics, **meta, **record})


def _stored_input(meta: dict[str, Any]) -> InputSpec | None:
    stored = meta.get("input")
    if stored is None:  # written before models recorded their input
        return None
    return InputSpec(stored["size"], stored["channels"], tuple(stored["mean"]), tuple(stored["std"]))


def classifier_input_spec(path: str | Path, info: DatasetInfo) -> InputSpec:
    """The input (resolution, channels, normalisation) of the classifier saved at ``path``: what the data loader
    must deliver to it, read from the weights file's metadata."""
    meta = load_metadata(path)
    spec = ModelSpec(**meta["model"]) if "model" in meta else ModelSpec(arch=meta.get("arch", "small_cnn"))
    return _stored_input(meta) or model_input_spec(spec, info)


def load_classifier(path: str | Path, info: DatasetInfo, device: torch.device) -> nn.Module:
    """Rebuild the classifier described in the weights file's metadata and load it; never unpickles."""
    state, meta = load_tensors(path)
    if meta.get("dataset") != info.name:
        raise ResultFileError(f"{path}: weights were trained on {meta.get('dataset')!r}, not {info.name!r}")
    if "model" not in meta and "arch" not in meta:
        raise ResultFileError(
            f"{path}: no 'model' or 'arch' in its metadata, so the architecture is unknown (not written by "
            f"freqmaps' train stage?); regenerate it with `{regenerate_command(path)}`"
        )
    spec = ModelSpec(**meta["model"]) if "model" in meta else ModelSpec(arch=meta["arch"])
    model = build_architecture(spec, info, _stored_input(meta))
    try:
        fit_state_dict(model, state, path, f"{spec.source} architecture {spec.arch!r}")
    except WeightsError as err:
        raise ResultFileError(f"{err}; regenerate it with `{regenerate_command(path)}`") from err
    return model.to(device).eval()
