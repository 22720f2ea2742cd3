"""Snakemake wrapper: merge attack shards (freqmaps.stages.attack.gather_attack)."""

from freqmaps.jobs import start_job

sm = snakemake  # noqa: F821 - injected by Snakemake
start_job(sm.log[0])  # before the stage's imports load torch

from freqmaps.stages.attack import gather_attack

gather_attack(shard_paths=list(sm.input.shards), out_path=sm.output.adversarial)
