"""The user's own code as a model source (``python``): a ``factory`` callable in an importable module or a
``.py`` file, called with ``options`` (and ``num_classes``/``in_channels`` where it takes them)."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import os
import sys
from pathlib import Path
from typing import Any

from torch import nn

from freqmaps.data.core import DatasetInfo
from freqmaps.models.spec import InputSpec, ModelSource, ModelSpec, dataset_input


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

    example = "freqmaps.models.architectures:SmallCNN"
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
        return dataset_input(info, info.channels)

    def code_files(self, spec: ModelSpec) -> list[Path]:
        found = factory_file(spec.factory) if spec.factory else None
        return [found] if found else []
