"""Snakemake wrapper: the forest plot of the contrasts (freqmaps.figures.contrast_forest)."""

from freqmaps.jobs import start_job

sm = snakemake  # noqa: F821 - injected by Snakemake
start_job(sm.log[0])  # before the stage's imports load torch

from freqmaps import figures

figures.contrast_forest(sm.input.table, sm.output[0])
