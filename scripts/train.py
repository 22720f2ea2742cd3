"""Snakemake wrapper: train one classifier (freqmaps.stages.train)."""

from freqmaps import stages
from freqmaps.runtime import setup_logging

sm = snakemake  # noqa: F821 - injected by Snakemake
setup_logging(sm.log[0])
stages.train(
    dataset=sm.wildcards.dataset,
    data_cfg=sm.params.dataset,
    model_cfg=sm.params.model,
    seed=int(sm.wildcards.seed),
    device=sm.params.device,
    weights_path=sm.output.weights,
)
