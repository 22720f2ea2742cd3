"""How far the cheap measures agree with the learned maps, and which of them recovers planted bands.

Agreement (docs/METHOD.md §4 statistics, through ``freqmaps.stats.compare``) between a baseline B and a map set M
(essential E or adversarial A) at three levels:
- ``image``: the per-image rows, paired by image id;
- ``class_mean``: one row per class, the mean baseline against the mean map (random re-pairing null only:
  with one row per class a within-class null is the identity);
- ``matched``: matched sparsity. A map's support is its entries >= ``SUPPORT``; the baseline keeps its top-m
  entries, m the map's support size on that image, and the two indicator sets are compared (their cosine is
  the share of the baseline's top-m inside the map's support).

Information imbalance reads both ways: Delta(B -> M) at its floor (k + 1) / n means B's neighbourhoods predict
M's, i.e. the map carries nothing the baseline lacks; Delta(B -> M) at its random null means the map carries
information the baseline does not; in between, the asymmetry Delta(B -> M) - Delta(M -> B) against the paired
null of the same re-pairings says which side is richer (see :func:`reading`).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
import torch

from freqmaps import stats
from freqmaps.fourier import dc_index, dc_share, without_dc

SUPPORT = 0.5  # a map entry is in the map's support when it is at least this (masks lie in [0, 1])
LEVELS = ("image", "class_mean", "matched")
ALPHA = 0.05  # p-value below which Delta(B -> M), or the asymmetry, is called different from chance


def support(maps_: torch.Tensor) -> torch.Tensor:
    """The entries a learned map keeps, bool of the same shape."""
    return maps_ >= SUPPORT


def top_m(values: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """Indicator of the m[i] largest entries of each row of ``values`` [N, ...] (ties: the lower index first)."""
    flat = values.flatten(1)
    order = torch.sort(flat, dim=1, descending=True, stable=True).indices
    rank = torch.empty_like(order)
    rank.scatter_(1, order, torch.arange(flat.shape[1]).expand_as(order).contiguous())
    return (rank < m[:, None]).view(values.shape)


def common_channels(baseline: torch.Tensor, learned: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Both sets with the same channel count: a side with several channels is averaged when the other has one."""
    if baseline.shape[1] == learned.shape[1]:
        return baseline, learned
    return baseline.float().mean(1, keepdim=True), learned.float().mean(1, keepdim=True)


