"""One function per workflow stage: plain paths and settings in, result files out.

The Snakemake scripts call exactly one of these; tests and users can call them without Snakemake.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from freqmaps import attacks, maps, stats
from freqmaps.classifier import load_frozen_classifier
from freqmaps.config import setting
from freqmaps.data import ImageSet, dataset_info, load_dataset, select_test_images
from freqmaps.fourier import shifted
from freqmaps.io import (
    ResultFileError,
    atomic_path,
    load_tensors,
    save_tensors,
    sidecar_path,
    write_csv,
    write_json,
)
from freqmaps.models import ModelSpec, model_input_spec
from freqmaps.outcomes import ATTACK_FAILED, KEPT, MISCLASSIFIED_CLEAN, OUTCOMES, both_kept
from freqmaps.runtime import fitted_seed, peak_memory_mb, provenance, resolve_device, seed_everything, stream_seed
from freqmaps.training import (
    TRAINING_MODES,
    TrainSettings,
    classifier_input_spec,
    predict,
    save_classifier,
    train_classifier,
)

log = logging.getLogger(__name__)


def train(
    *,
    dataset: str,
    data_cfg: dict[str, Any],
    model_cfg: dict[str, Any],
    seed: int,
    device: str,
    weights_path: str | Path,
) -> None:
    """Prepare one classifier as its training mode says (train it, its head, or nothing) and save it with its
    metrics, source, weights hash and input."""
    settings = TrainSettings(arch=model_cfg["arch"], **model_cfg.get("train", {}))
    spec = ModelSpec.from_config(model_cfg)
    generator = seed_everything(seed)
    dev = resolve_device(device)
    size = model_input_spec(spec, dataset_info(dataset, data_cfg)).size  # images at the model's resolution
    test_set = load_dataset(dataset, "test", data_cfg, size)
    trains = TRAINING_MODES[settings.mode].trainable is not None
    train_set = load_dataset(dataset, "train", data_cfg, size) if trains else test_set
    model, metrics = train_classifier(train_set, test_set, settings, dev, generator, spec)
    save_classifier(
        model, weights_path, info=test_set.info, settings=settings, metrics=metrics, device=dev, seed=seed, spec=spec
    )


def analysed_images(dataset: str, data_cfg: dict[str, Any], weights_path: str | Path) -> tuple[ImageSet, torch.Tensor]:
    """The configured test images (and their ids in the test split) at the resolution of the classifier saved at
    ``weights_path``, so that attacks and masks act on exactly the image the model sees."""
    size = classifier_input_spec(weights_path, dataset_info(dataset, data_cfg)).size
    return select_test_images(dataset, data_cfg, size)


def parse_shard(scatteritem: str) -> tuple[int, int]:
    """Snakemake's scatter item '2-of-8' -> (2, 8)."""
    try:
        index, total = (int(p) for p in scatteritem.split("-of-"))
    except ValueError as err:
        raise ValueError(f"shard {scatteritem!r} is not of the form 'i-of-n'") from err
    if not 1 <= index <= total:
        raise ValueError(f"shard {scatteritem!r}: i must lie in 1..n")
    return index, total


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
        "metrics": metrics,
        "peak_memory_mb": peak_memory_mb(dev),
        **provenance(dev, seed, attack_cfg),
    }
    save_tensors(out_path, tensors, meta)


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


def _merge_shards(shard_paths: list[str | Path], keys: tuple[str, ...] | None = None):
    """Load shards and concatenate their tensors (all, or ``keys``) in image-id order; also return their metadata."""
    parts, metas = zip(*(load_tensors(p) for p in shard_paths), strict=True)
    merged = {key: torch.cat([p[key] for p in parts]) for key in (keys or parts[0])}
    order = merged["ids"].argsort()
    return {key: value[order] for key, value in merged.items()}, parts, metas


def gather_attack(*, shard_paths: list[str | Path], out_path: str | Path) -> None:
    """Merge attack shards into one file per (model, attack) and a sidecar with the metrics of all images."""
    merged, parts, metas = _merge_shards(shard_paths)
    first = metas[0]
    seconds = sum(m["metrics"]["attack_seconds"] for m in metas)
    done = first["metrics"]
    metrics = attacks.attack_metrics(
        merged, done["method"], done["params"], seconds, done.get("backend", "torchattacks")
    )
    record = {
        "attack": first["attack"],
        **{key: first[key] for key in PROVENANCE_KEYS},
        **metrics,
        "shards": len(parts),
    }
    save_tensors(out_path, merged, {"attack": first["attack"], "seed": first["seed"], "shards": len(parts)})
    write_json(sidecar_path(out_path), record)


