"""Reading experiment configs with errors that point at the file, line and column at fault."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class ConfigError(ValueError):
    """A config file cannot be read; the message names the file and the position."""


def read_config(path: str | Path) -> dict[str, Any]:
    """Parse a YAML config file; a syntax error names the file, line and column."""
    path = Path(path)
    try:
        loaded = yaml.safe_load(path.read_text())
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{path}:{where}: not valid YAML ({err.problem or err.context})") from err
    except OSError as err:
        raise ConfigError(f"{path}: cannot be read ({err.strerror})") from err
    if not isinstance(loaded, dict):
        raise ConfigError(
            f"{path}: expected a mapping of keys (seeds, datasets, models, ...), got {type(loaded).__name__}"
        )
    return loaded