def class_means(values: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean of ``values`` over the rows of each class present, and those classes."""
    classes = labels.unique(sorted=True)
    if not len(classes):  # no kept map (an attack that never succeeded): no class to average
        return values.new_zeros((0, *values.shape[1:]), dtype=torch.double), classes
    return torch.stack([values[labels == c].double().mean(0) for c in classes]), classes


def level_inputs(
    level: str, baseline: torch.Tensor, learned: torch.Tensor, labels: torch.Tensor, dc: bool = True
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The two sides and labels a level compares (rows paired). ``dc=False``: matched sparsity leaves the zero
    frequency out of the map's support and of the baseline's top-m."""
    baseline, learned = common_channels(baseline.float(), learned.float())
    if level == "image":
        return baseline, learned, labels
    if level == "class_mean":
        b, classes = class_means(baseline, labels)
        m, _ = class_means(learned, labels)
        return b.float(), m.float(), classes
    if level == "matched":
        kept = support(learned) if dc else without_dc(support(learned))
        scores = baseline
        if not dc:  # DC scores below every other entry, so the top m never reach it
            lowest = -1 - baseline.abs().max() if baseline.numel() else -1.0  # no rows: no kept map to match
            scores = torch.where(without_dc(torch.ones_like(baseline)).bool(), baseline, lowest)
        m = kept.flatten(1).sum(1)
        rows = m > 0  # an empty map has no support to match
        return top_m(scores[rows], m[rows]).float(), kept[rows].float(), labels[rows]
    raise ValueError(f"baselines.levels: unknown level {level!r}; known: {LEVELS}")


def compare_with_map(
    baseline: torch.Tensor,
    learned: torch.Tensor,
    labels: torch.Tensor,
    names: tuple[str, str],
    settings: stats.StatsSettings,
    levels: list[str],
    seed: int,
    device: torch.device,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Rows and null draws of every level between one baseline and one map set (images already paired), the
    zero frequency handled as ``settings.dc`` says (:func:`freqmaps.stats.compare_maps`)."""
    rows, draws = [], []
    for level in levels:
        X, Y, labels_ = level_inputs(level, baseline, learned, labels, dc=settings.dc == "include")
        level_settings = settings
        if level == "class_mean":
            level_settings = replace(settings, nulls=["random"])
        extra: dict[str, Any] = {"level": level}
        if level == "matched":  # near 1: the maps keep almost everything, and matching says little
            extra["support_share"] = float(Y.flatten(1).mean(1).mean()) if len(Y) else math.nan
        if len(X) < 2:
            rows.append({**extra, "statistic": "", "n": len(X), "value": math.nan, "note": f"{len(X)} row(s)"})
            continue
        stream = f"{level}/{names[0]}/{names[1]}"
        result = stats.compare_maps(X, Y, labels_, level_settings, seed, device, "maps", names, stream)
        rows += [{**extra, **row} for row in result.rows]
        draws += [{**extra, **draw} for draw in result.null_draws]
    return rows, draws


MAP_ADDS = ("nothing", "some", "everything")


def _paired_null(draws: list[dict[str, Any]], forward: str, backward: str, k: int) -> np.ndarray:
    """Δ(B→M) − Δ(M→B) of each random re-pairing: both directions of one draw share its re-pairing."""
    of = {
        (d["direction"], int(d["draw"])): float(d["value"])
        for d in draws
        if d.get("statistic") == "information_imbalance" and d.get("null") == "random" and d.get("k") == k
    }
    count = sum(1 for direction, _ in of if direction == forward)
    return np.array([of[(forward, i)] - of[(backward, i)] for i in range(count) if (backward, i) in of])


def adds_at_k(b_to_m: dict[str, Any], m_to_b: dict[str, Any], paired_null: np.ndarray, k: int) -> dict[str, Any]:
    """What the map adds to the baseline at one k (docs/METHOD.md §11).

    ``everything``: Δ(B→M) is not below its random re-pairing null (p ≥ ALPHA): the baseline's neighbourhoods
    say nothing about the map's. ``nothing``: the 95% interval of Δ(B→M) reaches (k + 1) / n, the value of a
    baseline whose k nearest neighbours are the map's own (a copy, or any rank-preserving transform of it).
    ``some`` otherwise; the asymmetry D = Δ(B→M) − Δ(M→B) against its paired null (the same re-pairings'
    differences, two-sided) says which side holds more: ``richer`` is ``baseline``, ``map`` or empty."""
    floor = (k + 1) / int(b_to_m["n"])
    asymmetry = b_to_m["value"] - m_to_b["value"]
    p_asymmetry = math.nan
    if len(paired_null):
        below = (int((paired_null <= asymmetry).sum()) + 1) / (len(paired_null) + 1)
        above = (int((paired_null >= asymmetry).sum()) + 1) / (len(paired_null) + 1)
        p_asymmetry = min(1.0, 2 * min(below, above))
    p = b_to_m.get("random_p_value", math.nan)
    richer = ""
    if not (math.isfinite(p) and p < ALPHA):
        adds = "everything"
    elif b_to_m["ci_low"] <= floor * (1 + 1e-9):
        adds = "nothing"
    else:
        adds = "some"
        if math.isfinite(p_asymmetry) and p_asymmetry < ALPHA:
            richer = "baseline" if asymmetry < np.mean(paired_null) else "map"
    return {
        "k": k,
        "delta_baseline_to_map": b_to_m["value"],
        "delta_baseline_to_map_ci_low": b_to_m["ci_low"],
        "delta_floor": floor,
        "delta_map_to_baseline": m_to_b["value"],
        "p_baseline_to_map": p,
        "asymmetry": asymmetry,
        "p_asymmetry": p_asymmetry,
        "richer": richer,
        "map_adds": adds,
    }


def reading(rows: list[dict[str, Any]], names: tuple[str, str], draws: list[dict[str, Any]] | None = None) -> dict:
    """What the information imbalance of one (baseline, map, level) says, over every configured k.

    Per k, :func:`adds_at_k`; ``map_adds`` is the common answer when every k agrees, else ``depends on k``
    with each k's answer in ``map_adds_per_k``. The columns of the smallest k are reported beside. Empty when
    the information imbalance was not computed; ``draws`` are the level's null draws (for the paired null).
    """
    forward, backward = f"{names[0]}_to_{names[1]}", f"{names[1]}_to_{names[0]}"
    imbalance = [r for r in rows if r["statistic"] == "information_imbalance" and not r.get("note")]
    if not imbalance:
        return {"k": None, "delta_baseline_to_map": None, "delta_map_to_baseline": None, "map_adds": ""}
    per_k = []
    for k in sorted({int(r["k"]) for r in imbalance}):
        by_direction = {r["direction"]: r for r in imbalance if int(r["k"]) == k}
        null = _paired_null(draws or [], forward, backward, k)
        per_k.append(adds_at_k(by_direction[forward], by_direction[backward], null, k))
    answers = {row["map_adds"] for row in per_k}
    out = dict(per_k[0])
    out["map_adds"] = answers.pop() if len(answers) == 1 else "depends on k"
    out["map_adds_per_k"] = "; ".join(f"k={row['k']}: {row['map_adds']}" for row in per_k)
    return out


# ------------------------------------------------------------------ planted bands (synthetic datasets)
def band_recovery(
    values: torch.Tensor, chosen: torch.Tensor, bands: torch.Tensor, classes: torch.Tensor
) -> dict[str, float]:
    """Precision and recall of one measure against the planted bands.

    ``values`` [N, C, H, W] (shifted), ``chosen`` bool [N, H, W] the entries the measure keeps (a map's
    support, a baseline's top-m), ``bands`` bool [K, H, W], ``classes`` [N] the class whose band each image
    should use. Precision: the share of the non-DC L1 mass (``mass_in_band``) and of the chosen entries other
    than DC (``chosen_in_band``) inside the band; recall: the share of the band chosen per image, and by the
    union of a class's images (``recall_class``, averaged over classes). ``band_area`` is what an indifferent
    measure scores on ``mass_in_band``. The zero frequency is in no band and every map keeps it; it is left
    out of both precisions (as in :func:`freqmaps.synthetic.band_mass`) and its share of the L1 mass is
    ``dc_share``; ``chosen_dc`` is the share of images whose chosen entries include it.
    """
    region = bands[classes]
    row, column = dc_index(*values.shape[-2:])
    chosen_dc = chosen[:, row, column]
    chosen = without_dc(chosen)
    mass = without_dc(values.double().abs().sum(1))
    in_band = (chosen & region).flatten(1).sum(1).double()
    area = region.flatten(1).sum(1).double()
    per_class = []
    for c in classes.unique():
        union = chosen[classes == c].any(0)
        per_class.append(float((union & bands[c]).sum() / bands[c].sum()))
    return {
        "n_images": len(values),
        "band_area": float((area / region[0].numel()).mean()),
        "mass_in_band": float(((mass * region).flatten(1).sum(1) / mass.flatten(1).sum(1).clamp(min=1e-300)).mean()),
        "chosen_in_band": float((in_band / chosen.flatten(1).sum(1).clamp(min=1)).mean()),
        "recall_image": float((in_band / area).mean()),
        "recall_class": sum(per_class) / len(per_class),
        "chosen_mean": float(chosen.flatten(1).sum(1).double().mean()),
        "dc_share": float(dc_share(values).mean()),
        "chosen_dc": float(chosen_dc.double().mean()),
    }
