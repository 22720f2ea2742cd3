"""Snakemake wrapper: figures of one model and attack (freqmaps.figures.map_figures)."""

from freqmaps import figures
from freqmaps.runtime import setup_logging

sm = snakemake  # noqa: F821 - injected by Snakemake
setup_logging(sm.log[0])
figures.map_figures(
    sm.params.class_names,
    sm.input.essential,
    sm.input.adversarial,
    sm.input.attack,
    sm.input.per_image,
    sm.params.seed,
    sm.output.class_means,
    sm.output.examples,
    sm.output.cosine,
    sm.output.bands,
    sm.params.n_bands,
)
