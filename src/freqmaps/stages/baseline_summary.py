"""The baselines' summary stage: one reading per baseline, map and level across the experiment."""

from __future__ import annotations

from typing import Any

from freqmaps.io import read_json, write_csv


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
