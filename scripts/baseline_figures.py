"""Snakemake wrapper: class-mean maps beside the baselines (freqmaps.baselines.figures.mean_maps_figure)."""

import os

# Idle OpenMP threads sleep instead of spinning: on shared cores spinning threads starve the working ones
# (the agreement job: 41 s against 4 s under a competing load, BENCHMARKS.md). Read when torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from freqmaps.baselines import figures  # noqa: E402
from freqmaps.runtime import setup_logging  # noqa: E402

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
