"""Snakemake wrapper: what ran: accuracies, attack success, map outcomes (freqmaps.stages.run_facts.run_facts)."""

from freqmaps.jobs import start_job

sm = snakemake  # noqa: F821 - injected by Snakemake
start_job(sm.log[0])  # before the stage's imports load torch

from freqmaps.stages.run_facts import run_facts

run_facts(
    runs=sm.params.runs,
    model_sidecars=list(sm.input.models),
    attack_sidecars=list(sm.input.attacks),
    essential_paths=list(sm.input.essential),
    adversarial_paths=list(sm.input.adversarial),
    table_path=sm.output.table,
    html_path=sm.output.html,
)
