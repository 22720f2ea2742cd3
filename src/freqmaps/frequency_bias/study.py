"""Tables and figures across the study's variants, from the files of every (variant, seed)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from freqmaps.config import setting
from freqmaps.fourier import band_energies, low_frequency_share
from freqmaps.frequency_bias.statistics import hierarchical_interval, linear_probe
from freqmaps.io import load_tensors, read_json, write_csv, write_json
from freqmaps.outcomes import KEPT

LOW_FREQUENCY_RADIUS = 0.25  # low-frequency index: energy share within 0.25 * H of the centre
# The files the study reads per variant and seed: the attack's sidecar (accuracies), the dataset-level mask
# (tensors and sidecar), the single-image maps, and the class-level maps' sidecar.
STUDY_INPUTS = ("attack", "dataset_mask", "dataset_mask_sidecar", "image_maps", "class_maps_sidecar")


def input_name(kind: str, variant: str, seed: int) -> str:
    """The name of one of the study's input files (a kind of ``STUDY_INPUTS``) in the workflow's rule."""
    if kind not in STUDY_INPUTS:
        raise ValueError(f"frequency_bias study input: unknown kind {kind!r}; known: {STUDY_INPUTS}")
    return f"{kind}__{variant}__seed{seed}"


def study(
    *, files: Mapping[str, str], variants: list[str], seeds: list[int], settings: dict[str, Any], out: dict[str, str]
) -> None:
    """Tables and figures across variants. ``files`` maps ``input_name(kind, variant, seed)`` to a path for
    every kind of ``STUDY_INPUTS``, variant and seed; ``out`` names the tables, the sidecar and the figures."""
    from freqmaps.frequency_bias import figures

    wanted = [input_name(kind, variant, seed) for variant in variants for seed in seeds for kind in STUDY_INPUTS]
    missing = [name for name in wanted if name not in files]
    if missing:
        raise ValueError(f"frequency_bias study: no file given for the inputs {missing}")
    n_bands = setting({"frequency_bias": settings}, "frequency_bias", "n_bands")
    n_bootstrap = setting({"frequency_bias": settings}, "frequency_bias", "n_bootstrap")
    rows, bands, per_variant, galleries = [], [], {}, {}
    for variant in variants:
        lfi_images, radial_d, angular_d, radial_i, angular_i = [], [], [], [], []
        for seed in sorted(seeds):
            paths = {kind: files[input_name(kind, variant, seed)] for kind in STUDY_INPUTS}
            attack = read_json(paths["attack"])
            mask_tensors, _ = load_tensors(paths["dataset_mask"])
            galleries.setdefault(variant, mask_tensors)  # the first seed's mask and gallery for the figures
            mask_record = read_json(paths["dataset_mask_sidecar"])
            image_tensors, _ = load_tensors(paths["image_maps"])
            class_record = read_json(paths["class_maps_sidecar"])
            kept = image_tensors["outcome"] == KEPT
            image_maps = image_tensors["maps"][kept]
            lfi = low_frequency_share(image_maps, LOW_FREQUENCY_RADIUS).numpy()
            lfi_images.append(lfi)
            dataset_shifted = mask_tensors["shifted"][None]
            r, a = band_energies(dataset_shifted, n_bands)
            radial_d.append(r.mean(1)[0])
            angular_d.append(a.mean(1)[0])
            if kept.any():
                r, a = band_energies(image_maps, n_bands)
                radial_i.append(r.mean(1).mean(0))
                angular_i.append(a.mean(1).mean(0))
            rows.append(
                {
                    "variant": variant,
                    "seed": seed,
                    "clean_accuracy": attack["clean_accuracy"],
                    "attacked_accuracy": attack["robust_accuracy"],
                    "attack": attack["attack"],
                    "unmasked_accuracy": mask_record["unmasked_accuracy"],
                    "masked_accuracy": mask_record["masked_accuracy"],
                    "complement_accuracy": mask_record["complement_accuracy"],
                    "mask_density": mask_record["density"],
                    "accuracy_rule_met": float(mask_record["accuracy_rule_met"]),
                    "dataset_mask_low_frequency_index": float(
                        low_frequency_share(dataset_shifted, LOW_FREQUENCY_RADIUS)[0]
                    ),
                    "image_maps_kept": int(kept.sum()),
                    "image_maps_low_frequency_index": float(lfi.mean()) if len(lfi) else math.nan,
                    **linear_probe(image_maps, image_tensors["labels"][kept], seed),
                    "class_maps_attacks_reverted": class_record["attacks_reverted"],
                    "class_maps_clean_accuracy_kept": class_record["clean_accuracy_kept"],
                }
            )
        found = any(len(v) for v in lfi_images)
        low, high = hierarchical_interval(lfi_images, n_bootstrap, 0) if found else (math.nan, math.nan)
        per_variant[variant] = {
            "radial_dataset": torch.stack(radial_d).mean(0),
            "angular_dataset": torch.stack(angular_d).mean(0),
            "radial_images": torch.stack(radial_i).mean(0) if radial_i else None,
            "angular_images": torch.stack(angular_i).mean(0) if angular_i else None,
            "lfi_interval": (low, high),
        }
    reference = per_variant["standard"]
    for variant, values in per_variant.items():
        for view in ("radial", "angular"):
            for kind in ("dataset", "images"):
                energy, base = values[f"{view}_{kind}"], reference[f"{view}_{kind}"]
                if energy is None or base is None:
                    continue
                for band in range(n_bands):
                    bands.append(
                        {
                            "variant": variant,
                            "view": view,
                            "masks": kind,
                            "band": band,
                            "energy": float(energy[band]),
                            "difference_to_standard": float(energy[band] - base[band]),
                        }
                    )
    summary = _summarise(rows, per_variant)
    write_csv(out["variants"], summary)
    write_csv(out["per_seed"], rows)
    write_csv(out["bands"], bands)
    write_json(out["sidecar"], {"variants": summary, "per_seed": rows, "low_frequency_radius": LOW_FREQUENCY_RADIUS})
    figures.frequency_bias_masks(galleries, out["masks_png"])
    figures.band_differences(per_variant, out["bands_png"])
    figures.complement_gallery(galleries, out["gallery_png"])
    figures.low_frequency_index(summary, out["lfi_png"])


def _summarise(rows: list[dict], per_variant: dict[str, dict]) -> list[dict]:
    """Mean over seeds per variant (with the seed-to-seed std when there are several seeds)."""
    out = []
    for variant, values in per_variant.items():
        mine = [r for r in rows if r["variant"] == variant]
        row: dict[str, Any] = {"variant": variant, "seeds": len(mine)}
        for key in mine[0]:
            if key in ("variant", "seed", "attack"):
                continue
            column = np.array([r[key] for r in mine], dtype=float)
            row[key] = float(np.nanmean(column)) if not np.isnan(column).all() else math.nan
            if len(mine) > 1:
                row[f"{key}_std"] = float(np.nanstd(column))
        row["attack"] = mine[0]["attack"]
        row["image_maps_lfi_ci_low"], row["image_maps_lfi_ci_high"] = values["lfi_interval"]
        row["lfi_all_pass"] = math.pi * LOW_FREQUENCY_RADIUS**2  # area share of the disc, the no-preference value
        out.append(row)
    return out
