"""Snakemake wrapper: [P1] single-image maps (freqmaps.frequency_bias.stages.image_maps)."""

from freqmaps.frequency_bias import stages
from freqmaps.runtime import setup_logging

sm = snakemake  # noqa: F821 - injected by Snakemake
setup_logging(sm.log[0])
stages.image_maps(
    dataset=sm.wildcards.dataset,
    data_cfg=sm.params.dataset,
    weights_path=sm.input.weights,
    map_cfg=sm.params.maps,
    seed=int(sm.wildcards.seed),
    device=sm.params.device,
    maps_path=sm.output.maps,
    sidecar_path=sm.output.sidecar,
)
