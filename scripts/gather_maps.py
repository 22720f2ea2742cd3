"""Snakemake wrapper: merge map shards (freqmaps.stages.gather_maps)."""

from freqmaps import stages
from freqmaps.runtime import setup_logging

sm = snakemake  # noqa: F821 - injected by Snakemake
setup_logging(sm.log[0])
stages.gather_maps(shard_paths=list(sm.input.shards), out_path=sm.output.maps)
