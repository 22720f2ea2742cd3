"""Snakemake wrapper: tables and figures across the variants (freqmaps.frequency_bias.study.study)."""

from freqmaps.jobs import start_job

sm = snakemake  # noqa: F821 - injected by Snakemake
start_job(sm.log[0])  # before the stage's imports load torch

from freqmaps.frequency_bias import study

study.study(
    files=dict(sm.input.items()),
    variants=sm.params.variants,
    seeds=sm.params.seeds,
    settings=sm.params.settings,
    out=dict(sm.output.items()),
)
