"""Snakemake wrapper: one reading per baseline, map and level across the config (freqmaps.stages.baseline_summary)."""

from freqmaps.jobs import start_job

sm = snakemake  # noqa: F821 - injected by Snakemake
start_job(sm.log[0])  # before the stage's imports load torch

from freqmaps.stages.baseline_summary import summarise

summarise(runs=sm.params.runs, sidecars=list(sm.input.tables), out_path=sm.output.table)
