"""Safe, self-describing, atomically written result files.

Tensors go to safetensors (never pickle), settings and metrics to JSON sidecars, tables to CSV.
Every write goes to a temporary file in the same folder and is renamed into place, so a killed job
never leaves a half-written file that looks complete.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from safetensors import SafetensorError

if TYPE_CHECKING:  # torch loads with the first tensor file: the tables and JSON need none (docs_numbers, the parse)
    import torch


class ResultFileError(RuntimeError):
    """A result file is missing, truncated or not what it should be; the message says how to regenerate it."""


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is renamed onto ``path``, on error removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    os.close(fd)
    try:
        yield Path(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; results should be readable like any file
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def save_tensors(path: str | os.PathLike, tensors: Mapping[str, torch.Tensor], metadata: Mapping[str, Any]) -> None:
    """Write tensors to safetensors with JSON-encoded metadata (values must be JSON-able)."""
    from safetensors.torch import save_file

    meta = {key: json.dumps(value, default=str) for key, value in metadata.items()}
    tensors = {key: t.detach().to("cpu").contiguous() for key, t in tensors.items()}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=meta)


def regenerate_command(path: str | os.PathLike) -> str:
    """The command that rebuilds ``path`` even when the files made from it exist: the file as an explicit
    target with ``--force`` (a plain rerun would find nothing to do downstream and leave it missing)."""
    return f"snakemake --cores all --force {path}"


def _regenerate_hint(path: Path) -> str:
    return (
        f"regenerate it with `{regenerate_command(path)}` (run where you ran the workflow, with the same "
        "--configfile if you used one), then rerun the workflow"
    )


def load_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The decoded metadata of a file written by :func:`save_tensors`, without reading its tensors; a damaged
    file names itself."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise ResultFileError(f"{path}: no such file; {_regenerate_hint(path)}")
    try:
        with safe_open(str(path), framework="pt") as handle:
            raw = handle.metadata() or {}
        return {key: json.loads(value) for key, value in raw.items()}
    except (SafetensorError, OSError, ValueError, json.JSONDecodeError) as err:
        raise ResultFileError(f"{path}: corrupted or truncated ({err}); {_regenerate_hint(path)}") from err


def load_tensors(
    path: str | os.PathLike, device: str | torch.device = "cpu"
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read tensors and decoded metadata written by :func:`save_tensors`; a damaged file names itself."""
    from safetensors.torch import load_file

    metadata = load_metadata(path)
    try:
        tensors = load_file(str(path), device=str(device))
    except (SafetensorError, OSError, ValueError) as err:
        raise ResultFileError(f"{path}: corrupted or truncated ({err}); {_regenerate_hint(Path(path))}") from err
    return tensors, metadata


def sidecar_path(path: str | os.PathLike) -> Path:
    """The JSON sidecar of a result file (settings, metrics, provenance): beside it, with the suffix .json
    (``attacks/pgd.safetensors`` -> ``attacks/pgd.json``, ``stats/pgd.csv`` -> ``stats/pgd.json``)."""
    return Path(path).with_suffix(".json")


def write_json(path: str | os.PathLike, payload: Any) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")


def read_json(path: str | os.PathLike) -> Any:
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError as err:
        raise ResultFileError(f"{path}: no such file; {_regenerate_hint(path)}") from err
    except json.JSONDecodeError as err:
        raise ResultFileError(f"{path}: not valid JSON ({err}); {_regenerate_hint(path)}") from err


def read_csv(path: str | os.PathLike) -> list[dict[str, str]]:
    """Rows of a table written by :func:`write_csv`; a missing, empty or truncated file names itself."""
    path = Path(path)
    try:
        with open(path, newline="") as handle:
            reader = csv.DictReader(handle)
            rows = list(reader)
            header = reader.fieldnames
    except FileNotFoundError as err:
        raise ResultFileError(f"{path}: no such file; {_regenerate_hint(path)}") from err
    except csv.Error as err:
        raise ResultFileError(f"{path}: not a valid table ({err}); {_regenerate_hint(path)}") from err
    if not header:
        raise ResultFileError(f"{path}: empty, no header; {_regenerate_hint(path)}")
    for number, row in enumerate(rows, start=2):
        if None in row or None in row.values():
            raise ResultFileError(
                f"{path}: line {number} has {sum(v is not None for v in row.values())} of {len(header)} fields "
                f"(truncated?); "
                f"{_regenerate_hint(path)}"
            )
    return rows


def write_csv(path: str | os.PathLike, rows: Sequence[Mapping[str, Any]], columns: Sequence[str] = ()) -> None:
    """Write a tidy table; the header is ``columns`` then the union of the rows' other keys in first-seen order
    (``columns`` give a table without rows its header, so it still reads as a table)."""
    fields: list[str] = list(columns)
    for row in rows:
        fields.extend(key for key in row if key not in fields)
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
