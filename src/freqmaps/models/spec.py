"""What a model source is asked for: ``models.<name>`` as a :class:`~freqmaps.models.ModelSpec`, the input a
classifier expects (:class:`~freqmaps.models.InputSpec`), and the interface every source implements
(:class:`~freqmaps.models.ModelSource`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
from torch import nn

from freqmaps.data.core import DatasetInfo
from freqmaps.weights import WeightsError, read_state_dict


@dataclass(frozen=True)
class InputSpec:
    """What a classifier expects: square images of ``size`` pixels (None: any), ``channels``, and the per-channel
    normalisation applied inside it to images in [0, 1]."""

    size: int | None
    channels: int
    mean: tuple[float, ...]
    std: tuple[float, ...]


@dataclass(frozen=True)
class ModelSpec:
    """One ``models.<name>`` entry without its training recipe: where the classifier comes from."""

    source: str = "builtin"
    arch: str = "small_cnn"  # python: defaults to the factory
    factory: str | None = None  # python: "package.module:callable" or "path/to/file.py:callable"
    weights: str | None = None  # a local weights file
    pretrained: str | None = None  # torchvision weights name / timm pretrained tag
    download: bool = False  # fetch missing pretrained or zoo weights at job time
    threat_model: str | None = None  # robustbench: Linf, L2, corruptions
    zoo_dataset: str | None = None  # robustbench: cifar10, cifar100, imagenet
    model_dir: str = "models"  # robustbench: root of <dataset>/<threat_model>/<name>.pt
    options: dict[str, Any] = field(default_factory=dict)  # keyword arguments of the architecture's constructor
    input: dict[str, Any] = field(default_factory=dict)  # size / mean / std overriding the source's defaults

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> ModelSpec:
        """The spec of a ``models.<name>`` mapping (its ``train`` section is the training recipe's)."""
        known = {f.name for f in fields(cls)}
        given = {k: v for k, v in cfg.items() if k in known}
        if given.get("source") == "python" and given.get("factory") and "arch" not in given:
            given["arch"] = given["factory"]  # the name the records and the report show
        return cls(**given)

    def record(self) -> dict[str, Any]:
        return asdict(self)


class ModelSource:
    """Where classifiers come from. Subclasses are the entries of ``SOURCES``."""

    example: str  # an architecture the registry test builds and runs
    example_key = "arch"  # the config key that names it
    example_options: dict[str, Any] = {}  # keyword arguments that keep the example small
    supports_pretrained = False
    download_host: str | None = None  # where fetch() downloads from: tried first, so that offline fails at once

    def check_arch(self, spec: ModelSpec) -> None:
        """Raise ValueError naming the key when the architecture (or pretrained tag) is unknown to this source."""
        raise NotImplementedError

    def architecture(self, spec: ModelSpec, num_classes: int, info: DatasetInfo) -> nn.Module:
        """The untrained architecture with ``num_classes`` outputs."""
        raise NotImplementedError

    def default_input(self, spec: ModelSpec, info: DatasetInfo) -> InputSpec:
        """The input the model expects unless the config's ``input`` says otherwise."""
        raise NotImplementedError

    def weights_files(self, spec: ModelSpec) -> list[Path]:
        """The files the weights are read from (empty: the model starts untrained)."""
        return [Path(spec.weights)] if spec.weights else []

    def fetch(self, spec: ModelSpec) -> None:
        """Download missing weights (only called where ``download: true``)."""
        raise WeightsError(f"{self.weights_files(spec)}: {type(self).__name__} cannot download weights")

    def code_files(self, spec: ModelSpec) -> list[Path]:
        """The user's files the architecture's code comes from (none for a library's architectures)."""
        return []

    def where(self, spec: ModelSpec) -> str:
        """Where a missing weights file must go, for error messages."""
        return "the path given under `weights`"

    def state_dict(self, spec: ModelSpec, info: DatasetInfo) -> tuple[dict[str, torch.Tensor], Path]:
        """The weights' state dict (for the architecture) and the file it came from."""
        path = self.weights_files(spec)[0]
        return read_state_dict(path), path

    def head_name(self, model: nn.Module) -> str:
        """The qualified name of the classification layer (replaced by head-only training)."""
        return last_linear(model)


def last_linear(model: nn.Module) -> str:
    """The name of the last ``nn.Linear`` of a model: the classification head of the usual architectures."""
    names = [name for name, module in model.named_modules() if isinstance(module, nn.Linear)]
    if not names:
        raise ValueError(f"{type(model).__name__}: no linear classification layer to replace")
    return names[-1]


def dataset_input(info: DatasetInfo, channels: int) -> InputSpec:
    """The dataset's own resolution and statistics (repeated over channels for a grayscale set in an RGB model)."""
    reps = channels // len(info.mean) if channels != len(info.mean) else 1
    return InputSpec(info.size, channels, tuple(info.mean) * reps, tuple(info.std) * reps)


def architecture_name(cfg: dict[str, Any]) -> str:
    """The architecture a ``models.<name>`` entry names: ``arch``, or a python source's ``factory``."""
    return ModelSpec.from_config(cfg).arch
