"""Snakemake wrapper: the per-image baselines of one scope (freqmaps.baselines.stage.per_image)."""

from freqmaps.baselines import stage
from freqmaps.runtime import setup_logging

sm = snakemake  # noqa: F821 - injected by Snakemake
setup_logging(sm.log[0])
stage.per_image(
    sm.params.scope,
    sm.params.measures,
    sm.wildcards.dataset,
    sm.params.dataset,
    sm.input.weights,
    sm.params.maps,
    int(sm.wildcards.seed),
    sm.params.device,
    sm.output.baselines,
    sm.input.get("attack"),
)