def _admitted(
    kind: str, dataset: str, data_cfg: dict[str, Any], weights_path, model, dev, attack_path: str | Path | None
):
    """Images, targets, true labels and ids the method admits, and the outcome of every configured image."""
    if kind == "essential":
        data, _ = analysed_images(dataset, data_cfg, weights_path)
        images, labels = data.floats(), data.labels
        correct = predict(model, images, dev) == labels
        selection = torch.where(correct, KEPT, MISCLASSIFIED_CLEAN)
        targets = labels
    elif kind == "adversarial":
        if attack_path is None:
            raise ValueError("adversarial maps need the attack file")
        tensors, _ = load_tensors(attack_path)
        images, labels, targets = tensors["adversarial"], tensors["labels"], tensors["adversarial_labels"]
        correct = tensors["clean_predictions"] == labels
        selection = torch.where(correct, torch.where(tensors["success"], KEPT, ATTACK_FAILED), MISCLASSIFIED_CLEAN)
    else:
        raise ValueError(f"map kind must be 'essential' or 'adversarial', not {kind!r}")
    ids = (selection == KEPT).nonzero().squeeze(1)
    return images, targets, labels, ids, selection


def learn_maps_shard(
    *,
    kind: str,
    dataset: str,
    data_cfg: dict[str, Any],
    weights_path: str | Path,
    map_cfg: dict[str, Any],
    shard: str,
    seed: int,
    device: str,
    out_path: str | Path,
    attack_path: str | Path | None = None,
) -> None:
    """Learn the per-image maps of one shard of the admitted images (docs/METHOD.md §2)."""
    settings = maps.MapSettings(**{k: v for k, v in map_cfg.items() if k != "shards"})
    index, total = parse_shard(shard)
    seed_everything(seed)
    classifier = load_frozen_classifier(dataset=dataset, data_cfg=data_cfg, weights_path=weights_path, device=device)
    model, dev, info = classifier.model, classifier.device, classifier.info
    images, targets, labels, ids, selection = _admitted(kind, dataset, data_cfg, weights_path, model, dev, attack_path)
    mine = ids.tensor_split(total)[index - 1]
    log.info(
        "%s maps, shard %d of %d: %d of %d admitted images (of %d configured)",
        kind,
        index,
        total,
        len(mine),
        len(ids),
        len(selection),
    )
    result = maps.learn_maps(model, images[mine], targets[mine], settings, dev, info.num_classes)
    tensors = {
        "maps": shifted(result.masks),
        "ids": mine,
        "targets": targets[mine],
        "labels": labels[mine],
        "steps": result.steps,
        "outcome": result.outcome,
        "final_loss": result.final_loss,
        "selection": selection,
    }
    meta = {
        "kind": kind,
        "shard": shard,
        "engine": result.stats,
        "peak_memory_mb": peak_memory_mb(dev),
        **provenance(dev, seed, asdict(settings)),
    }
    save_tensors(out_path, tensors, meta)
    log.info("%s shard %s: %s", kind, shard, result.stats)


def gather_maps(*, shard_paths: list[str | Path], out_path: str | Path) -> None:
    """Merge shards into one file per (model, kind) with the outcome of every configured image."""
    keys = ("maps", "ids", "targets", "labels", "steps", "outcome", "final_loss")
    merged, parts, metas = _merge_shards(shard_paths, keys)
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


def kept_pairs(essential_path: str | Path, adversarial_path: str | Path) -> dict[str, torch.Tensor]:
    """Rows of E and A for the images that have both a kept essential and a kept adversarial map."""
    (essential, e_meta), (adversarial, a_meta) = load_tensors(essential_path), load_tensors(adversarial_path)
    ids, e_idx, a_idx = both_kept(essential, adversarial)
    if not len(ids):
        raise ResultFileError(
            f"{essential_path} and {adversarial_path} share no image with both maps kept: nothing to correlate "
            "(too few images, no successful attack, or maps dropped: see the 'outcomes' in their sidecars)"
        )
    return {
        "ids": ids,
        "essential": essential["maps"][e_idx],
        "adversarial": adversarial["maps"][a_idx],
        "labels": essential["labels"][e_idx],
        "adversarial_labels": adversarial["targets"][a_idx],
        "at_max_steps": {  # share of the pairs whose map stopped at max_steps, not converged (§2)
            f"{kind}_at_max_steps": _at_max_steps(maps_.get("steps"), idx, meta)
            for kind, maps_, meta, idx in (
                ("essential", essential, e_meta, e_idx),
                ("adversarial", adversarial, a_meta, a_idx),
            )
        },
    }


