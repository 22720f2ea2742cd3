"""Snakemake wrapper: statistics between essential and adversarial maps (freqmaps.stages.correlate)."""

from freqmaps import stages
from freqmaps.runtime import setup_logging

sm = snakemake  # noqa: F821 - injected by Snakemake
setup_logging(sm.log[0])
stages.correlate(
    essential_path=sm.input.essential,
    adversarial_path=sm.input.adversarial,
    stats_cfg=sm.params.stats,
    seed=int(sm.wildcards.seed),
    device=sm.params.device,
    table_path=sm.output.table,
    per_image_path=sm.output.per_image,
    null_draws_path=sm.output.null_draws,
)
