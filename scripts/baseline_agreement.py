"""Snakemake wrapper: baselines against the learned maps of one attack (freqmaps.baselines.stage.agreement_tables)."""

from freqmaps.baselines import stage
from freqmaps.runtime import setup_logging

sm = snakemake  # noqa: F821 - injected by Snakemake
setup_logging(sm.log[0])
stage.agreement_tables(
    sm.input.essential,
    sm.input.adversarial,
    [sm.input.clean, sm.input.attack_baselines],
    sm.input.get("heat_map"),
    sm.params.stats,
    sm.params.baselines,
    int(sm.wildcards.seed),
    sm.params.device,
    sm.output.table,
    sm.output.null_draws,
)
