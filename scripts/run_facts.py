"""Snakemake wrapper: what ran, with accuracies, attack success and map outcomes (freqmaps.stages.run_facts)."""

from freqmaps import stages
from freqmaps.runtime import setup_logging

sm = snakemake  # noqa: F821 - injected by Snakemake
setup_logging(sm.log[0])
stages.run_facts(
    runs=sm.params.runs,
    model_sidecars=list(sm.input.models),
    attack_sidecars=list(sm.input.attacks),
    essential_paths=list(sm.input.essential),
    adversarial_paths=list(sm.input.adversarial),
    table_path=sm.output.table,
    html_path=sm.output.html,
)
