"""Snakemake wrapper: the information-imbalance plane (freqmaps.figures.information_imbalance_plane)."""

from freqmaps.jobs import start_job

sm = snakemake  # noqa: F821 - injected by Snakemake
start_job(sm.log[0])  # before the stage's imports load torch

from freqmaps import figures

figures.information_imbalance_plane(list(sm.input.tables), sm.params.attacks, sm.output[0])
