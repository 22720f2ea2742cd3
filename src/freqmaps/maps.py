"""Per-image frequency maps (docs/METHOD.md §2), learned for many images at once.

For each image x with target t the map M minimises ``CE(f(x'), t) + lam * sum|M|`` with Adam, the mask
clamped to [0, 1] after every step, from M = 1. The stopping rule is the authors': after each update,
stop when ``step > min_steps`` and ``|loss - mean(last `window` losses)| < tol``, or when
``step == max_steps``, so that ``max_steps`` is the number of updates at most, as the schema says (the papers'
loop tests ``step > max_steps`` and so takes one update more; the loss recorded at a step is the one computed
before that step's update). A map is
kept only if f still predicts t on the image filtered by the final mask.

Layout: :func:`learn_maps` returns the maps as every file of the workflow stores them, **shifted** (zero
frequency at the centre, ``torch.fft.fftshift``), unless asked for ``layout="unshifted"`` (zero frequency at
``[0, 0]``, as ``torch.fft.fft2`` lays out a spectrum and ``freqmaps.fourier.apply_mask`` takes a mask).

The engine runs B images side by side. Each slot has its own mask, Adam moments, step count, loss window
and stopping rule; because the classifier is frozen in eval() mode, the gradient of the summed loss with
respect to one slot's mask is exactly that image's own gradient. A finished slot is frozen on the device
and refilled from the queue of pending images at the next synchronisation, so the device stays full.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from freqmaps.config import schema_defaults
from freqmaps.fourier import (
    PARAMETERISATIONS,
    apply_mask,
    full_spectrum,
    invariance_loss,
    l1_norm,
    l1_weights,
    mask_shape,
    shifted,
)
from freqmaps.outcomes import KEPT, NAN_LOSS, TARGET_LOST
from freqmaps.runtime import fp32_precision, note_spinning_threads

log = logging.getLogger(__name__)

PRECISIONS = {"fp32": None, "tf32": None, "bf16": torch.bfloat16, "fp16": torch.float16}  # autocast dtypes
OBJECTIVES = ("essential", "invariance")
LAYOUTS = ("shifted", "unshifted")  # zero frequency at the centre (as stored and plotted), or at [0, 0]


@dataclass
@schema_defaults("$defs", "map_settings")
class MapSettings:
    """Optimisation settings of per-image maps; the defaults (the [P2] CIFAR-10 values) and meanings are the
    config schema's ``map_settings``."""

    lam: float
    lr: float
    min_steps: int
    max_steps: int
    window: int
    tol: float
    batch_size: int
    parameterisation: str
    sync_every: int  # steps between host synchronisations (harvest finished slots, refill)
    precision: str  # autocast dtype of the classifier's forward pass; FFTs stay fp32
    channels_last: bool
    compile: bool
    objective: str  # essential: CE + lam sum|M| ([P2]); invariance: the [P1] single-image loss
    require_target: bool  # [P1]: stop only at a step where the masked image still gets the target
    betas: tuple[float, float] = (0.9, 0.999)  # Adam's, not configurable
    eps: float = 1e-8

    @classmethod
    def from_config(cls, map_cfg: dict[str, Any]) -> MapSettings:
        """The settings of the config's ``maps`` section; ``shards`` splits the work and is not a setting of the
        engine, though it decides which images share a batch (the shard files are named by the count, so another
        count makes the maps again: docs/METHOD.md §2)."""
        return cls(**{k: v for k, v in map_cfg.items() if k != "shards"})

    def __post_init__(self) -> None:
        if self.parameterisation not in PARAMETERISATIONS:
            raise ValueError(f"maps.parameterisation: {self.parameterisation!r} is not one of {PARAMETERISATIONS}")
        if self.objective not in OBJECTIVES:
            raise ValueError(f"maps.objective: {self.objective!r} is not one of {OBJECTIVES}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"maps.precision: {self.precision!r} is not one of {tuple(PRECISIONS)}")
        for key in ("lr", "window", "batch_size", "sync_every", "max_steps"):
            if not getattr(self, key) > 0:
                raise ValueError(f"maps.{key}: must be positive, got {getattr(self, key)}")
        if self.lam < 0 or self.tol < 0 or self.min_steps < 0:
            raise ValueError("maps.lam, maps.tol and maps.min_steps must not be negative")
        if self.max_steps < self.min_steps:
            raise ValueError(f"maps.max_steps: {self.max_steps} is below maps.min_steps ({self.min_steps})")
        self.betas = tuple(self.betas)


@dataclass
class MapResult:
    """Learned masks, full spectrum ``[N, C', H, W]`` in ``layout`` (``shifted``, zero frequency at the centre
    as the workflow's files store it, unless :func:`learn_maps` was asked for ``unshifted``), and what happened
    to each image."""

    masks: torch.Tensor
    steps: torch.Tensor  # Adam updates taken
    outcome: torch.Tensor  # index into freqmaps.outcomes.OUTCOMES
    final_loss: torch.Tensor
    stats: dict[str, Any] = field(default_factory=dict)
    layout: str = "shifted"

    @property
    def kept(self) -> torch.Tensor:
        return self.outcome == KEPT


def check_inputs(images: torch.Tensor, targets: torch.Tensor, num_classes: int) -> None:
    """Reject inputs the engine cannot use, naming what is wrong, before any optimisation."""
    if images.ndim != 4:
        raise ValueError(f"images must be [N, C, H, W], got shape {tuple(images.shape)}")
    if targets.ndim != 1 or len(targets) != len(images):
        raise ValueError(f"targets must be [N] with N = {len(images)} images, got shape {tuple(targets.shape)}")
    if len(targets) and (targets.min() < 0 or targets.max() >= num_classes):
        raise ValueError(
            f"targets must lie in 0..{num_classes - 1}, found {targets.min().item()}..{targets.max().item()}"
        )
    if not torch.isfinite(images).all():
        bad = (~torch.isfinite(images.flatten(1))).any(1).nonzero().squeeze(1)[:5].tolist()
        raise ValueError(f"images contain NaN or inf (first rows: {bad})")


class _Slots:
    """Optimisation state of the B images in flight, all on the device."""

    def __init__(self, images, targets, clean_ce, index, shape, settings, device):
        b = len(index)
        self.image = index.clone()  # which queue entry each slot holds
        self.x = images[index].to(device)
        self.y = targets[index].to(device)
        self.clean_ce = clean_ce[index].to(device)
        self.mask = torch.ones(b, *shape, device=device, dtype=self.x.dtype)
        self.m = torch.zeros_like(self.mask)
        self.v = torch.zeros_like(self.mask)
        self.t = torch.zeros(b, dtype=torch.long, device=device)
        self.history = torch.zeros(b, settings.window, dtype=torch.float64, device=device)
        self.loss = torch.zeros(b, dtype=torch.float64, device=device)
        self.running = torch.ones(b, dtype=torch.bool, device=device)
        self.nan = torch.zeros(b, dtype=torch.bool, device=device)

    def reset(self, slots: torch.Tensor, images, targets, clean_ce, index) -> None:
        self.image[slots] = index
        self.x[slots] = images[index].to(self.x.device)
        self.y[slots] = targets[index].to(self.y.device)
        self.clean_ce[slots] = clean_ce[index].to(self.y.device)
        for name, value in (("mask", 1.0), ("m", 0.0), ("v", 0.0), ("t", 0), ("history", 0.0), ("loss", 0.0)):
            getattr(self, name)[slots] = value
        self.running[slots] = True
        self.nan[slots] = False

    def keep(self, slots: torch.Tensor) -> None:
        """Drop all other slots (used once the queue is empty, to stop computing for empty slots)."""
        for name in ("image", "x", "y", "clean_ce", "mask", "m", "v", "t", "history", "loss", "running", "nan"):
            setattr(self, name, getattr(self, name)[slots])


def adam_step(
    mask: torch.Tensor,
    m: torch.Tensor,
    v: torch.Tensor,
    t: torch.Tensor,
    grad: torch.Tensor,
    run: torch.Tensor,
    lr: float,
    betas: tuple[float, float],
    eps: float,
):
    """One torch.optim.Adam step per mask (first dimension), operation for operation, then the clamp to [0, 1].

    ``t`` holds each mask's step count after this step; masks where ``run`` is False do not change.
    Bit-identical to torch.optim.Adam on the CPU.
    """
    beta1, beta2 = betas
    r = run.view(-1, *([1] * (mask.ndim - 1)))
    steps = t.double().clamp(min=1)
    neg_step = (-lr / (1 - beta1**steps)).to(mask.dtype).view_as(r)
    bias2_sqrt = (1 - beta2**steps).sqrt().to(mask.dtype).view_as(r)
    m = torch.where(r, m.lerp(grad, 1 - beta1), m)
    v = torch.where(r, v.mul(beta2).addcmul_(grad, grad, value=1 - beta2), v)
    denom = (v.sqrt() / bias2_sqrt).add_(eps)
    return torch.where(r, (mask + (neg_step * m) / denom).clamp_(0, 1), mask), m, v


def map_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    mask: torch.Tensor,
    weights: torch.Tensor | None,
    settings: MapSettings,
    clean_ce: torch.Tensor,
    entries: int,
) -> torch.Tensor:
    """Per-image loss. essential ([P2]): CE(f(x'), t) + lam sum|M|. invariance ([P1]):
    exp((CE(f(x'), t) - CE(f(x), t))^2) + (lam / |M_0|_1) |M|_1, with |M_0|_1 = ``entries``, the number of
    full-spectrum mask entries. [P1]'s single-image maps use t = f's own prediction, lam = 0.07, at least 300
    steps, require_target, and stop when the loss changes by <= ~1e-6 (window 2, tol 5e-7)."""
    ce = nn.functional.cross_entropy(logits, targets, reduction="none")
    if settings.objective == "essential":
        return ce + settings.lam * l1_norm(mask, weights)
    return invariance_loss(ce, clean_ce, l1_norm(mask, weights), entries, settings.lam)


