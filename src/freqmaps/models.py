"""Classifiers from every model source, one registry (``SOURCES``): the built-in architectures, any torchvision
classification architecture, any timm model, RobustBench model-zoo entries, and the user's own code (``python``:
a ``factory`` callable in an importable module or a ``.py`` file).

Every classifier takes images in [0, 1]: its first layer (:class:`Normalize`) carries the model's own
normalisation, so attacks and Fourier masks act in pixel space, as in the papers' code. Weights come from a local
file (safetensors, or a state dict read with ``torch.load(weights_only=True)``), a torchvision weights name or a
timm pretrained tag (from the local cache, or downloaded where ``download: true``), or RobustBench's
``<model_dir>/<dataset>/<threat_model>/<name>.pt``.

To add a source: write a :class:`ModelSource` subclass and add it to ``SOURCES`` (the schema's
``models.*.source`` enum must list its key; a test checks both).
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.util
import inspect
import os
import socket
import sys
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
from torch import nn

from freqmaps.data import DatasetInfo
from freqmaps.weights import WeightsError, fit_state_dict, read_checkpoint, read_state_dict


class Normalize(nn.Module):
    """Per-channel (x - mean) / std as a fixed layer; a one-channel image is repeated to the model's channels."""

    def __init__(self, mean: tuple[float, ...], std: tuple[float, ...], channels: int | None = None) -> None:
        super().__init__()
        self.channels = channels or len(mean)
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] == 1 and self.channels > 1:  # a grayscale image for an RGB model: the same image in R, G, B
            x = x.expand(-1, self.channels, -1, -1)
        return (x - self.mean) / self.std


class SmallCNN(nn.Module):
    """Two conv blocks and a linear head: about 57 k parameters on one channel, fast on a CPU at 28x28."""

    def __init__(self, in_channels: int, num_classes: int, width: int = 32) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1),
            nn.BatchNorm2d(2 * width),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(2 * width, 2 * width, 3, padding=1),
            nn.BatchNorm2d(2 * width),
            nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d(1),
        )
        self.head = nn.Linear(2 * width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).flatten(1))


