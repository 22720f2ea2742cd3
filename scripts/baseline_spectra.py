"""Snakemake wrapper: the per-image baselines of one scope (freqmaps.baselines.stage.per_image)."""

from freqmaps.baselines import stage
from freqmaps.runtime import setup_logging

sm = snakemake  # noqa: F821 - injected by Snakemake
setup_logging(sm.log[0])
stage.per_image(
    scope=sm.params.scope,
    names=sm.params.measures,
    dataset=sm.wildcards.dataset,
    data_cfg=sm.params.dataset,
    weights_path=sm.input.weights,
    map_cfg=sm.params.maps,
    seed=int(sm.wildcards.seed),
    device=sm.params.device,
    out_path=sm.output.baselines,
    attack_path=sm.input.get("attack"),
)
