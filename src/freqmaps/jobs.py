"""What every workflow job does before its stage runs: send its logs to the rule's log file. Light on purpose
(no torch): a script calls :func:`start_job` before it imports its stage, so importing it (the ``freqmaps``
package) lets idle OpenMP threads sleep before torch loads (``freqmaps/__init__.py``)."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path


def start_job(log_file: str | os.PathLike | None) -> None:
    """Log to ``log_file``. Call it before torch is imported (see the module's docstring)."""
    setup_logging(log_file)


def setup_logging(log_file: str | os.PathLike | None = None, level: int = logging.INFO) -> None:
    """Send log records, warnings, progress bars and tracebacks to ``log_file`` (or stderr), timestamped.

    With a file, stderr itself is redirected there, so tqdm progress (rates, ETAs) and an uncaught
    exception's traceback end up in the rule's log, which Snakemake shows when a job fails.
    """
    if log_file:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        sys.stderr = open(log_file, "a", buffering=1)  # noqa: SIM115 - lives as long as the process
    handler: logging.Handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.captureWarnings(True)
