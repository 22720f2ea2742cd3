"""Snakemake wrapper: class-mean maps beside the baselines (freqmaps.baselines.figures.mean_maps_figure)."""

from freqmaps.jobs import start_job

sm = snakemake  # noqa: F821 - injected by Snakemake
start_job(sm.log[0])  # before the stage's imports load torch

from freqmaps.baselines import figures

figures.mean_maps_figure(
    essential_path=sm.input.essential,
    adversarial_path=sm.input.adversarial,
    clean_path=sm.input.clean,
    attack_path=sm.input.attack_baselines,
    class_names=tuple(sm.params.class_names),
    path=sm.output[0],
)
