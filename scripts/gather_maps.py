"""Snakemake wrapper: merge map shards (freqmaps.stages.shards.gather_maps)."""

from freqmaps.jobs import start_job

sm = snakemake  # noqa: F821 - injected by Snakemake
start_job(sm.log[0])  # before the stage's imports load torch

from freqmaps.stages.shards import gather_maps

gather_maps(shard_paths=list(sm.input.shards), out_path=sm.output.maps)
