"""Snakemake wrapper: the information-imbalance plane (freqmaps.figures.information_imbalance_plane)."""

from freqmaps import figures
from freqmaps.runtime import setup_logging

sm = snakemake  # noqa: F821 - injected by Snakemake
setup_logging(sm.log[0])
figures.information_imbalance_plane(list(sm.input.tables), sm.params.attacks, sm.output[0])
