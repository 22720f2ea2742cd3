"""Snakemake wrapper: one contrast between two (model, attack) cells (freqmaps.stages.contrast.contrast)."""

from freqmaps.jobs import start_job

sm = snakemake  # noqa: F821 - injected by Snakemake
start_job(sm.log[0])  # before the stage's imports load torch

from freqmaps.stages.contrast import contrast

contrast(
    maps={"a": (sm.input.essential_a, sm.input.adversarial_a), "b": (sm.input.essential_b, sm.input.adversarial_b)},
    stats_cfg=sm.params.stats,
    statistics=sm.params.contrast["statistics"],
    views=sm.params.contrast["views"],
    seed=int(sm.wildcards.seed),
    device=sm.params.device,
    table_path=sm.output.table,
    threads=sm.threads,
)
