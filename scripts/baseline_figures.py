"""Snakemake wrapper: class-mean maps beside the baselines (freqmaps.baselines.figures.mean_maps_figure)."""

from freqmaps.baselines import figures
from freqmaps.runtime import setup_logging

sm = snakemake  # noqa: F821 - injected by Snakemake
setup_logging(sm.log[0])
figures.mean_maps_figure(
    sm.input.essential,
    sm.input.adversarial,
    sm.input.clean,
    sm.input.attack_baselines,
    tuple(sm.params.class_names),
    sm.output[0],
)
