"""Snakemake wrapper: planted-band recovery of maps and baselines (freqmaps.baselines.stage.known_answer)."""

import os

# Idle OpenMP threads sleep instead of spinning: on shared cores spinning threads starve the working ones
# (the agreement job: 41 s against 4 s under a competing load, BENCHMARKS.md). Read when torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from freqmaps.baselines import stage  # noqa: E402
from freqmaps.runtime import setup_logging  # noqa: E402

sm = snakemake  # noqa: F821 - injected by Snakemake
setup_logging(sm.log[0])
stage.known_answer(
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
