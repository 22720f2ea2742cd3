"""Snakemake wrapper: learn one shard of essential or adversarial maps (freqmaps.stages.learn_maps_shard)."""

from freqmaps import stages
from freqmaps.runtime import setup_logging

sm = snakemake  # noqa: F821 - injected by Snakemake
setup_logging(sm.log[0])
attack = sm.input.get("attack")
stages.learn_maps_shard(
    kind="adversarial" if attack else "essential",
    dataset=sm.wildcards.dataset,
    data_cfg=sm.params.dataset,
    weights_path=sm.input.weights,
    map_cfg=sm.params.maps,
    shard=sm.wildcards.scatteritem,
    seed=int(sm.wildcards.seed),
    device=sm.params.device,
    out_path=sm.output[0],
    attack_path=attack,
)
