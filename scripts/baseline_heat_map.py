"""Snakemake wrapper: the Fourier heat map of one model (freqmaps.baselines.stage.heat_map)."""

import os

# Idle OpenMP threads sleep instead of spinning: on shared cores spinning threads starve the working ones
# (the agreement job: 41 s against 4 s under a competing load, BENCHMARKS.md). Read when torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from freqmaps.baselines import stage  # noqa: E402
from freqmaps.runtime import setup_logging  # noqa: E402

sm = snakemake  # noqa: F821 - injected by Snakemake
setup_logging(sm.log[0])
stage.heat_map(
    dataset=sm.wildcards.dataset,
    data_cfg=sm.params.dataset,
    weights_path=sm.input.weights,
    heat_map_cfg=sm.params.heat_map,
    seed=int(sm.wildcards.seed),
    device=sm.params.device,
    out_path=sm.output.heat_map,
    figure_path=sm.output.figure,
)
