"""Classifiers from other libraries' model zoos, by name: any torchvision classification architecture
(``torchvision``), any timm model (``timm``), and RobustBench entries (``robustbench``); their pretrained weights
from the local caches, or downloaded where ``download: true``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import torch
from torch import nn

from freqmaps.data.core import DatasetInfo
from freqmaps.models.spec import InputSpec, ModelSource, ModelSpec, dataset_input, last_linear
from freqmaps.weights import WeightsError, read_checkpoint


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
            return dataset_input(info, 3)
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
            return dataset_input(info, 3)
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
