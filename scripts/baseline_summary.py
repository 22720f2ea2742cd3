"""Snakemake wrapper: one reading per baseline, map and level across the config (freqmaps.baselines.stage.summarise)."""

from freqmaps.baselines import stage
from freqmaps.runtime import setup_logging

sm = snakemake  # noqa: F821 - injected by Snakemake
setup_logging(sm.log[0])
stage.summarise(sidecars=list(sm.input.tables), out_path=sm.output.table)
