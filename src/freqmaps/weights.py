"""Reading classifier weights files safely, and refusing those that do not fit.

A weights file is a safetensors file or a PyTorch state dict read with ``torch.load(weights_only=True)``:
nothing else is unpickled, so a pickle that would run code is refused before any of it runs. A file whose
tensors do not match the architecture (missing or unexpected keys, wrong shapes) is refused with the file
and the first mismatching keys named.
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Iterable, Mapping
from pathlib import Path

import torch
from torch import nn

# Keys under which training scripts commonly nest the state dict of a checkpoint.
NESTED_STATE_KEYS = ("state_dict", "model_state_dict", "model", "net")
SHOWN_KEYS = 5  # how many mismatching keys an error names


class WeightsError(RuntimeError):
    """A weights file is missing, unsafe, unreadable or does not fit its architecture; the message names it."""


def sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes, read in chunks (weights files may be large)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def read_checkpoint(path: str | Path) -> object:
    """The raw content of a weights file: safetensors, or ``torch.load(weights_only=True)`` (never a full unpickle)."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: no such weights file")
    if path.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return load_file(str(path), device="cpu")
        except (SafetensorError, OSError, ValueError) as err:
            raise WeightsError(f"{path}: not a readable safetensors file ({err})") from err
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        # weights_only refuses any global it does not know: code in a pickle is never run.
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise WeightsError(
            f"{path}: refused, it holds more than tensors (torch.load(weights_only=True): {first}); "
            "save only the state dict (torch.save(model.state_dict(), path)) or convert it to safetensors"
        ) from err
    except (RuntimeError, OSError, EOFError, ValueError) as err:
        raise WeightsError(f"{path}: not a PyTorch checkpoint or safetensors file ({err})") from err


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """A flat name -> tensor state dict from a weights file, unwrapping a nested ``state_dict`` and any
    DataParallel ``module.`` prefix."""
    content = read_checkpoint(path)
    for key in NESTED_STATE_KEYS:
        if isinstance(content, Mapping) and isinstance(content.get(key), Mapping):
            content = content[key]
            break
    if not isinstance(content, Mapping) or not all(isinstance(v, torch.Tensor) for v in content.values()):
        raise WeightsError(f"{path}: expected a state dict (parameter name -> tensor), found {type(content).__name__}")
    state = dict(content)
    if state and all(key.startswith("module.") for key in state):
        state = {key.removeprefix("module."): value for key, value in state.items()}
    return state


def _first(keys: Iterable[str]) -> str:
    keys = sorted(keys)
    more = f" and {len(keys) - SHOWN_KEYS} more" if len(keys) > SHOWN_KEYS else ""
    return ", ".join(keys[:SHOWN_KEYS]) + more


def fit_problems(
    expected: Mapping[str, tuple[int, ...]], given: Mapping[str, tuple[int, ...]], skip: tuple[str, ...] = ()
) -> list[str]:
    """Why weights of parameter shapes ``given`` do not fit a model of shapes ``expected`` (empty: they fit): the
    first missing and unexpected keys and wrong shapes. Keys under a prefix in ``skip`` are not compared."""

    def kept(key: str) -> bool:
        return not any(key == p or key.startswith(p + ".") for p in skip)

    expected = {k: tuple(v) for k, v in expected.items() if kept(k)}
    given = {k: tuple(v) for k, v in given.items() if kept(k)}
    missing, unexpected = expected.keys() - given.keys(), given.keys() - expected.keys()
    shapes = [
        f"{k} (file {given[k]}, model {expected[k]})"
        for k in sorted(expected.keys() & given.keys())
        if given[k] != expected[k]
    ]
    problems = []
    if missing:
        problems.append(f"missing keys: {_first(missing)}")
    if unexpected:
        problems.append(f"unexpected keys: {_first(unexpected)}")
    if shapes:
        problems.append(f"wrong shapes: {', '.join(shapes[:SHOWN_KEYS])}")
    return problems


def safetensors_shapes(path: str | Path) -> dict[str, tuple[int, ...]]:
    """Parameter name -> shape of a safetensors weights file, from its header alone (no tensor is read); a
    DataParallel ``module.`` prefix is removed as :func:`read_state_dict` removes it."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            shapes = {key: tuple(handle.get_slice(key).get_shape()) for key in handle.keys()}
    except (SafetensorError, OSError) as err:
        raise WeightsError(f"{path}: not a readable safetensors file ({err})") from err
    if shapes and all(key.startswith("module.") for key in shapes):
        shapes = {key.removeprefix("module."): value for key, value in shapes.items()}
    return shapes


def fit_state_dict(
    model: nn.Module, state: Mapping[str, torch.Tensor], path: str | Path, what: str, skip: tuple[str, ...] = ()
) -> None:
    """Load ``state`` into ``model`` exactly; refuse, naming ``path`` and the first mismatching keys, when it does
    not fit. Keys under a prefix in ``skip`` (a classification head to be replaced) are neither loaded nor
    required."""
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    problems = fit_problems(shapes, {k: tuple(v.shape) for k, v in state.items()}, skip)
    if problems:
        raise WeightsError(f"{path}: does not fit {what}; " + "; ".join(problems))
    given = {k: v for k, v in state.items() if not any(k == p or k.startswith(p + ".") for p in skip)}
    model.load_state_dict(given, strict=not skip)
