"""Snakemake wrapper: [P1] single-image masks (freqmaps.frequency_bias.image_masks_stage)."""

from freqmaps import frequency_bias
from freqmaps.runtime import setup_logging

sm = snakemake  # noqa: F821 - injected by Snakemake
setup_logging(sm.log[0])
frequency_bias.image_masks_stage(
    sm.wildcards.dataset,
    sm.params.dataset,
    sm.input.weights,
    sm.params.maps,
    int(sm.wildcards.seed),
    sm.params.device,
    sm.output.masks,
)
