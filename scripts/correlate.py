"""Snakemake wrapper: statistics between essential and adversarial maps (freqmaps.stages.correlate)."""

from freqmaps import stages
from freqmaps.runtime import setup_logging

sm = snakemake  # noqa: F821 - injected by Snakemake
setup_logging(sm.log[0])
stages.correlate(
    sm.input.essential,
    sm.input.adversarial,
    sm.params.stats,
    int(sm.wildcards.seed),
    sm.params.device,
    sm.output.table,
    sm.output.per_image,
    sm.output.null_draws,
)
