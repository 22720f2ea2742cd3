"""Snakemake wrapper: the per-image baselines of one scope (freqmaps.stages.baseline_spectra.per_image)."""

from freqmaps.jobs import start_job

sm = snakemake  # noqa: F821 - injected by Snakemake
start_job(sm.log[0])  # before the stage's imports load torch

from freqmaps.stages.baseline_spectra import per_image

per_image(
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
