"""Snakemake wrapper: the experiment's summary, null-draw and verdict tables (freqmaps.stages.summarise)."""

from freqmaps import stages
from freqmaps.runtime import setup_logging

sm = snakemake  # noqa: F821 - injected by Snakemake
setup_logging(sm.log[0])
stages.summarise(
    sm.params.runs,
    list(sm.input.tables),
    list(sm.input.null_draws),
    sm.output.table,
    sm.output.null_draws,
    sm.output.verdict,
    sm.output.verdict_html,
)
