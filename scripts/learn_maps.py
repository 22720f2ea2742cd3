"""Snakemake wrapper: learn one shard of essential or adversarial maps (freqmaps.stages.learn_maps.learn_maps_shard)."""

from freqmaps.jobs import start_job

sm = snakemake  # noqa: F821 - injected by Snakemake
start_job(sm.log[0])  # before the stage's imports load torch

from freqmaps.stages.learn_maps import learn_maps_shard

attack = sm.input.get("attack")
learn_maps_shard(
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
