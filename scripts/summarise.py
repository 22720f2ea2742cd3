"""Snakemake wrapper: one summary table across the config (freqmaps.stages.summarise)."""

from freqmaps import stages
from freqmaps.runtime import setup_logging

sm = snakemake  # noqa: F821 - injected by Snakemake
setup_logging(sm.log[0])
stages.summarise(list(sm.input.tables), list(sm.input.attacks), sm.output.table)
