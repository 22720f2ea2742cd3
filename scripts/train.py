"""Snakemake wrapper: train one classifier (freqmaps.stages.train.train)."""

from freqmaps.jobs import start_job

sm = snakemake  # noqa: F821 - injected by Snakemake
start_job(sm.log[0])  # before the stage's imports load torch

from freqmaps.stages.train import train

train(
    dataset=sm.wildcards.dataset,
    data_cfg=sm.params.dataset,
    model_cfg=sm.params.model,
    seed=int(sm.wildcards.seed),
    device=sm.params.device,
    weights_path=sm.output.weights,
)
