"""Snakemake wrapper: planted-band recovery of maps and baselines (freqmaps.stages.baseline_known_answer)."""

from freqmaps.jobs import start_job

sm = snakemake  # noqa: F821 - injected by Snakemake
start_job(sm.log[0])  # before the stage's imports load torch

from freqmaps.stages.baseline_known_answer import known_answer

known_answer(
    dataset=sm.wildcards.dataset,
    data_cfg=sm.params.dataset,
    weights_path=sm.input.weights,
    essential_path=sm.input.essential,
    adversarial_paths=dict(zip(sm.params.attacks, sm.input.adversarial, strict=True)),
    clean_baselines_path=sm.input.clean,
    attack_baseline_paths=dict(zip(sm.params.attacks, sm.input.attack_baselines, strict=True)),
    heat_map_path=sm.input.get("heat_map"),
    device=sm.params.device,
    out_path=sm.output.table,
    blank_confidence=sm.params.blank_confidence,
)
