"""A configured model's weights: which files it needs and which are missing, downloading them (failing at once
offline), the check before any job, and filling a built classifier with them."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from torch import nn

from freqmaps.data.core import DatasetInfo
from freqmaps.models.registry import model_source
from freqmaps.models.spec import ModelSpec
from freqmaps.weights import WeightsError, fit_state_dict

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
