"""Snakemake wrapper: the experiment's summary, null-draw and verdict tables (freqmaps.stages.summary.summarise)."""

from freqmaps.jobs import start_job

sm = snakemake  # noqa: F821 - injected by Snakemake
start_job(sm.log[0])  # before the stage's imports load torch

from freqmaps.stages.summary import summarise

summarise(
    runs=sm.params.runs,
    table_paths=list(sm.input.tables),
    null_draws_paths=list(sm.input.null_draws),
    summary_path=sm.output.table,
    all_draws_path=sm.output.null_draws,
    verdict_path=sm.output.verdict,
    verdict_html=sm.output.verdict_html,
    min_pairs=sm.params.min_pairs,
    verdict_md=sm.output.verdict_md,
    contrasts=sm.params.contrasts,
    contrast_paths=list(sm.input.contrasts),
    contrasts_path=sm.output.contrasts,
    p_value=sm.params.p_value,
)
