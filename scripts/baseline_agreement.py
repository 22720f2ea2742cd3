"""Snakemake wrapper: baselines against the learned maps of one attack (freqmaps.stages.baseline_agreement)."""

from freqmaps.jobs import start_job

sm = snakemake  # noqa: F821 - injected by Snakemake
start_job(sm.log[0])  # before the stage's imports load torch

from freqmaps.stages.baseline_agreement import agreement_tables

agreement_tables(
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
