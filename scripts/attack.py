"""Snakemake wrapper: attack one shard of the test images (freqmaps.stages.attack)."""

from freqmaps import stages
from freqmaps.runtime import setup_logging

sm = snakemake  # noqa: F821 - injected by Snakemake
setup_logging(sm.log[0])
stages.attack(
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
