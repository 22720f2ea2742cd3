"""Snakemake wrapper: tables and figures across the variants (freqmaps.frequency_bias.study.study)."""

from freqmaps.frequency_bias import study
from freqmaps.runtime import setup_logging

sm = snakemake  # noqa: F821 - injected by Snakemake
setup_logging(sm.log[0])
study.study(
    files=dict(sm.input.items()),
    variants=sm.params.variants,
    seeds=sm.params.seeds,
    settings=sm.params.settings,
    out=dict(sm.output.items()),
)
