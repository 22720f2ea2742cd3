"""Snakemake wrapper: [P1] single-image masks (freqmaps.frequency_bias.stages.image_masks)."""

from freqmaps.frequency_bias import stages
from freqmaps.runtime import setup_logging

sm = snakemake  # noqa: F821 - injected by Snakemake
setup_logging(sm.log[0])
stages.image_masks(
    dataset=sm.wildcards.dataset,
    data_cfg=sm.params.dataset,
    weights_path=sm.input.weights,
    map_cfg=sm.params.maps,
    seed=int(sm.wildcards.seed),
    device=sm.params.device,
    masks_path=sm.output.masks,
    sidecar_path=sm.output.sidecar,
)