def _forward(model: nn.Module, images: torch.Tensor, settings: MapSettings) -> torch.Tensor:
    dtype = PRECISIONS[settings.precision]
    if settings.channels_last:
        images = images.contiguous(memory_format=torch.channels_last)
    if dtype is None:
        return model(images)
    with torch.autocast(images.device.type, dtype=dtype):
        return model(images).float()


def learn_maps(
    model: nn.Module,
    images: torch.Tensor,
    targets: torch.Tensor,
    settings: MapSettings,
    device: torch.device,
    num_classes: int,
    progress: bool = True,
    *,
    layout: str = "shifted",
) -> MapResult:
    """Learn one map per image; see the module doc and docs/METHOD.md §2.

    ``images``: float ``[N, C, H, W]`` in [0, 1] (pixel space; the model carries its own normalisation);
    ``targets``: int64 ``[N]`` (the true labels for essential maps, the attack's labels for adversarial maps).
    Returns a :class:`MapResult` whose ``masks`` are ``[N, C', H, W]`` in [0, 1] (``C'`` = C for
    ``per_channel``, 1 for ``shared`` and ``hermitian``), full spectrum, in ``layout``: ``"shifted"`` (the
    default: zero frequency at ``[H // 2, W // 2]``, exactly what the workflow's maps files store and every
    figure and :func:`freqmaps.stats.features` expect) or ``"unshifted"`` (zero frequency at ``[0, 0]``, the
    layout ``freqmaps.fourier.apply_mask`` takes). ``steps``, ``outcome``, ``final_loss``: ``[N]``.

    ``precision``: ``fp32`` is strict fp32 on the GPU too (TF32 off, also for cuDNN's convolutions, which
    default to it), ``tf32`` allows TF32, ``bf16`` / ``fp16`` autocast the classifier's forward pass.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout: {layout!r} is not one of {LAYOUTS}")
    note_spinning_threads()
    arithmetic = "tf32" if settings.precision == "tf32" else "ieee"
    with fp32_precision(arithmetic, conv=arithmetic):
        result = _learn_maps(model, images, targets, settings, device, num_classes, progress)
    if layout == "shifted":
        result.masks = shifted(result.masks)
    result.layout = layout
    return result


def _learn_maps(
    model: nn.Module,
    images: torch.Tensor,
    targets: torch.Tensor,
    settings: MapSettings,
    device: torch.device,
    num_classes: int,
    progress: bool = True,
) -> MapResult:
    from tqdm import tqdm

    check_inputs(images, targets, num_classes)
    n, channels, height, width = images.shape
    shape = mask_shape(settings.parameterisation, channels, height, width)
    masks = torch.zeros(n, *shape)
    steps = torch.zeros(n, dtype=torch.long)
    outcome = torch.full((n,), KEPT, dtype=torch.long)
    final_loss = torch.full((n,), math.nan, dtype=torch.float64)
    if n == 0:
        return MapResult(
            full_spectrum(masks, settings.parameterisation, width),
            steps,
            outcome,
            final_loss,
            {"image_steps": 0},
            "unshifted",
        )
    if settings.channels_last:
        model = model.to(memory_format=torch.channels_last)
    with torch.no_grad():
        try:
            probe = model(images[:1].to(device))
        except RuntimeError as err:
            raise ValueError(f"images of shape {tuple(images.shape[1:])} do not fit the classifier ({err})") from err
    if probe.shape[-1] != num_classes:
        raise ValueError(f"the classifier has {probe.shape[-1]} outputs but the dataset has {num_classes} classes")
    forward_model = torch.compile(model) if settings.compile else model
    weights = l1_weights(settings.parameterisation, width, device)
    started, syncs = time.time(), 0

    pending = deque(range(n))
    clean_ce = torch.zeros(n, dtype=images.dtype)
    if settings.objective == "invariance":
        with torch.no_grad():
            for s in range(0, n, settings.batch_size):
                logits = _forward(model, images[s : s + settings.batch_size].to(device), settings)
                clean_ce[s : s + settings.batch_size] = nn.functional.cross_entropy(
                    logits, targets[s : s + settings.batch_size].to(device), reduction="none"
                ).cpu()
    first = torch.tensor([pending.popleft() for _ in range(min(settings.batch_size, n))])
    slots = _Slots(images, targets, clean_ce, first, shape, settings, device)
    # Progress in optimisation steps, so that the ETA follows the work: each image has a budget of
    # max_steps steps; a finished image counts its whole budget, a running one the steps it has taken.
    budget = settings.max_steps
    bar = tqdm(
        total=n * budget,
        desc=f"maps ({n} images x {budget} steps)",
        unit="step",
        unit_scale=True,
        mininterval=10,
        ascii=True,
        disable=not progress,
    )
    finished, iteration = 0, 0
    while len(slots.image):
        # ---- one Adam step for every running slot (finished slots are frozen: nothing of theirs changes)
        mask = slots.mask.detach().requires_grad_(True)
        logits = _forward(forward_model, apply_mask(slots.x, mask, settings.parameterisation), settings)
        loss = map_loss(logits, slots.y, mask, weights, settings, slots.clean_ce, shape[0] * height * width)
        (grad,) = torch.autograd.grad(loss.sum(), mask)
        with torch.no_grad():
            run = slots.running
            finite = torch.isfinite(loss)
            slots.nan |= run & ~finite
            run = run & finite
            slots.t += run
            slots.mask, slots.m, slots.v = adam_step(
                slots.mask, slots.m, slots.v, slots.t, grad, run, settings.lr, settings.betas, settings.eps
            )
            # ---- the stopping rule, on the device
            recorded = loss.double()
            column = (slots.t - 1).remainder(settings.window)
            slots.history[run, column[run]] = recorded[run]
            count = slots.t.clamp(max=settings.window).double()
            window_mean = slots.history.sum(1) / count.clamp(min=1)
            converged = (slots.t > settings.min_steps) & ((recorded - window_mean).abs() < settings.tol)
            if settings.require_target:
                converged &= logits.detach().argmax(1) == slots.y
            slots.loss = torch.where(run, recorded, slots.loss)
            slots.running = run & ~(converged | (slots.t >= settings.max_steps))
        iteration += 1
        if iteration % settings.sync_every:
            continue
        # ---- harvest finished slots, refill them from the queue
        syncs += 1
        done = (~slots.running).nonzero().squeeze(1)
        finished += len(done)
        bar.update(finished * budget + int(slots.t[slots.running].sum()) - bar.n)
        if len(done) == 0:
            continue
        with torch.no_grad():
            final = slots.mask[done]
            # the eager model: a compiled one would compile a second, no-grad graph for a few images
            predicted = _forward(model, apply_mask(slots.x[done], final, settings.parameterisation), settings).argmax(1)
            ids = slots.image[done].cpu()
            masks[ids] = final.float().cpu()
            steps[ids] = slots.t[done].cpu()
            final_loss[ids] = slots.loss[done].cpu()
            nan = slots.nan[done].cpu()
            lost = (predicted != slots.y[done]).cpu()
            outcome[ids] = torch.where(nan, NAN_LOSS, torch.where(lost, TARGET_LOST, KEPT))
        refill = min(len(done), len(pending))
        if refill:
            slots.reset(
                done[:refill], images, targets, clean_ce, torch.tensor([pending.popleft() for _ in range(refill)])
            )
        if refill < len(done):
            slots.keep(slots.running.nonzero().squeeze(1))
    bar.close()
    seconds = time.time() - started
    if (outcome == NAN_LOSS).any():
        log.warning("%d image(s) dropped for a NaN loss", int((outcome == NAN_LOSS).sum()))
    image_steps = int(steps.sum())
    stats = {
        "seconds": seconds,
        "image_steps": image_steps,
        "image_steps_per_second": image_steps / max(seconds, 1e-9),
        "host_syncs": syncs,
        "mean_steps": steps.double().mean().item(),
    }
    return MapResult(
        full_spectrum(masks, settings.parameterisation, width), steps, outcome, final_loss, stats, "unshifted"
    )


def reference_map(
    model: nn.Module, image: torch.Tensor, target: int, settings: MapSettings, device: torch.device
) -> tuple[torch.Tensor, int, bool, float]:
    """The per-image algorithm as the papers' code runs it: one image, one torch.optim.Adam, one loop.

    Kept as the ground truth the batched engine is tested and benchmarked against. Returns the final
    (unshifted, full-spectrum) mask, the number of updates, whether the map is kept and the last loss.
    """
    x = image.unsqueeze(0).to(device)
    y = torch.tensor([target], device=device)
    shape = mask_shape(settings.parameterisation, x.shape[1], x.shape[2], x.shape[3])
    weights = l1_weights(settings.parameterisation, x.shape[3], device)
    mask = torch.ones(1, *shape, device=device, dtype=x.dtype, requires_grad=True)
    optimiser = torch.optim.Adam([mask], lr=settings.lr, betas=settings.betas, eps=settings.eps)
    losses: list[float] = []
    step = 0
    with torch.no_grad():
        clean_ce = nn.functional.cross_entropy(_forward(model, x, settings), y, reduction="none")
    while True:
        logits = _forward(model, apply_mask(x, mask, settings.parameterisation), settings)
        loss = map_loss(logits, y, mask, weights, settings, clean_ce, shape[0] * x.shape[2] * x.shape[3])
        value = loss.item()
        if not math.isfinite(value):
            return full_spectrum(mask.detach()[0], settings.parameterisation, x.shape[3]), step, False, value
        losses.append(value)
        optimiser.zero_grad()
        loss.sum().backward()
        optimiser.step()
        with torch.no_grad():
            mask.clamp_(0, 1)
        step += 1
        recent = losses[-settings.window :]
        flat = step > settings.min_steps and abs(value - sum(recent) / len(recent)) < settings.tol
        if settings.require_target:
            flat = flat and logits.argmax(1).item() == target
        if flat or step >= settings.max_steps:
            break
    with torch.no_grad():
        kept = _forward(model, apply_mask(x, mask, settings.parameterisation), settings).argmax(1).item() == target
    return full_spectrum(mask.detach()[0], settings.parameterisation, x.shape[3]), step, kept, value
