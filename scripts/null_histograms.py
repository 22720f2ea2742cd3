"""Snakemake wrapper: null histograms of the headline statistics (freqmaps.figures.null_histograms)."""

from freqmaps.jobs import start_job

sm = snakemake  # noqa: F821 - injected by Snakemake
start_job(sm.log[0])  # before the stage's imports load torch

from freqmaps import figures

figures.null_histograms(sm.input.table, sm.input.null_draws, sm.output[0])
