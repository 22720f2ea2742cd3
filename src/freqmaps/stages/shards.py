"""Sharded stages' common parts: the scatter item, merging shards in image order, and the map shards' gather
(workflow rules `gather_essential_maps`, `gather_adversarial_maps`)."""

from __future__ import annotations

from pathlib import Path

import torch

from freqmaps.io import load_tensors, save_tensors, sidecar_path, write_json
from freqmaps.outcomes import OUTCOMES


def parse_shard(scatteritem: str) -> tuple[int, int]:
    """Snakemake's scatter item '2-of-8' -> (2, 8)."""
    try:
        index, total = (int(p) for p in scatteritem.split("-of-"))
    except ValueError as err:
        raise ValueError(f"shard {scatteritem!r} is not of the form 'i-of-n'") from err
    if not 1 <= index <= total:
        raise ValueError(f"shard {scatteritem!r}: i must lie in 1..n")
    return index, total


PROVENANCE_KEYS = (
    "seed",
    "device",
    "device_name",
    "deterministic_algorithms",
    "versions",
    "git_commit",
    "settings",
    "config_hash",
)


def merge_shards(shard_paths: list[str | Path], keys: tuple[str, ...] | None = None):
    """Load shards and concatenate their tensors (all, or ``keys``) in image-id order; also return their metadata."""
    parts, metas = zip(*(load_tensors(p) for p in shard_paths), strict=True)
    merged = {key: torch.cat([p[key] for p in parts]) for key in (keys or parts[0])}
    order = merged["ids"].argsort()
    return {key: value[order] for key, value in merged.items()}, parts, metas


def gather_maps(*, shard_paths: list[str | Path], out_path: str | Path) -> None:
    """Merge shards into one file per (model, kind) with the outcome of every configured image."""
    keys = ("maps", "ids", "targets", "labels", "steps", "outcome", "final_loss")
    merged, parts, metas = merge_shards(shard_paths, keys)
    selection = parts[0]["selection"].clone()
    selection[merged["ids"]] = merged["outcome"]
    merged["selection"] = selection
    counts = {name: int((selection == code).sum()) for code, name in enumerate(OUTCOMES)}
    engine = [m["engine"] for m in metas]
    meta = {key: metas[0][key] for key in ("kind", *PROVENANCE_KEYS)}
    meta.update(
        {
            "outcomes": counts,
            "shards": len(parts),
            "n_images": len(selection),
            # a shard with no admitted image ran no engine: it adds no steps and no time
            "image_steps": sum(e.get("image_steps", 0) for e in engine),
            "seconds": sum(e.get("seconds", 0.0) for e in engine),
        }
    )
    save_tensors(out_path, merged, meta)
    write_json(sidecar_path(out_path), meta)
