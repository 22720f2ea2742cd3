"""Snakemake wrapper: one summary table across the config (freqmaps.stages.summarise)."""

from freqmaps import stages
from freqmaps.runtime import setup_logging

sm = snakemake  # noqa: F821 - injected by Snakemake
setup_logging(sm.log[0])
stages.summarise(table_sidecars=list(sm.input.tables), attack_sidecars=list(sm.input.attacks), out_path=sm.output.table)
