"""Snakemake wrapper: attack one shard of the test images (freqmaps.stages.attack)."""

from freqmaps import stages
from freqmaps.runtime import setup_logging

sm = snakemake  # noqa: F821 - injected by Snakemake
setup_logging(sm.log[0])
stages.attack(
    sm.wildcards.dataset,
    sm.params.dataset,
    sm.input.weights,
    sm.wildcards.attack,
    sm.params.attack,
    sm.wildcards.scatteritem,
    int(sm.wildcards.seed),
    sm.params.device,
    sm.output[0],
)
