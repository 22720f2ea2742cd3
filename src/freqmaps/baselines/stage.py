"""The baselines stage of the workflow: plain paths and settings in, result files out (one function per rule).

Per-image baselines are stored like the maps: shifted spectra [N, C, H, W] under the baseline's name, with the
image ids (rows of the configured test images, as in the map files), labels and targets beside them.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict
from typing import Any

import torch

from freqmaps import maps, stats
from freqmaps.baselines import agreement, measures
from freqmaps.baselines.files import baseline_file, kept_maps, rows_of
from freqmaps.classifier import analysed_images, load_frozen_classifier
from freqmaps.config import setting
from freqmaps.data import head
from freqmaps.fourier import dc_index, without_dc
from freqmaps.io import load_tensors, read_json, save_tensors, sidecar_path, write_csv, write_json
from freqmaps.runtime import provenance, resolve_device, seed_everything

log = logging.getLogger(__name__)

MAP_KINDS = {"essential": "E", "adversarial": "A"}  # map set -> its name in the statistics' directions


def heat_map(
    *,
    dataset: str,
    data_cfg: dict[str, Any],
    weights_path,
    heat_map_cfg: dict[str, Any],
    seed: int,
    device: str,
    out_path,
    figure_path,
) -> None:
    """The model's Fourier heat map on the first ``n_images`` configured test images (error rate, loss change),
    and its figure."""
    from freqmaps.baselines.figures import heat_map_figure

    settings = measures.HeatMapSettings(**heat_map_cfg)
    seed_everything(seed)
    classifier = load_frozen_classifier(dataset=dataset, data_cfg=data_cfg, weights_path=weights_path, device=device)
    model, dev = classifier.model, classifier.device
    data = head(analysed_images(dataset, data_cfg, weights_path)[0], settings.n_images)
    started = time.time()
    result = measures.fourier_heat_map(model, data.floats(), data.labels, settings, dev, seed)
    seconds = time.time() - started
    log.info("Fourier heat map of %d images in %.1f s", len(data), seconds)
    meta = {"n_images": len(data), "seconds": seconds, **provenance(dev, seed, asdict(settings))}
    save_tensors(out_path, result, meta)
    write_json(sidecar_path(out_path), meta)
    heat_map_figure(out_path, figure_path)


def per_image(
    *,
    scope: str,
    names: list[str],
    dataset: str,
    data_cfg: dict[str, Any],
    weights_path,
    map_cfg: dict[str, Any],
    seed: int,
    device: str,
    out_path,
    attack_path=None,
) -> None:
    """Every configured per-image baseline of one scope (``clean``: the configured test images; ``attack``: the
    images of one attack file) for all images, ids 0..N-1 as in the map files."""
    wanted = measures.of_scope(scope, names)
    seed_everything(seed)
    classifier = load_frozen_classifier(dataset=dataset, data_cfg=data_cfg, weights_path=weights_path, device=device)
    model, dev = classifier.model, classifier.device
    if scope == "attack":
        tensors, _ = load_tensors(attack_path)
        inputs = measures.BaselineInputs(
            tensors["clean"], tensors["labels"], tensors["adversarial"], tensors["adversarial_labels"]
        )
    else:
        data, _ = analysed_images(dataset, data_cfg, weights_path)  # the images of the map files, same ids
        inputs = measures.BaselineInputs(data.floats(), data.labels)
    settings = maps.MapSettings.from_config(map_cfg)
    out: dict[str, torch.Tensor] = {}
    seconds: dict[str, float] = {}
    for name in wanted:
        started = time.time()
        out.update(measures.per_image_baselines([name], model, inputs, settings, dev))
        seconds[name] = time.time() - started
    out["ids"] = torch.arange(len(inputs.clean))
    out["labels"] = inputs.labels
    out["targets"] = (inputs.labels if inputs.adversarial_labels is None else inputs.adversarial_labels).clone()
    meta = {"scope": scope, "baselines": wanted, "seconds": seconds, **provenance(dev, seed, asdict(settings))}
    save_tensors(out_path, out, meta)
    write_json(sidecar_path(out_path), meta)


def agreement_tables(
    *,
    essential_path,
    adversarial_path,
    baseline_paths: list,
    heat_map_path,
    stats_cfg: dict[str, Any],
    baseline_cfg: dict[str, Any],
    seed: int,
    device: str,
    table_path,
    draws_path,
    threads: int | None = None,
) -> None:
    """Every per-image baseline against the essential and the adversarial maps of one attack, at every level,
    each statistic with its nulls; a reading per (baseline, map, level); the heat map's Pearson correlation with
    the mean kept maps."""
    started = time.time()
    if threads is not None:  # the threads the job was given, not every core of a shared node
        torch.set_num_threads(threads)
    dev = resolve_device(device)
    section = {"baselines": baseline_cfg}  # its own statistics, nulls and k; schema defaults: what the reading uses
    own = {key: setting(section, "baselines", key) for key in ("statistics", "nulls", "k")}
    settings = stats.StatsSettings(**{**stats_cfg, **own})
    levels = setting(section, "baselines", "levels")
    learned = {"essential": kept_maps(essential_path), "adversarial": kept_maps(adversarial_path)}
    rows, draws, readings = [], [], []
    for path in baseline_paths:
        tensors, meta = load_tensors(path)
        for name in meta["baselines"]:
            for kind, data in learned.items():
                names = ("B", MAP_KINDS[kind])
                index = rows_of(tensors, data["ids"])
                labels = data["labels"]
                extra = {"baseline": name, "map": kind}
                found, null_draws = agreement.compare_with_map(
                    tensors[name][index], data["maps"], labels, names, settings, levels, seed, dev
                )
                rows += [{**extra, **row} for row in found]
                draws += [{**extra, **draw} for draw in null_draws]
                for level in levels:
                    level_rows = [r for r in found if r["level"] == level]
                    level_draws = [d for d in null_draws if d["level"] == level]
                    readings.append({**extra, "level": level, **agreement.reading(level_rows, names, level_draws)})
                log.info("%s against %s maps: %d rows", name, kind, len(found))
    if heat_map_path:
        heat, _ = load_tensors(heat_map_path)
        for kind, data in learned.items():
            mean_map = data["maps"].double().mean((0, 1)).flatten()
            value = stats.pearson_per_image(heat["error_rate"].flatten()[None], mean_map[None]).item()
            rows.append(
                {
                    "baseline": "fourier_heat_map",
                    "map": kind,
                    "level": "model",
                    "statistic": "pearson",
                    "n": 1,
                    "value": value if math.isfinite(value) else math.nan,
                    "note": "one heat map per model against the mean kept map: no null",
                }
            )
    write_csv(table_path, rows)
    write_csv(draws_path, draws)
    write_json(
        sidecar_path(table_path),
        {
            "essential": str(essential_path),
            "adversarial": str(adversarial_path),
            "readings": readings,
            "rows": rows,
            "seconds": time.time() - started,
            **provenance(dev, seed, {"stats": stats_cfg, "baselines": baseline_cfg}),
        },
    )


def summarise(*, runs: list[dict[str, Any]], sidecars: list, out_path) -> None:
    """One reading per (dataset, model, seed, attack, baseline, map, level) across the config, with the
    cosine at that level beside it (the heat map: its Pearson correlation with the mean kept map): where the
    learned maps add to a cheap measure and where they do not. ``runs[i]`` names the dataset, model, seed and
    attack of ``sidecars[i]`` (the workflow passes both in the same order)."""
    if len(runs) != len(sidecars):
        raise ValueError(f"{len(runs)} runs but {len(sidecars)} agreement tables")
    out = []
    for run, sidecar in zip(runs, sidecars, strict=True):
        where = {key: run[key] for key in ("dataset", "model", "seed", "attack")}
        record = read_json(sidecar)
        cosine = {
            (r["baseline"], r["map"], r["level"]): r["value"] for r in record["rows"] if r.get("statistic") == "cosine"
        }
        support = {
            (r["baseline"], r["map"], r["level"]): r["support_share"] for r in record["rows"] if "support_share" in r
        }
        for reading in record["readings"]:
            key = (reading["baseline"], reading["map"], reading["level"])
            share = support.get(key)
            out.append({**where, **reading, "cosine": cosine.get(key), "support_share": share})
        out += [
            {**where, "baseline": r["baseline"], "map": r["map"], "level": r["level"], "pearson": r["value"]}
            for r in record["rows"]
            if r["level"] == "model"
        ]
    write_csv(out_path, out)


def known_answer(
    *,
    dataset: str,
    data_cfg: dict[str, Any],
    weights_path,
    essential_path,
    adversarial_paths: dict[str, str],
    clean_baselines_path,
    attack_baseline_paths: dict[str, str],
    heat_map_path,
    device: str,
    out_path,
    blank_confidence: float = 0.5,
) -> None:
    """Which measure recovers the planted bands: learned maps and every baseline, one table (precision, recall).

    Clean-image measures and essential maps are judged against the true class's band, attacked-image measures
    and adversarial maps against the adversarial class's band; a baseline keeps its top-m entries per image,
    m the support of the learned map of the same kind on that image. The zero frequency (in no band) is left
    out of the supports, the top-m and the mass (docs/METHOD.md §4.1); its share is a column. Images of the
    class the model gives the empty image are left out, as in the known-answer check of the maps.
    """
    from freqmaps.known_answer import NO_BLANK, blank_class, planted_bands, require_planted_bands

    require_planted_bands(dataset, data_cfg)
    classifier = load_frozen_classifier(dataset=dataset, data_cfg=data_cfg, weights_path=weights_path, device=device)
    bands = planted_bands(dataset, data_cfg, classifier.info.num_classes, classifier.info.size)
    blank = blank_class(classifier, blank_confidence)
    rows = []

    def judge(measure: str, attack: str, learned: dict[str, torch.Tensor], baselines: dict | None, band: str) -> None:
        classes = learned["labels"] if band == "true" else learned["targets"]
        use = classes != blank
        data = {key: value[use] for key, value in learned.items()}
        chosen = without_dc(agreement.support(data["maps"]).any(1))  # DC is in no band: judged apart
        where = {"attack": attack, "band": band}
        rows.append({"measure": measure, **where, **agreement.band_recovery(data["maps"], chosen, bands, classes[use])})
        m = chosen.flatten(1).sum(1)
        for name in (baselines or {}).get("names", []):
            values = baselines["tensors"][name][rows_of(baselines["tensors"], data["ids"])]
            scores = values.double().abs().sum(1)
            scores[(..., *dc_index(*scores.shape[-2:]))] = -1.0  # the top m among the non-DC entries
            top = agreement.top_m(scores, m)
            rows.append({"measure": name, **where, **agreement.band_recovery(values, top, bands, classes[use])})

    essential = kept_maps(essential_path)
    clean = baseline_file(clean_baselines_path)
    if heat_map_path:
        heat, _ = load_tensors(heat_map_path)
        clean["tensors"]["fourier_heat_map"] = heat["error_rate"].expand(len(clean["tensors"]["ids"]), 1, -1, -1)
        clean["names"].append("fourier_heat_map")
    judge("essential_maps", "", essential, clean, "true")
    for attack, path in adversarial_paths.items():
        judge("adversarial_maps", attack, kept_maps(path), baseline_file(attack_baseline_paths[attack]), "adversarial")
    write_csv(out_path, rows)
    write_json(
        sidecar_path(out_path),
        {"blank_class": None if blank == NO_BLANK else blank, "rows": rows, **provenance(classifier.device, None)},
    )
