"""Snakemake wrapper: known-answer measures of one model (freqmaps.known_answer.known_answer)."""

from freqmaps.jobs import start_job

sm = snakemake  # noqa: F821 - injected by Snakemake
start_job(sm.log[0])  # before the stage's imports load torch

from freqmaps import known_answer

known_answer.known_answer(
    dataset=sm.wildcards.dataset,
    data_cfg=sm.params.dataset,
    weights_path=sm.input.weights,
    essential_path=sm.input.essential,
    adversarial_paths=dict(zip(sm.params.attacks, sm.input.adversarial, strict=True)),
    device=sm.params.device,
    out=dict(sm.output.items()),
    blank_confidence=sm.params.blank_confidence,
)
