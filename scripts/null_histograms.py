"""Snakemake wrapper: null histograms of the headline statistics (freqmaps.figures.null_histograms)."""

from freqmaps import figures
from freqmaps.runtime import setup_logging

sm = snakemake  # noqa: F821 - injected by Snakemake
setup_logging(sm.log[0])
figures.null_histograms(sm.input.table, sm.input.null_draws, sm.output[0])
