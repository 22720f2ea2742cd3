"""Snakemake wrapper: merge attack shards (freqmaps.stages.gather_attack)."""

from freqmaps import stages
from freqmaps.runtime import setup_logging

sm = snakemake  # noqa: F821 - injected by Snakemake
setup_logging(sm.log[0])
stages.gather_attack(list(sm.input.shards), sm.output.adversarial)
