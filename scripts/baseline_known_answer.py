"""Snakemake wrapper: planted-band recovery of maps and baselines (freqmaps.baselines.stage.known_answer)."""

from freqmaps.baselines import stage
from freqmaps.runtime import setup_logging

sm = snakemake  # noqa: F821 - injected by Snakemake
setup_logging(sm.log[0])
stage.known_answer(
    sm.wildcards.dataset,
    sm.params.dataset,
    sm.input.weights,
    sm.input.essential,
    dict(zip(sm.params.attacks, sm.input.adversarial, strict=True)),
    sm.input.clean,
    dict(zip(sm.params.attacks, sm.input.attack_baselines, strict=True)),
    sm.input.get("heat_map"),
    sm.params.device,
    sm.output.table,
)
