"""Snakemake wrapper: attack one shard of the test images (freqmaps.stages.attack.attack)."""

from freqmaps.jobs import start_job

sm = snakemake  # noqa: F821 - injected by Snakemake
start_job(sm.log[0])  # before the stage's imports load torch

from freqmaps.stages.attack import attack

attack(
    dataset=sm.wildcards.dataset,
    data_cfg=sm.params.dataset,
    weights_path=sm.input.weights,
    attack_name=sm.wildcards.attack,
    attack_cfg=sm.params.attack,
    shard=sm.wildcards.scatteritem,
    seed=int(sm.wildcards.seed),
    device=sm.params.device,
    out_path=sm.output[0],
)
