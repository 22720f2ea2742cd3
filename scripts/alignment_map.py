"""Snakemake wrapper: the frequency-resolved alignment map (freqmaps.stages.alignment.alignment)."""

from freqmaps.jobs import start_job

sm = snakemake  # noqa: F821 - injected by Snakemake
start_job(sm.log[0])  # before the stage's imports load torch

from freqmaps.stages.alignment import alignment

w = sm.wildcards
alignment(
    essential_path=sm.input.essential,
    adversarial_path=sm.input.adversarial,
    settings=sm.params.alignment,
    dc=sm.params.dc,
    seed=int(w.seed),
    table_path=sm.output.table,
    figure_path=sm.output.figure,
    title=f"{w.dataset} / {w.model} / {w.attack} (seed {w.seed})",
)
