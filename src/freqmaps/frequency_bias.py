"""The frequency-bias study of [P1] (METHOD.md §6) and the class-level maps of [P2] (§5), as stages.

Per (variant model, seed): a dataset-level mask with the invariance loss, single-image masks with the
[P1] objective, and class-level maps with the undo-the-attack evaluation. Across variants: one table of
accuracies (clean, attacked, masked, complement), band energies and their differences against the
standard model, a low-frequency index with confidence intervals over images and seeds, and a linear
classifier on the single-image masks with a scrambled-label control.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from freqmaps import maps
from freqmaps.data import dataset_info, head, load_dataset, select_test_images
from freqmaps.fourier import apply_mask, band_energies, full_spectrum, low_frequency_share, shifted
from freqmaps.io import load_tensors, read_json, save_tensors, write_csv, write_json
from freqmaps.models import freeze
from freqmaps.runtime import provenance, resolve_device, seed_everything
from freqmaps.shared_masks import ClassMapSettings, DatasetMaskSettings, class_level_maps, dataset_level_mask
from freqmaps.training import VARIANTS, load_classifier, predict

MODEL_PREFIX = "bias_"  # the study's models are named bias_<variant>
LOW_FREQUENCY_RADIUS = 0.25  # low-frequency index: energy share within 0.25 * H of the centre
GALLERY = 6  # images in the masked / complement gallery
STUDY_INPUTS = ("model", "attack", "dataset_mask", "image_masks", "class_maps")  # files per variant and seed


def variant_models(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The study's model entries: one shared recipe, each variant's own settings on top of it."""
    study = config.get("frequency_bias")
    if not study:
        return {}
    models = {}
    for variant, extra in study["variants"].items():
        if variant not in VARIANTS:
            raise ValueError(f"frequency_bias.variants: unknown variant {variant!r}; known: {VARIANTS}")
        name = MODEL_PREFIX + variant
        if name in config.get("models", {}):
            raise ValueError(f"models.{name}: this name is reserved for the frequency_bias variant {variant!r}")
        models[name] = {"arch": study["arch"], "train": {**study.get("train", {}), **(extra or {}), "variant": variant}}
    if "standard" not in study["variants"]:
        raise ValueError("frequency_bias.variants: needs 'standard', the model every difference is taken against")
    return models


def _model_and_data(dataset: str, data_cfg: dict[str, Any], weights_path, device: str):
    dev = resolve_device(device)
    test, _ = select_test_images(dataset, data_cfg)  # the images the main experiment analyses
    return dev, freeze(load_classifier(weights_path, test.info, dev)), test


def _full_shifted(mask: torch.Tensor, parameterisation: str, width: int) -> torch.Tensor:
    return shifted(full_spectrum(mask, parameterisation, width))


# ------------------------------------------------------------------ stages per (variant, seed)
def dataset_mask_stage(
    dataset: str, data_cfg: dict, weights_path, mask_cfg: dict, seed: int, device: str, out_path
) -> None:
    """One invariance-loss mask for the whole dataset; accuracy unmasked, masked, and under its complement."""
    cfg = dict(mask_cfg)
    n_train = cfg.pop("n_train_images", None)
    settings = DatasetMaskSettings(**cfg)
    generator = seed_everything(seed)
    dev, model, test = _model_and_data(dataset, data_cfg, weights_path, device)
    train = head(load_dataset(dataset, "train", data_cfg), n_train)
    result = dataset_level_mask(
        model, train.floats(), train.labels, test.floats(), test.labels, settings, dev, generator
    )
    mask = result["mask"][None].to(dev)
    complement = 1.0 - (mask > settings.zero).float()  # [P1]: 1 - 1[M > 1e-8]
    images = test.floats()
    complement_predictions = predict(model, apply_mask(images.to(dev), complement, settings.parameterisation), dev)
    gallery = images[:GALLERY].to(dev)
    tensors = {
        "mask": result["mask"].cpu(),
        "shifted": _full_shifted(result["mask"], settings.parameterisation, images.shape[-1]).cpu(),
        "gallery": gallery.cpu(),
        "gallery_masked": apply_mask(gallery, mask, settings.parameterisation).cpu(),  # not clamped: the
        "gallery_complement": apply_mask(gallery, complement, settings.parameterisation).cpu(),  # filter's output
    }
    record = {
        "unmasked_accuracy": result["unmasked_accuracy"],
        "masked_accuracy": result["masked_accuracy"],
        "complement_accuracy": (complement_predictions == test.labels).double().mean().item(),
        "density": (result["mask"] > settings.zero).double().mean().item(),
        "saved_epoch": result["saved_epoch"],
        "accuracy_rule_met": result["saved_epoch"] is not None,  # else the mask is the last epoch's
        "epochs_run": len(result["history"]),
        "history": result["history"],
        **provenance(dev, seed, {**asdict(settings), "n_train_images": n_train}),
    }
    save_tensors(out_path, tensors, {"seed": seed})
    write_json(Path(out_path).with_suffix(".json"), record)


def image_masks_stage(
    dataset: str, data_cfg: dict, weights_path, map_cfg: dict, seed: int, device: str, out_path
) -> None:
    """[P1] single-image masks (invariance loss, the model's own prediction as target) of the first test images."""
    cfg = {"objective": "invariance", "parameterisation": "shared", **map_cfg}
    n_images = cfg.pop("n_images", None)
    settings = maps.MapSettings(**cfg)
    seed_everything(seed)
    dev, model, test = _model_and_data(dataset, data_cfg, weights_path, device)
    test = head(test, n_images)
    images = test.floats()
    targets = predict(model, images, dev)
    result = maps.learn_maps(model, images, targets, settings, dev, test.info.num_classes)
    tensors = {
        "maps": _full_shifted(result.masks, settings.parameterisation, images.shape[-1]).cpu(),
        "labels": test.labels,
        "targets": targets,
        "steps": result.steps,
        "outcome": result.outcome,
    }
    record = {"kept": int((result.outcome == maps.KEPT).sum()), "n_images": len(test), "engine": result.stats}
    save_tensors(out_path, tensors, {"seed": seed})
    write_json(Path(out_path).with_suffix(".json"), {**record, **provenance(dev, seed, asdict(settings))})


