"""The attack stage: attack one shard of the analysed images, and merge the shards (workflow rules `attack`,
`gather_attack`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from freqmaps import attacks
from freqmaps.classifier import analysed_images, load_frozen_classifier
from freqmaps.config import setting
from freqmaps.data.selection import test_selection
from freqmaps.io import save_tensors, sidecar_path, write_json
from freqmaps.runtime import fitted_seed, peak_memory_mb, provenance, seed_everything, stream_seed
from freqmaps.stages.shards import PROVENANCE_KEYS, merge_shards, parse_shard


def attack(
    *,
    dataset: str,
    data_cfg: dict[str, Any],
    weights_path: str | Path,
    attack_name: str,
    attack_cfg: dict[str, Any],
    shard: str,
    seed: int,
    device: str,
    out_path: str | Path,
) -> None:
    """Attack one shard of the configured test images; store clean/adversarial images, labels, success and norms.

    ``ids`` number the configured test images (0..n-1), ``test_ids`` are their indices in the test split.
    """
    index, total = parse_shard(shard)
    stream = stream_seed(seed, index)
    seed_everything(stream)  # each shard its own reproducible random stream (PGD starts)
    data, test_ids = analysed_images(dataset, data_cfg, weights_path)
    ids = torch.arange(len(data)).tensor_split(total)[index - 1]
    classifier = load_frozen_classifier(dataset=dataset, data_cfg=data_cfg, weights_path=weights_path, device=device)
    model, dev = classifier.model, classifier.device
    backend = setting({"attacks": {attack_name: attack_cfg}}, "attacks", attack_name, "backend")
    params = attack_cfg.get("params", {})
    tensors, metrics = attacks.run_attack(
        model, data.subset(ids), attack_cfg["method"], params, dev, backend=backend, seed=fitted_seed(stream, 31)
    )
    tensors["ids"], tensors["test_ids"] = ids, test_ids[ids]
    meta = {
        "attack": attack_name,
        "shard": shard,
        "selection": test_selection(dataset, data_cfg),  # how the analysed test images were chosen (run.csv)
        "metrics": metrics,
        "peak_memory_mb": peak_memory_mb(dev),
        **provenance(dev, seed, attack_cfg),
    }
    save_tensors(out_path, tensors, meta)


def gather_attack(*, shard_paths: list[str | Path], out_path: str | Path) -> None:
    """Merge attack shards into one file per (model, attack) and a sidecar with the metrics of all images."""
    merged, parts, metas = merge_shards(shard_paths)
    first = metas[0]
    seconds = sum(m["metrics"]["attack_seconds"] for m in metas)
    done = first["metrics"]
    metrics = attacks.attack_metrics(
        merged, done["method"], done["params"], seconds, done.get("backend", "torchattacks")
    )
    record = {
        "attack": first["attack"],
        "selection": first.get("selection", ""),
        **{key: first[key] for key in PROVENANCE_KEYS},
        **metrics,
        "shards": len(parts),
    }
    save_tensors(out_path, merged, {"attack": first["attack"], "seed": first["seed"], "shards": len(parts)})
    write_json(sidecar_path(out_path), record)