def _at_max_steps(steps: torch.Tensor | None, rows: torch.Tensor, meta: dict[str, Any]) -> float:
    """Share of the given maps whose optimisation hit ``max_steps`` (NaN when the file records no steps or
    settings)."""
    max_steps = meta.get("settings", {}).get("max_steps")
    if steps is None or max_steps is None or not len(rows):
        return math.nan
    return float((steps[rows] > max_steps).double().mean())


def correlate(
    *,
    essential_path: str | Path,
    adversarial_path: str | Path,
    stats_cfg: dict[str, Any],
    seed: int,
    device: str,
    table_path: str | Path,
    per_image_path: str | Path,
    null_draws_path: str | Path,
    threads: int | None = None,
) -> None:
    """Every configured statistic between E and A, each against its nulls: a flat table (``view`` then the
    columns of :func:`freqmaps.stats.compare`), the null draws in long format, per-image values and a sidecar."""
    started = time.time()
    if threads is not None:  # the threads the job was given, not every core of a shared node
        torch.set_num_threads(threads)
    dev = resolve_device(device)
    pairs = kept_pairs(essential_path, adversarial_path)
    settings = stats.StatsSettings(**stats_cfg)
    rows, draws, details, per_image = [], [], {}, []
    for number, view in enumerate(settings.views, 1):
        log.info("statistics, view %d of %d (%s): %d image pairs", number, len(settings.views), view, len(pairs["ids"]))
        result = stats.compare_maps(
            pairs["essential"], pairs["adversarial"], pairs["labels"], settings, seed, dev, view
        )
        for row in result.rows:
            note = row.pop("note")
            rows.append({"view": view, **row, **pairs["at_max_steps"], "note": note})
        draws += [{"view": view, **draw} for draw in result.null_draws]
        details[view] = result.details
        if view == "maps":
            per_image = result.per_image
        log.info("view %s done after %.1f s", view, time.time() - started)
    write_csv(table_path, rows)
    write_csv(null_draws_path, draws)
    write_csv(
        per_image_path,
        [
            {"id": int(i), "label": int(y), "adversarial_label": int(a), **vals}
            for i, y, a, vals in zip(pairs["ids"], pairs["labels"], pairs["adversarial_labels"], per_image, strict=True)
        ],
    )
    write_json(
        sidecar_path(table_path),
        {
            "essential": str(essential_path),
            "adversarial": str(adversarial_path),
            "n_pairs": len(pairs["ids"]),
            "details": details,
            "seconds": time.time() - started,
            **provenance(dev, seed, stats_cfg),
        },
    )


def summarise(
    *,
    runs: list[dict[str, Any]],
    table_paths: list[str | Path],
    null_draws_paths: list[str | Path],
    summary_path: str | Path,
    all_draws_path: str | Path,
    verdict_path: str | Path,
    verdict_html: str | Path,
    min_pairs: int = 1,
    verdict_md: str | Path | None = None,
) -> None:
    """The run's tables: every statistic (summary), every null draw (long), and the verdict (CSV and HTML).

    ``runs[i]`` names the dataset, model, seed and attack of ``table_paths[i]`` and ``null_draws_paths[i]``;
    rows with fewer than ``min_pairs`` pairs read undetermined (``stats.min_pairs``). ``verdict_md``: the
    headline per dataset, model and attack and the table, in Markdown (the HTML page opens with the same).
    """
    from freqmaps import verdict

    if not len(runs) == len(table_paths) == len(null_draws_paths):
        raise ValueError(f"{len(runs)} runs but {len(table_paths)} tables and {len(null_draws_paths)} null-draw tables")
    summary, draws = [], []
    for run, table, draw_table in zip(runs, table_paths, null_draws_paths, strict=True):
        keys = {key: run[key] for key in verdict.RUN_KEYS if key != "view"}
        summary += [{**keys, **row} for row in verdict.read_table(table)]
        draws += [{**keys, **row} for row in verdict.read_table(draw_table)]
    rows = verdict.verdict_rows(summary, verdict.null_draw_counts(draws), min_pairs)
    for row in rows:
        if "undetermined" in row["reading"] or "caveat" in row["reading"]:
            where = "/".join(str(row[key]) for key in ("dataset", "model", "seed", "attack", "view", "statistic"))
            log.warning("%s %s%s: %s", where, row["direction"], f" k={row['k']}" if row["k"] else "", row["reading"])
    write_csv(summary_path, summary)
    write_csv(all_draws_path, draws)
    write_csv(verdict_path, rows)
    with atomic_path(verdict_html) as tmp:
        tmp.write_text(
            verdict.html_page(
                "Verdict: are essential and adversarial maps related beyond chance?",
                verdict.VERDICT_DOC,
                [("Verdict", verdict.rendered_verdict(rows)), ("Every statistic (summary.csv)", summary)],
                verdict.headlines(rows, min_pairs),
            )
        )
    if verdict_md is not None:
        with atomic_path(verdict_md) as tmp:
            tmp.write_text(verdict.verdict_markdown(rows, min_pairs))
    write_json(
        sidecar_path(summary_path),
        {
            "columns": verdict.SUMMARY_DOC,
            "verdict": verdict.VERDICT_DOC,
            "tables": [str(t) for t in table_paths],
            "rows": len(summary),
            **provenance("cpu", None),
        },
    )