def class_maps_stage(
    dataset: str, data_cfg: dict, weights_path, attack_path, class_cfg: dict, seed: int, device: str, out_path
) -> None:
    """[P2] class-level maps from one attack's images, and how many attacks they undo."""
    settings = ClassMapSettings(**class_cfg)
    seed_everything(seed)
    dev = resolve_device(device)
    info = dataset_info(dataset, data_cfg)  # the images come from the attack file
    model = freeze(load_classifier(weights_path, info, dev))
    attack, _ = load_tensors(attack_path)
    result = class_level_maps(
        model,
        attack["clean"],
        attack["labels"],
        attack["adversarial"],
        attack["adversarial_labels"],
        info.num_classes,
        settings,
        dev,
    )
    width = attack["clean"].shape[-1]
    tensors = {
        "maps": _full_shifted(result["masks"], settings.parameterisation, width).cpu(),
        "iterations": result["iterations"],
        "n_adversarial": result["n_adversarial"],
        "n_clean": result["n_clean"],
    }
    keys = ("attacks_reverted", "clean_accuracy_kept", "n_attacked", "n_correct")
    record = {key: result[key] for key in keys}
    save_tensors(out_path, tensors, {"seed": seed})
    write_json(Path(out_path).with_suffix(".json"), {**record, **provenance(dev, seed, asdict(settings))})


# ------------------------------------------------------------------ the study across variants
def linear_probe(masks: torch.Tensor, labels: torch.Tensor, seed: int, test_fraction: float = 0.3) -> dict[str, float]:
    """Logistic regression from flattened masks to the class, and the same with scrambled training labels."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    X, y = masks.flatten(1).double().numpy(), labels.numpy()
    counts = np.bincount(y)
    stratify = y if (counts[counts > 0] >= 2).all() else None
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_fraction, random_state=seed, stratify=stratify
    )
    scrambled = np.random.default_rng(seed).permutation(y_train)
    out = {"probe_n_train": len(y_train), "probe_n_test": len(y_test)}
    for name, target in (("probe_accuracy", y_train), ("probe_scrambled_accuracy", scrambled)):
        if len(np.unique(target)) < 2:
            out[name] = math.nan
            continue
        classifier = LogisticRegression(max_iter=2000).fit(X_train, target)
        out[name] = float((classifier.predict(X_test) == y_test).mean())
    return out


def hierarchical_interval(
    values_per_seed: list[np.ndarray], n: int, seed: int, level: float = 0.95
) -> tuple[float, float]:
    """Percentile interval of the mean: resample seeds, then images within each drawn seed."""
    rng = np.random.default_rng(seed)
    means = []
    for _ in range(n):
        drawn = [values_per_seed[i] for i in rng.integers(0, len(values_per_seed), len(values_per_seed))]
        means.append(np.mean(np.concatenate([v[rng.integers(0, len(v), len(v))] for v in drawn if len(v)])))
    return float(np.quantile(means, (1 - level) / 2)), float(np.quantile(means, (1 + level) / 2))


def study(inputs: dict[str, dict[int, dict[str, str]]], settings: dict[str, Any], out: dict[str, str]) -> None:
    """Tables and figures across variants. ``inputs[variant][seed]`` holds the paths of ``model``, ``attack``
    (sidecar), ``dataset_mask``, ``image_masks`` and ``class_maps`` (sidecars are the .json next to files)."""
    from freqmaps import figures

    n_bands = settings.get("n_bands", 64)
    n_bootstrap = settings.get("n_bootstrap", 1000)
    rows, bands, per_variant, galleries = [], [], {}, {}
    for variant, seeds in inputs.items():
        lfi_images, radial_d, angular_d, radial_i, angular_i = [], [], [], [], []
        for seed, paths in sorted(seeds.items()):
            attack = read_json(paths["attack"])
            mask_tensors, _ = load_tensors(paths["dataset_mask"])
            galleries.setdefault(variant, mask_tensors)  # the first seed's mask and gallery for the figures
            mask_record = read_json(Path(paths["dataset_mask"]).with_suffix(".json"))
            image_tensors, _ = load_tensors(paths["image_masks"])
            class_record = read_json(Path(paths["class_maps"]).with_suffix(".json"))
            kept = image_tensors["outcome"] == maps.KEPT
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
                    "image_masks_kept": int(kept.sum()),
                    "image_masks_low_frequency_index": float(lfi.mean()) if len(lfi) else math.nan,
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
        row["image_masks_lfi_ci_low"], row["image_masks_lfi_ci_high"] = values["lfi_interval"]
        row["lfi_all_pass"] = math.pi * LOW_FREQUENCY_RADIUS**2  # area share of the disc, the no-preference value
        out.append(row)
    return out


def study_paths(variants: list[str], seeds: list[int], files: dict[str, list[str]]) -> dict[str, dict[int, dict]]:
    """Regroup the workflow's flat input lists (variant-major, then seed) as ``paths[variant][seed][kind]``."""
    out: dict[str, dict[int, dict]] = {}
    for v, variant in enumerate(variants):
        for s, seed in enumerate(seeds):
            out.setdefault(variant, {})[seed] = {kind: paths[v * len(seeds) + s] for kind, paths in files.items()}
    return out
