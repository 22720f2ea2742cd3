"""Snakemake wrapper: a dataset-level mask (freqmaps.frequency_bias.dataset_mask_stage)."""

from freqmaps import frequency_bias
from freqmaps.runtime import setup_logging

sm = snakemake  # noqa: F821 - injected by Snakemake
setup_logging(sm.log[0])
frequency_bias.dataset_mask_stage(
    sm.wildcards.dataset,
    sm.params.dataset,
    sm.input.weights,
    sm.params.mask,
    int(sm.wildcards.seed),
    sm.params.device,
    sm.output.mask,
)
