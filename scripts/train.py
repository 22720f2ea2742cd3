"""Snakemake wrapper: train one classifier (freqmaps.stages.train)."""

from freqmaps import stages
from freqmaps.runtime import setup_logging

setup_logging(snakemake.log[0])  # noqa: F821 - injected by Snakemake
stages.train(
    snakemake.wildcards.dataset,
    snakemake.params.dataset,
    snakemake.params.model,  # noqa: F821
    int(snakemake.wildcards.seed),
    snakemake.params.device,
    snakemake.output.weights,
)  # noqa: F821
