"""Snakemake wrapper: the Fourier heat map of one model (freqmaps.stages.baseline_heat_map.heat_map)."""

from freqmaps.jobs import start_job

sm = snakemake  # noqa: F821 - injected by Snakemake
start_job(sm.log[0])  # before the stage's imports load torch

from freqmaps.stages.baseline_heat_map import heat_map

heat_map(
    dataset=sm.wildcards.dataset,
    data_cfg=sm.params.dataset,
    weights_path=sm.input.weights,
    heat_map_cfg=sm.params.heat_map,
    seed=int(sm.wildcards.seed),
    device=sm.params.device,
    out_path=sm.output.heat_map,
    figure_path=sm.output.figure,
)
