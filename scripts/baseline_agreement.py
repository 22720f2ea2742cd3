"""Snakemake wrapper: baselines against the learned maps of one attack (freqmaps.baselines.stage.agreement_tables)."""

import os

# Idle OpenMP threads sleep instead of spinning: on shared cores spinning threads starve the working ones
# (the agreement job: 41 s against 4 s under a competing load, BENCHMARKS.md). Read when torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from freqmaps.baselines import stage  # noqa: E402
from freqmaps.runtime import setup_logging  # noqa: E402

sm = snakemake  # noqa: F821 - injected by Snakemake
setup_logging(sm.log[0])
stage.agreement_tables(
    essential_path=sm.input.essential,
    adversarial_path=sm.input.adversarial,
    baseline_paths=[sm.input.clean, sm.input.attack_baselines],
    heat_map_path=sm.input.get("heat_map"),
    stats_cfg=sm.params.stats,
    baseline_cfg=sm.params.baselines,
    seed=int(sm.wildcards.seed),
    device=sm.params.device,
    table_path=sm.output.table,
    draws_path=sm.output.null_draws,
    threads=sm.threads,
)
