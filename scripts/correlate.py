"""Snakemake wrapper: statistics between essential and adversarial maps (freqmaps.stages.correlate.correlate)."""

from freqmaps.jobs import start_job

sm = snakemake  # noqa: F821 - injected by Snakemake
start_job(sm.log[0])  # before the stage's imports load torch

from freqmaps.stages.correlate import correlate

correlate(
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
