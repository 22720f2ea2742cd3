"""Snakemake wrapper: a dataset-level mask (freqmaps.frequency_bias.stages.dataset_mask)."""

from freqmaps.jobs import start_job

sm = snakemake  # noqa: F821 - injected by Snakemake
start_job(sm.log[0])  # before the stage's imports load torch

from freqmaps.frequency_bias import stages

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
