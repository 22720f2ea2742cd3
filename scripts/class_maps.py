"""Snakemake wrapper: class-level maps of one attack (freqmaps.frequency_bias.class_maps_stage)."""

from freqmaps import frequency_bias
from freqmaps.runtime import setup_logging

sm = snakemake  # noqa: F821 - injected by Snakemake
setup_logging(sm.log[0])
frequency_bias.class_maps_stage(
    sm.wildcards.dataset,
    sm.params.dataset,
    sm.input.weights,
    sm.input.attack,
    sm.params.class_maps,
    int(sm.wildcards.seed),
    sm.params.device,
    sm.output.maps,
)
