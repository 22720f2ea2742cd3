"""Snakemake wrapper: learn one shard of essential or adversarial maps (freqmaps.stages.learn_maps_shard)."""

from freqmaps import stages
from freqmaps.runtime import setup_logging

sm = snakemake  # noqa: F821 - injected by Snakemake
setup_logging(sm.log[0])
attack = sm.input.get("attack")
stages.learn_maps_shard(
    "adversarial" if attack else "essential",
    sm.wildcards.dataset,
    sm.params.dataset,
    sm.input.weights,
    sm.params.maps,
    sm.wildcards.scatteritem,
    int(sm.wildcards.seed),
    sm.params.device,
    sm.output[0],
    attack_path=attack,
)
