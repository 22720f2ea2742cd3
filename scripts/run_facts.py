"""Snakemake wrapper: what ran, with accuracies, attack success and map outcomes (freqmaps.stages.run_facts)."""

from freqmaps import stages
from freqmaps.runtime import setup_logging

sm = snakemake  # noqa: F821 - injected by Snakemake
setup_logging(sm.log[0])
stages.run_facts(
    sm.params.runs,
    list(sm.input.models),
    list(sm.input.attacks),
    list(sm.input.essential),
    list(sm.input.adversarial),
    sm.output.table,
    sm.output.html,
)