class BasicBlock(nn.Module):
    def __init__(self, in_planes: int, planes: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(nn.Conv2d(in_planes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class ResNetCifar(nn.Module):
    """He et al.'s CIFAR ResNet (6n+2 layers; n=3 is ResNet-20 with ~0.27 M parameters)."""

    def __init__(self, in_channels: int, num_classes: int, n: int = 3) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU(inplace=True)
        )
        layers, in_planes = [], 16
        for planes, stride in ((16, 1), (32, 2), (64, 2)):
            for i in range(n):
                layers.append(BasicBlock(in_planes, planes, stride if i == 0 else 1))
                in_planes = planes
        self.layers = nn.Sequential(*layers)
        self.head = nn.Linear(64, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.flatten(nn.functional.adaptive_avg_pool2d(self.layers(self.stem(x)), 1), 1))


def _torchvision_in_channels(name: str, in_channels: int, num_classes: int) -> nn.Module:
    """A torchvision architecture whose first convolution takes ``in_channels`` (the grayscale setting of [P1])."""
    import torchvision

    model = getattr(torchvision.models, name)(weights=None, num_classes=num_classes)
    if in_channels != 3:
        first = model.conv1 if name.startswith("resnet") else model.features[0]
        conv = nn.Conv2d(
            in_channels, first.out_channels, first.kernel_size, first.stride, first.padding, bias=first.bias is not None
        )
        if name.startswith("resnet"):
            model.conv1 = conv
        else:
            model.features[0] = conv
    return model


# The built-in architectures, trained from scratch at the dataset's own resolution and channel count.
BUILTIN_ARCHITECTURES = {
    "small_cnn": SmallCNN,
    "resnet20": functools.partial(ResNetCifar, n=3),
    "vgg11_bn": functools.partial(_torchvision_in_channels, "vgg11_bn"),
    "resnet18": functools.partial(_torchvision_in_channels, "resnet18"),
}
ARCHITECTURES = tuple(BUILTIN_ARCHITECTURES)


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


def _dataset_input(info: DatasetInfo, channels: int) -> InputSpec:
    """The dataset's own resolution and statistics (repeated over channels for a grayscale set in an RGB model)."""
    reps = channels // len(info.mean) if channels != len(info.mean) else 1
    return InputSpec(info.size, channels, tuple(info.mean) * reps, tuple(info.std) * reps)


class BuiltinSource(ModelSource):
    """freqmaps' own architectures (small_cnn, resnet20, vgg11_bn, resnet18), at the dataset's channels."""

    example = "small_cnn"

    def check_arch(self, spec: ModelSpec) -> None:
        if spec.arch not in BUILTIN_ARCHITECTURES:
            raise ValueError(f"models.*.arch: unknown builtin architecture {spec.arch!r}; known: {ARCHITECTURES}")
        if spec.pretrained:
            raise ValueError("models.*.pretrained: builtin architectures have no pretrained weights; give `weights`")

    def architecture(self, spec: ModelSpec, num_classes: int, info: DatasetInfo) -> nn.Module:
        return BUILTIN_ARCHITECTURES[spec.arch](info.channels, num_classes, **spec.options)

    def default_input(self, spec: ModelSpec, info: DatasetInfo) -> InputSpec:
        return _dataset_input(info, info.channels)


def _hub_file(url: str) -> Path:
    """Where torch.hub keeps a downloaded checkpoint."""
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(url).name


def _download(url: str, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.hub.download_url_to_file(url, str(path), progress=False)


class TorchvisionSource(ModelSource):
    """Any torchvision classification architecture by name (resnet18, vit_b_16, convnext_tiny, ...); RGB input.
    With weights (a file or a torchvision weights name) the input is ImageNet's (the weights' own transforms)."""

    example = "resnet18"
    supports_pretrained = True
    download_host = "download.pytorch.org"

    @staticmethod
    def _names() -> list[str]:
        import torchvision

        return torchvision.models.list_models(module=torchvision.models)

    def check_arch(self, spec: ModelSpec) -> None:
        if spec.arch not in self._names():
            raise ValueError(
                f"models.*.arch: {spec.arch!r} is not a torchvision classification architecture; "
                f"known: {', '.join(self._names())}"
            )
        if spec.pretrained:
            self._weights_enum(spec)

    def _weights_enum(self, spec: ModelSpec):  # noqa: ANN202 - a torchvision WeightsEnum member
        import torchvision

        weights = torchvision.models.get_model_weights(spec.arch)
        name = spec.pretrained or "DEFAULT"
        if name not in weights.__members__:
            known = list(weights.__members__)
            raise ValueError(f"models.*.pretrained: {name!r} is not a weights name of {spec.arch}; known: {known}")
        return weights[name]

    def architecture(self, spec: ModelSpec, num_classes: int, info: DatasetInfo) -> nn.Module:
        import torchvision

        return torchvision.models.get_model(spec.arch, weights=None, num_classes=num_classes, **spec.options)

    def default_input(self, spec: ModelSpec, info: DatasetInfo) -> InputSpec:
        if not (spec.weights or spec.pretrained):
            return _dataset_input(info, 3)
        transforms = self._weights_enum(spec).transforms()
        return InputSpec(int(transforms.crop_size[0]), 3, tuple(transforms.mean), tuple(transforms.std))

    def weights_files(self, spec: ModelSpec) -> list[Path]:
        if spec.pretrained:
            return [_hub_file(self._weights_enum(spec).url)]
        return super().weights_files(spec)

    def where(self, spec: ModelSpec) -> str:
        return "torch.hub's checkpoint folder" if spec.pretrained else super().where(spec)

    def fetch(self, spec: ModelSpec) -> None:
        _download(self._weights_enum(spec).url, self.weights_files(spec)[0])


class TimmSource(ModelSource):
    """Any timm model by name (``pretrained``: a timm pretrained tag, e.g. a1_in1k); with weights the input is the
    pretrained configuration's (size, mean, std)."""

    example = "test_vit"
    example_options = {"img_size": 32}
    supports_pretrained = True
    download_host = "huggingface.co"

    @staticmethod
    def _model_name(spec: ModelSpec) -> str:
        return f"{spec.arch}.{spec.pretrained}" if spec.pretrained else spec.arch

    def check_arch(self, spec: ModelSpec) -> None:
        import timm

        if not timm.is_model(spec.arch):
            raise ValueError(f"models.*.arch: {spec.arch!r} is not a timm model (see timm.list_models())")
        try:
            self._pretrained_cfg(spec)
        except RuntimeError as err:
            raise ValueError(
                f"models.*.pretrained: {err} Known: {timm.list_pretrained(spec.arch.split('.')[0] + '.*')}"
            ) from err

    def _pretrained_cfg(self, spec: ModelSpec):  # noqa: ANN202 - timm PretrainedCfg
        import timm

        return timm.models.get_pretrained_cfg(self._model_name(spec), allow_unregistered=False)

    def architecture(self, spec: ModelSpec, num_classes: int, info: DatasetInfo) -> nn.Module:
        import timm

        return timm.create_model(self._model_name(spec), pretrained=False, num_classes=num_classes, **spec.options)

    def default_input(self, spec: ModelSpec, info: DatasetInfo) -> InputSpec:
        cfg = self._pretrained_cfg(spec)
        if not (spec.weights or spec.pretrained) or cfg is None:
            return _dataset_input(info, 3)
        size = spec.options.get("img_size", cfg.input_size[-1])
        return InputSpec(int(size), int(cfg.input_size[0]), tuple(cfg.mean), tuple(cfg.std))

    def weights_files(self, spec: ModelSpec) -> list[Path]:
        if not spec.pretrained:
            return super().weights_files(spec)
        cfg = self._pretrained_cfg(spec)
        if cfg.hf_hub_id:
            from huggingface_hub import try_to_load_from_cache
            from huggingface_hub.constants import HF_HUB_CACHE

            for name in (cfg.hf_hub_filename or "model.safetensors", "pytorch_model.bin"):
                cached = try_to_load_from_cache(cfg.hf_hub_id, name)
                if isinstance(cached, str):
                    return [Path(cached)]
            return [Path(HF_HUB_CACHE) / f"models--{cfg.hf_hub_id.replace('/', '--')}"]
        return [_hub_file(cfg.url)]

    def where(self, spec: ModelSpec) -> str:
        if not spec.pretrained:
            return super().where(spec)
        cfg = self._pretrained_cfg(spec)
        if cfg.hf_hub_id:
            return f"the Hugging Face hub cache: `huggingface-cli download {cfg.hf_hub_id}` on a connected machine"
        return "torch.hub's checkpoint folder"

    def fetch(self, spec: ModelSpec) -> None:
        cfg = self._pretrained_cfg(spec)
        if cfg.hf_hub_id:
            from huggingface_hub import hf_hub_download

            hf_hub_download(cfg.hf_hub_id, cfg.hf_hub_filename or "model.safetensors")
        else:
            _download(cfg.url, self.weights_files(spec)[0])

    def head_name(self, model: nn.Module) -> str:
        name = getattr(model, "pretrained_cfg", {}).get("classifier")
        return name if isinstance(name, str) and name in dict(model.named_modules()) else last_linear(model)


def import_robustbench():  # noqa: ANN201 - the robustbench module
    """Import ``robustbench`` (1.1.x). Its package __init__ imports ``autoattack``, which PyPI ships as
    ``pyautoattack`` (the same code, fra31/auto-attack, under another name): when no ``autoattack`` module is
    installed, the renamed package is registered under the name robustbench expects before importing it."""
    try:
        import autoattack  # noqa: F401
    except ImportError:
        import pyautoattack
        import pyautoattack.state

        sys.modules.setdefault("autoattack", pyautoattack)
        sys.modules.setdefault("autoattack.state", pyautoattack.state)
    import robustbench
    import robustbench.model_zoo.models

    return robustbench


ZOO_SIZES = {"cifar10": 32, "cifar100": 32, "imagenet": 224}


class RobustBenchSource(ModelSource):
    """RobustBench model-zoo entries by name, dataset (``zoo_dataset``) and ``threat_model``; their models take
    [0, 1] inputs (any normalisation is inside them). Weights: ``<model_dir>/<dataset>/<threat_model>/<name>.pt``."""

    example = "Ding2020MMA"
    download_host = "drive.google.com"

    def _entry(self, spec: ModelSpec) -> dict[str, Any]:
        robustbench = import_robustbench()
        from robustbench.model_zoo.enums import BenchmarkDataset, ThreatModel

        try:
            dataset, threat = BenchmarkDataset(spec.zoo_dataset), ThreatModel(spec.threat_model)
        except ValueError as err:
            raise ValueError(
                f"models.*: robustbench needs zoo_dataset in {[d.value for d in BenchmarkDataset]} and threat_model "
                f"in {[t.value for t in ThreatModel]} ({err})"
            ) from err
        entries = robustbench.model_zoo.models.model_dicts[dataset][threat]
        if spec.arch not in entries:
            raise ValueError(
                f"models.*.arch: {spec.arch!r} is not a RobustBench {spec.zoo_dataset}/{spec.threat_model} entry; "
                f"known: {', '.join(entries)}"
            )
        return entries[spec.arch]

    def check_arch(self, spec: ModelSpec) -> None:
        self._entry(spec)
        if spec.pretrained or spec.weights:
            raise ValueError("models.*: robustbench weights live in model_dir's layout, not `weights`/`pretrained`")

    def architecture(self, spec: ModelSpec, num_classes: int, info: DatasetInfo) -> nn.Module:
        model = self._entry(spec)["model"]()
        head = last_linear(model)
        layer = model.get_submodule(head)
        if layer.out_features != num_classes:  # a new head for the dataset's classes (head-only training)
            parent, _, leaf = head.rpartition(".")
            setattr(model.get_submodule(parent), leaf, nn.Linear(layer.in_features, num_classes))
        return model

    def default_input(self, spec: ModelSpec, info: DatasetInfo) -> InputSpec:
        return InputSpec(ZOO_SIZES.get(spec.zoo_dataset), 3, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))

    def weights_files(self, spec: ModelSpec) -> list[Path]:
        path = Path(spec.model_dir) / str(spec.zoo_dataset) / str(spec.threat_model) / f"{spec.arch}.pt"
        ids = self._entry(spec)["gdrive_id"]
        return [Path(f"{path}_m{i}.pt") for i in range(len(ids))] if isinstance(ids, list) else [path]

    def where(self, spec: ModelSpec) -> str:
        return "RobustBench's layout <model_dir>/<dataset>/<threat_model>/<name>.pt"

    def fetch(self, spec: ModelSpec) -> None:
        import_robustbench()
        from robustbench.utils import download_gdrive_new

        ids = self._entry(spec)["gdrive_id"]
        for gdrive_id, path in zip(ids if isinstance(ids, list) else [ids], self.weights_files(spec), strict=True):
            if not path.is_file():
                path.parent.mkdir(parents=True, exist_ok=True)
                download_gdrive_new(gdrive_id, path)

    def state_dict(self, spec: ModelSpec, info: DatasetInfo) -> tuple[dict[str, torch.Tensor], Path]:
        """RobustBench's own loader (it knows each entry's checkpoint quirks), after every file it reads has passed
        ``torch.load(weights_only=True)``: nothing but tensors and containers is ever unpickled."""
        files = self.weights_files(spec)
        for path in files:
            read_checkpoint(path)
        from robustbench.utils import load_model

        try:
            model = load_model(spec.arch, spec.model_dir, spec.zoo_dataset, spec.threat_model)
        except (RuntimeError, KeyError) as err:
            first = str(err).strip().splitlines()[0][:400]
            raise WeightsError(f"{files[0]}: does not fit RobustBench entry {spec.arch!r} ({first})") from err
        return model.state_dict(), files[0]


def architecture_name(cfg: dict[str, Any]) -> str:
    """The architecture a ``models.<name>`` entry names: ``arch``, or a python source's ``factory``."""
    return ModelSpec.from_config(cfg).arch


def import_factory(factory: str) -> Any:
    """The callable named by ``"package.module:callable"`` (importable from the working directory, the user's
    project folder, or the Python path) or ``"path/to/file.py:callable"`` (a file, relative to the working
    directory). Raises ValueError naming ``models.*.factory`` when it cannot be found."""
    module_name, _, attribute = factory.rpartition(":")
    if not module_name or not attribute:
        raise ValueError(f"models.*.factory: {factory!r} is not 'package.module:callable' or 'file.py:callable'")
    if module_name.endswith(".py"):
        path = Path(module_name).resolve()
        if not path.is_file():
            raise ValueError(f"models.*.factory: {factory!r}: no file {path}")
        name = f"freqmaps_user_{hashlib.sha256(str(path).encode()).hexdigest()[:12]}_{path.stem}"
        module = sys.modules.get(name)
        if module is None:
            loader = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(loader)
            sys.modules[name] = module  # dataclasses and pickling look modules up by name
            try:
                loader.loader.exec_module(module)
            except Exception as err:
                del sys.modules[name]
                raise ValueError(f"models.*.factory: {factory!r}: running {path} failed: {_described(err)}") from err
    else:
        if os.getcwd() not in sys.path:  # the user's project folder (Snakemake's working directory)
            sys.path.append(os.getcwd())
        try:
            module = importlib.import_module(module_name)
        except Exception as err:
            hint = ""
            if isinstance(err, ModuleNotFoundError) and module_name.startswith(str(err.name)):
                hint = "; put it in the project folder or on PYTHONPATH, or give a file: 'path/to/file.py:callable'"
            raise ValueError(
                f"models.*.factory: {factory!r}: cannot import {module_name!r} ({_described(err)}){hint}"
            ) from err
    made = getattr(module, attribute, None)
    if not callable(made):
        raise ValueError(f"models.*.factory: {factory!r}: {module_name} has no callable {attribute!r}")
    return made


def _described(err: Exception) -> str:
    return f"{type(err).__name__}: {err}"


def factory_file(factory: str) -> Path | None:
    """The file a factory's code lives in (a workflow input: editing it retrains), or None for a built-in one."""
    module_name = factory.rpartition(":")[0]
    if module_name.endswith(".py"):
        return Path(module_name)
    if os.getcwd() not in sys.path:
        sys.path.append(os.getcwd())
    try:
        found = importlib.util.find_spec(module_name)
    except (ImportError, ValueError):
        return None
    return Path(found.origin) if found and found.origin and found.origin.endswith(".py") else None


class PythonSource(ModelSource):
    """The user's own ``nn.Module``: ``factory: "package.module:callable"`` (a module in the project folder or on
    the Python path) or ``"path/to/file.py:callable"``, called with ``options`` as keyword arguments, plus
    ``num_classes`` and ``in_channels`` (the dataset's) where its signature takes them and ``options`` does not
    set them. Input: the dataset's own resolution and normalisation unless ``input`` says otherwise. Weights:
    ``weights`` (safetensors, or a state dict read with ``weights_only=True``), or trained from scratch."""

    example = "freqmaps.models:SmallCNN"
    example_key = "factory"

    @staticmethod
    def _factory(spec: ModelSpec) -> Any:
        if not spec.factory:
            raise ValueError("models.*.factory: the python source needs factory: 'package.module:callable'")
        return import_factory(spec.factory)

    @staticmethod
    def _arguments(make: Any, spec: ModelSpec, num_classes: int, in_channels: int) -> dict[str, Any]:
        """``options``, plus num_classes and in_channels where the factory's signature takes them; raises
        ValueError naming the factory when its signature does not accept them (checked without calling it)."""
        kwargs = dict(spec.options)
        try:
            signature = inspect.signature(make)
        except (TypeError, ValueError):  # no signature to read: options only, errors at the call
            return kwargs
        for name, value in (("num_classes", num_classes), ("in_channels", in_channels)):
            if name in signature.parameters and name not in kwargs:
                kwargs[name] = value
        try:
            signature.bind(**kwargs)
        except TypeError as err:
            raise ValueError(f"models.*.factory: {spec.factory}({', '.join(sorted(kwargs))}): {err}") from err
        return kwargs

    def check_arch(self, spec: ModelSpec) -> None:
        self._arguments(self._factory(spec), spec, 2, 1)
        if spec.pretrained:
            raise ValueError("models.*.pretrained: the python source has no pretrained names; give `weights`")

    def architecture(self, spec: ModelSpec, num_classes: int, info: DatasetInfo) -> nn.Module:
        make = self._factory(spec)
        model = make(**self._arguments(make, spec, num_classes, info.channels))
        if not isinstance(model, nn.Module):
            raise ValueError(f"models.*.factory: {spec.factory} returned {type(model).__name__}, not a torch nn.Module")
        return model

    def default_input(self, spec: ModelSpec, info: DatasetInfo) -> InputSpec:
        return _dataset_input(info, info.channels)

    def code_files(self, spec: ModelSpec) -> list[Path]:
        found = factory_file(spec.factory) if spec.factory else None
        return [found] if found else []


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


def classifier(body: nn.Module, spec: InputSpec) -> nn.Sequential:
    """The model as freqmaps uses it: normalisation (images in [0, 1]) then the architecture."""
    return nn.Sequential(Normalize(spec.mean, spec.std, spec.channels), body)


def build_architecture(spec: ModelSpec, info: DatasetInfo, input_spec: InputSpec | None = None) -> nn.Sequential:
    """An untrained classifier of ``spec``'s architecture for ``info``'s classes."""
    source = model_source(spec)
    body = source.architecture(spec, info.num_classes, info)
    return classifier(body, input_spec or model_input_spec(spec, info))


DOWNLOAD_TIMEOUT_S = 5  # seconds to reach the download host before saying it cannot be reached


def fetch_weights(spec: ModelSpec) -> None:
    """Download a spec's missing weights (``download: true``); without a network, fail at once naming the host
    and where the file must go, instead of the download library's traceback after its retries."""
    source, missing = model_source(spec), missing_weights(spec)
    advice = f"put {missing[0]} there yourself ({source.where(spec)}), or run where the internet is reachable"
    if source.download_host:
        try:
            socket.create_connection((source.download_host, 443), timeout=DOWNLOAD_TIMEOUT_S).close()
        except OSError as err:
            raise WeightsError(
                f"download: true, but {source.download_host} cannot be reached ({err}); {advice}"
            ) from None
    try:
        source.fetch(spec)
    except (OSError, ConnectionError) as err:
        raise WeightsError(f"download of {missing[0]} failed ({type(err).__name__}: {err}); {advice}") from err
    except Exception as err:  # noqa: BLE001 - requests' and gdown's errors, without importing them here
        if "requests" not in type(err).__module__ and "gdown" not in type(err).__module__:
            raise
        raise WeightsError(f"download of {missing[0]} failed ({type(err).__name__}: {err}); {advice}") from err


def missing_weights(spec: ModelSpec) -> list[Path]:
    """The weights files a spec needs that are not on this machine."""
    return [path for path in model_source(spec).weights_files(spec) if not path.is_file()]


def weights_inputs(cfg: dict[str, Any]) -> list[str]:
    """The weights files a configured model is built from, and the user's own code of a python source, as workflow
    inputs (a changed file reruns its training); no weights where they are still to be downloaded."""
    spec = ModelSpec.from_config(cfg)
    source = model_source(spec)
    weights = [] if spec.download else [str(path) for path in source.weights_files(spec)]
    return weights + [str(path) for path in source.code_files(spec)]


def check_model(name: str, cfg: dict[str, Any]) -> None:
    """Fail fast, naming ``models.<name>`` and the file, when a model cannot be built or its weights are absent
    and may not be downloaded (called by the workflow before any job runs)."""
    spec = ModelSpec.from_config(cfg)
    try:
        source = model_source(spec)
        source.check_arch(spec)
        if spec.pretrained and not source.supports_pretrained:
            raise ValueError(f"models.*.pretrained: the {spec.source} source has no pretrained weights names")
    except ValueError as err:
        raise ValueError(str(err).replace("models.*", f"models.{name}")) from err
    missing = missing_weights(spec)
    if missing and not spec.download:
        raise WeightsError(
            f"models.{name}: weights file {missing[0]} not found; put it there ({source.where(spec)}), "
            "or set `download: true` under models." + name + " on a machine with internet access"
        )


def load_weights(model: nn.Sequential, spec: ModelSpec, info: DatasetInfo, new_head: bool) -> Path | None:
    """Fill ``model`` (from :func:`build_architecture`) with the spec's weights, downloading them first where
    allowed; with ``new_head`` the classification layer keeps its fresh initialisation. Returns the file read."""
    source = model_source(spec)
    if not source.weights_files(spec):
        return None
    if missing_weights(spec) and spec.download:
        fetch_weights(spec)
    state, path = source.state_dict(spec, info)
    body = model[1]
    skip = (source.head_name(body),) if new_head else ()
    what = f"{spec.source} architecture {spec.arch!r} with {info.num_classes} classes"
    try:
        fit_state_dict(body, state, path, what, skip)
    except WeightsError as err:
        hint = "" if new_head else " (a model for other classes needs `train: {mode: head_only}`: a new head)"
        raise WeightsError(f"{err}{hint}") from err
    return path


def build_model(arch: str, info: DatasetInfo) -> nn.Module:
    """A fresh built-in classifier for ``info``'s images, with the dataset's normalisation as its first layer."""
    return build_architecture(ModelSpec(arch=arch), info)


def freeze(model: nn.Module) -> nn.Module:
    """eval() mode and no parameter gradients: the classifier is a fixed function for attacks and maps."""
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model
