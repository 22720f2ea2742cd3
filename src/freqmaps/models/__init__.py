"""Classifiers from every model source, one registry (``SOURCES``): the built-in architectures, any torchvision
classification architecture, any timm model, RobustBench model-zoo entries, and the user's own code (``python``:
a ``factory`` callable in an importable module or a ``.py`` file).

Every classifier takes images in [0, 1]: its first layer (:class:`Normalize`) carries the model's own
normalisation, so attacks and Fourier masks act in pixel space, as in the papers' code. Weights come from a local
file (safetensors, or a state dict read with ``torch.load(weights_only=True)``), a torchvision weights name or a
timm pretrained tag (from the local cache, or downloaded where ``download: true``), or RobustBench's
``<model_dir>/<dataset>/<threat_model>/<name>.pt``.

One module per concern, each importable on its own (import the module that holds what you use, so that a
workflow stage's code inputs are what it runs):

- :mod:`~freqmaps.models.wrappers`: :class:`Normalize`, :func:`freeze`, the classifier around an architecture;
- :mod:`~freqmaps.models.spec`: :class:`ModelSpec`, :class:`InputSpec` and the interface of a source,
  :class:`ModelSource`;
- the sources: :mod:`~freqmaps.models.architectures` (the built-in architectures), :mod:`~freqmaps.models.zoos`
  (torchvision, timm, RobustBench), :mod:`~freqmaps.models.factory` (the user's own code);
- :mod:`~freqmaps.models.registry`: ``SOURCES``, and building a configured classifier through it;
- :mod:`~freqmaps.models.loading`: a configured model's weights files: missing, downloaded, checked, loaded.

To add a source: write a :class:`ModelSource` subclass and add it to ``SOURCES`` (the schema's
``models.*.source`` enum must list its key; a test checks both).

The public names are also reachable as ``freqmaps.models.<name>``, imported on first use only (PEP 562), so
importing one module of the package never runs the others.
"""

from __future__ import annotations

from freqmaps._lazy import lazy_exports

_NAMES = {  # the module that defines them -> public names
    "freqmaps.models.wrappers": ("Normalize", "classifier", "freeze"),
    "freqmaps.models.spec": ("InputSpec", "ModelSource", "ModelSpec", "architecture_name", "last_linear"),
    "freqmaps.models.architectures": (
        "ARCHITECTURES",
        "BUILTIN_ARCHITECTURES",
        "BasicBlock",
        "BuiltinSource",
        "ResNetCifar",
        "SmallCNN",
    ),
    "freqmaps.models.zoos": ("ZOO_SIZES", "RobustBenchSource", "TimmSource", "TorchvisionSource", "import_robustbench"),
    "freqmaps.models.factory": ("PythonSource", "factory_file", "import_factory"),
    "freqmaps.models.registry": ("SOURCES", "build_architecture", "build_model", "model_input_spec", "model_source"),
    "freqmaps.models.loading": (
        "DOWNLOAD_TIMEOUT_S",
        "check_model",
        "fetch_weights",
        "load_weights",
        "missing_weights",
        "weights_inputs",
    ),
}

__getattr__, __all__ = lazy_exports(__name__, _NAMES)
