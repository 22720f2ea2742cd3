"""Snakemake wrapper: known-answer measures of one model (freqmaps.known_answer.known_answer)."""

from freqmaps import known_answer
from freqmaps.runtime import setup_logging

sm = snakemake  # noqa: F821 - injected by Snakemake
setup_logging(sm.log[0])
known_answer.known_answer(
    sm.wildcards.dataset,
    sm.params.dataset,
    sm.input.weights,
    sm.input.essential,
    dict(zip(sm.params.attacks, sm.input.adversarial, strict=True)),
    sm.params.device,
    dict(sm.output.items()),
)
