"""Snakemake wrapper: the Fourier heat map of one model (freqmaps.baselines.stage.heat_map)."""

from freqmaps.baselines import stage
from freqmaps.runtime import setup_logging

sm = snakemake  # noqa: F821 - injected by Snakemake
setup_logging(sm.log[0])
stage.heat_map(
    sm.wildcards.dataset,
    sm.params.dataset,
    sm.input.weights,
    sm.params.heat_map,
    int(sm.wildcards.seed),
    sm.params.device,
    sm.output.heat_map,
    sm.output.figure,
)
