"""Snakemake wrapper: tables and figures across the variants (freqmaps.frequency_bias.study)."""

from freqmaps import frequency_bias
from freqmaps.runtime import setup_logging

sm = snakemake  # noqa: F821 - injected by Snakemake
setup_logging(sm.log[0])
files = {kind: list(sm.input[kind]) for kind in frequency_bias.STUDY_INPUTS}
inputs = frequency_bias.study_paths(sm.params.variants, sm.params.seeds, files)
frequency_bias.study(inputs, sm.params.settings, dict(sm.output.items()))
