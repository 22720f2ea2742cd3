"""Snakemake wrapper: class-level maps of one attack (freqmaps.frequency_bias.stages.class_maps)."""

from freqmaps.jobs import start_job

sm = snakemake  # noqa: F821 - injected by Snakemake
start_job(sm.log[0])  # before the stage's imports load torch

from freqmaps.frequency_bias import stages

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
