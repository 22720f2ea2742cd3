"""Snakemake wrapper: statistics between essential and adversarial maps (freqmaps.stages.correlate)."""

import os

# Idle OpenMP threads sleep instead of spinning: on shared cores spinning threads starve the working ones
# (15x slower under a competing load, BENCHMARKS.md). Read when torch loads, so set before the import.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from freqmaps import stages  # noqa: E402
from freqmaps.runtime import setup_logging

sm = snakemake  # noqa: F821 - injected by Snakemake
setup_logging(sm.log[0])
stages.correlate(
    essential_path=sm.input.essential,
    adversarial_path=sm.input.adversarial,
    stats_cfg=sm.params.stats,
    seed=int(sm.wildcards.seed),
    device=sm.params.device,
    table_path=sm.output.table,
    per_image_path=sm.output.per_image,
    null_draws_path=sm.output.null_draws,
    threads=sm.threads,
)
