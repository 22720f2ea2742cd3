"""Snakemake wrapper: a dataset-level mask (freqmaps.frequency_bias.stages.dataset_mask)."""

from freqmaps.frequency_bias import stages
from freqmaps.runtime import setup_logging

sm = snakemake  # noqa: F821 - injected by Snakemake
setup_logging(sm.log[0])
stages.dataset_mask(
    dataset=sm.wildcards.dataset,
    data_cfg=sm.params.dataset,
    weights_path=sm.input.weights,
    mask_cfg=sm.params.mask,
    seed=int(sm.wildcards.seed),
    device=sm.params.device,
    mask_path=sm.output.mask,
    sidecar_path=sm.output.sidecar,
)
