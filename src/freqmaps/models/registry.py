"""The model-source registry: ``SOURCES`` maps each ``models.*.source`` name to its
:class:`~freqmaps.models.ModelSource`, and the functions that build a configured classifier through it (its input,
its architecture behind its normalisation).

Each source lives in its own module (``architectures``: builtin; ``zoos``: torchvision, timm, robustbench;
``factory``: python); this module is the one place that names them all."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from torch import nn

from freqmaps.data.core import DatasetInfo
from freqmaps.models.architectures import BuiltinSource
from freqmaps.models.factory import PythonSource
from freqmaps.models.spec import InputSpec, ModelSource, ModelSpec
from freqmaps.models.wrappers import classifier
from freqmaps.models.zoos import RobustBenchSource, TimmSource, TorchvisionSource

SOURCES: dict[str, ModelSource] = {
    "builtin": BuiltinSource(),
    "torchvision": TorchvisionSource(),
    "timm": TimmSource(),
    "robustbench": RobustBenchSource(),
    "python": PythonSource(),
}


def model_source(spec: ModelSpec) -> ModelSource:
    if spec.source not in SOURCES:
        raise ValueError(f"models.*.source: unknown source {spec.source!r}; known: {list(SOURCES)}")
    return SOURCES[spec.source]


def model_input_spec(cfg: dict[str, Any] | ModelSpec, info: DatasetInfo) -> InputSpec:
    """The resolution, channels and normalisation a configured model expects for images of dataset ``info``: the
    source's default (the dataset's own for untrained models, the weights' for pretrained ones) updated by the
    config's ``input``. Data loaders resize images to ``size`` so masks act on exactly what the model sees."""
    spec = cfg if isinstance(cfg, ModelSpec) else ModelSpec.from_config(cfg)
    default = model_source(spec).default_input(spec, info)
    override = {k: tuple(v) if isinstance(v, list) else v for k, v in spec.input.items()}
    merged = InputSpec(**{**asdict(default), **override})
    if len(merged.mean) != len(merged.std):
        raise ValueError(f"models.*.input: mean {merged.mean} and std {merged.std} differ in length")
    return merged


def build_architecture(spec: ModelSpec, info: DatasetInfo, input_spec: InputSpec | None = None) -> nn.Sequential:
    """An untrained classifier of ``spec``'s architecture for ``info``'s classes."""
    source = model_source(spec)
    body = source.architecture(spec, info.num_classes, info)
    return classifier(body, input_spec or model_input_spec(spec, info))


def build_model(arch: str, info: DatasetInfo) -> nn.Module:
    """A fresh built-in classifier for ``info``'s images, with the dataset's normalisation as its first layer."""
    return build_architecture(ModelSpec(arch=arch), info)
