"""Snakemake wrapper: figures of one model and attack (freqmaps.figures.map_figures)."""

from freqmaps.jobs import start_job

sm = snakemake  # noqa: F821 - injected by Snakemake
start_job(sm.log[0])  # before the stage's imports load torch

from freqmaps import figures

figures.map_figures(
    class_names=sm.params.class_names,
    essential_path=sm.input.essential,
    adversarial_path=sm.input.adversarial,
    attack_path=sm.input.attack,
    per_image_csv=sm.input.per_image,
    seed=sm.params.seed,
    class_means_png=sm.output.class_means,
    examples_png=sm.output.examples,
    cosine_png=sm.output.cosine,
    bands_png=sm.output.bands,
    n_bands=sm.params.n_bands,
)
