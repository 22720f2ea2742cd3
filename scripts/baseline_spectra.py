"""Snakemake wrapper: the per-image baselines of one scope (freqmaps.baselines.stage.per_image)."""

import os

# Idle OpenMP threads sleep instead of spinning: on shared cores spinning threads starve the working ones
# (the agreement job: 41 s against 4 s under a competing load, BENCHMARKS.md). Read when torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from freqmaps.baselines import stage  # noqa: E402
from freqmaps.runtime import setup_logging  # noqa: E402

sm = snakemake  # noqa: F821 - injected by Snakemake
setup_logging(sm.log[0])
stage.per_image(
    scope=sm.params.scope,
    names=sm.params.measures,
    dataset=sm.wildcards.dataset,
    data_cfg=sm.params.dataset,
    weights_path=sm.input.weights,
    map_cfg=sm.params.maps,
    seed=int(sm.wildcards.seed),
    device=sm.params.device,
    out_path=sm.output.baselines,
    attack_path=sm.input.get("attack"),
)
