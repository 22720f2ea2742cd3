"""Snakemake wrapper: each statistic and the maps' sparsity against λ (freqmaps.figures.lam_sensitivity)."""

from freqmaps.jobs import start_job

sm = snakemake  # noqa: F821 - injected by Snakemake
start_job(sm.log[0])  # before the stage's imports load torch

from freqmaps import figures

figures.lam_sensitivity(sm.input.summary, sm.input.run_facts, sm.output[0])
