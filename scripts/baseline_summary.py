"""Snakemake wrapper: one reading per baseline, map and level across the config (freqmaps.baselines.stage.summarise)."""

import os

# Idle OpenMP threads sleep instead of spinning: on shared cores spinning threads starve the working ones
# (the agreement job: 41 s against 4 s under a competing load, BENCHMARKS.md). Read when torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from freqmaps.baselines import stage  # noqa: E402
from freqmaps.runtime import setup_logging  # noqa: E402

sm = snakemake  # noqa: F821 - injected by Snakemake
setup_logging(sm.log[0])
stage.summarise(runs=sm.params.runs, sidecars=list(sm.input.tables), out_path=sm.output.table)
