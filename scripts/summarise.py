"""Snakemake wrapper: the experiment's summary, null-draw and verdict tables (freqmaps.stages.summarise)."""

from freqmaps import stages
from freqmaps.runtime import setup_logging

sm = snakemake  # noqa: F821 - injected by Snakemake
setup_logging(sm.log[0])
stages.summarise(
    runs=sm.params.runs,
    table_paths=list(sm.input.tables),
    null_draws_paths=list(sm.input.null_draws),
    summary_path=sm.output.table,
    all_draws_path=sm.output.null_draws,
    verdict_path=sm.output.verdict,
    verdict_html=sm.output.verdict_html,
    min_pairs=sm.params.min_pairs,
    verdict_md=sm.output.verdict_md,
)