def run_facts(
    *,
    runs: list[dict[str, Any]],
    model_sidecars: list[str | Path],
    attack_sidecars: list[str | Path],
    essential_paths: list[str | Path],
    adversarial_paths: list[str | Path],
    table_path: str | Path,
    html_path: str | Path,
) -> None:
    """What ran: per model and attack, clean accuracy, attack success and robust accuracy, how many maps were
    kept or dropped and why, and the versions and git commits the results came from."""
    from freqmaps import verdict
    from freqmaps.io import read_json

    rows, provenances = [], {}
    for run, model_json, attack_json, e_path, a_path in zip(
        runs, model_sidecars, attack_sidecars, essential_paths, adversarial_paths, strict=True
    ):
        model_meta, attack_meta = read_json(model_json), read_json(attack_json)
        row = {key: run[key] for key in ("dataset", "model", "seed", "attack")}
        row.update(
            {
                "arch": model_meta["arch"],
                "test_accuracy": model_meta["test_accuracy"],
                "n_images": attack_meta["n_images"],
                "clean_accuracy": attack_meta["clean_accuracy"],
                "attack_success_rate": attack_meta["success_rate"],
                "robust_accuracy": attack_meta["robust_accuracy"],
                "augmentation_override": model_meta.get("augmentation_override", ""),
            }
        )
        for kind, path in (("essential", e_path), ("adversarial", a_path)):
            row.update(maps_outcomes(kind, path))
        rows.append(row)
        for meta in (model_meta, attack_meta):
            provenances[(meta.get("git_commit"), str(sorted(meta.get("versions", {}).items())))] = meta
    versions = [
        {"git_commit": commit or "unknown", **meta.get("versions", {})} for (commit, _), meta in provenances.items()
    ]
    write_csv(table_path, rows)
    with atomic_path(html_path) as tmp:
        tmp.write_text(
            verdict.html_page(
                "What ran",
                RUN_FACTS_DOC,
                [("Models, attacks and maps", rows), ("Versions and git commit of the results", versions)],
            )
        )


RUN_FACTS_DOC = (
    "One row per dataset, model (its architecture), seed and attack. test_accuracy: the model on the whole test "
    "set; n_images: the first test images attacked and mapped; clean_accuracy: on those images; "
    "attack_success_rate: share of correctly classified images the attack flipped; robust_accuracy: accuracy on "
    "the attacked images. Maps per kind (essential, adversarial): kept, and dropped because the clean image was "
    "misclassified, the attack failed, the masked image lost its target class, or the loss was NaN; "
    "stopped_at_max_steps counts kept maps whose optimisation hit max_steps before converging; dc_share is the "
    "mean share of a kept map's L1 mass at the zero frequency (DC, docs/METHOD.md §4.1); augmentation_override "
    "warns when the model's base_augmentation replaced the dataset's own training augmentation."
)


def maps_outcomes(kind: str, path: str | Path) -> dict[str, int]:
    """How many of the configured images a maps file kept, dropped per reason, and stopped at max_steps."""
    tensors, meta = load_tensors(path)
    counts = {f"{kind}_{name}": int((tensors["selection"] == code).sum()) for code, name in enumerate(OUTCOMES)}
    kept = tensors["outcome"] == KEPT
    max_steps = meta["settings"]["max_steps"]
    counts[f"{kind}_stopped_at_max_steps"] = int((kept & (tensors["steps"] > max_steps)).sum())
    counts[f"{kind}_dc_share"] = float(stats.dc_share(tensors["maps"][kept]).mean()) if kept.any() else math.nan
    return counts
