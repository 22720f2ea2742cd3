"""Snakemake wrapper: class-level maps of one attack (freqmaps.frequency_bias.stages.class_maps)."""

from freqmaps.frequency_bias import stages
from freqmaps.runtime import setup_logging

sm = snakemake  # noqa: F821 - injected by Snakemake
setup_logging(sm.log[0])
stages.class_maps(
    dataset=sm.wildcards.dataset,
    data_cfg=sm.params.dataset,
    weights_path=sm.input.weights,
    attack_path=sm.input.attack,
    class_cfg=sm.params.class_maps,
    seed=int(sm.wildcards.seed),
    device=sm.params.device,
    maps_path=sm.output.maps,
    sidecar_path=sm.output.sidecar,
)
