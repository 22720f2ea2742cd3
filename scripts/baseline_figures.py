"""Snakemake wrapper: class-mean maps beside the baselines (freqmaps.baselines.figures.mean_maps_figure)."""

from freqmaps.baselines import figures
from freqmaps.runtime import setup_logging

sm = snakemake  # noqa: F821 - injected by Snakemake
setup_logging(sm.log[0])
figures.mean_maps_figure(
    essential_path=sm.input.essential,
    adversarial_path=sm.input.adversarial,
    clean_path=sm.input.clean,
    attack_path=sm.input.attack_baselines,
    class_names=tuple(sm.params.class_names),
    path=sm.output[0],
)
