"""Figures of the frequency-bias study ([P1], docs/METHOD.md §6): the variants' dataset masks, band-energy
differences, complement galleries and low-frequency index."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from matplotlib.colors import Normalize

from freqmaps.plotting import SIGNED_CMAP, label_frequency_axes, plt, save_figure, show_image, show_map, show_spectrum


def frequency_bias_masks(galleries: dict[str, dict], path: str | Path) -> None:
    """Dataset-level mask of each variant (top) and its difference to the standard model's (bottom)."""
    variants = list(galleries)
    fig, axes = plt.subplots(
        2, len(variants), figsize=(2.2 * len(variants) + 1.4, 4.6), squeeze=False, sharex=True, sharey=True
    )
    base = galleries["standard"]["shifted"].float().mean(0)
    largest = max(float((g["shifted"].float().mean(0) - base).abs().max()) for g in galleries.values())
    scale = max(largest, 1e-6)
    for column, variant in enumerate(variants):
        mask = galleries[variant]["shifted"].float().mean(0)
        image = show_map(axes[0, column], mask[None], frequency_axes=True)
        axes[0, column].set_title(variant, fontsize=8)
        difference = show_spectrum(axes[1, column], (mask - base).numpy(), SIGNED_CMAP, Normalize(-scale, scale))
    for row, name in enumerate(("mask", "minus standard")):
        axes[row, 0].annotate(name, (-0.6, 0.5), xycoords="axes fraction", rotation=90, va="center", ha="right")
    label_frequency_axes(axes)
    fig.colorbar(image, ax=axes[0].tolist(), shrink=0.8)
    fig.colorbar(difference, ax=axes[1].tolist(), shrink=0.8)
    save_figure(fig, path)


def band_differences(per_variant: dict[str, dict], path: str | Path) -> None:
    """Radial and angular band energy of each variant minus the standard model's (dataset masks solid,
    mean single-image maps dashed)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    base = per_variant["standard"]
    for i, (variant, values) in enumerate(per_variant.items()):
        if variant == "standard":
            continue
        for ax, view in zip(axes, ("radial", "angular"), strict=True):
            for kind, style in (("dataset", "-"), ("images", "--")):
                energy, reference = values[f"{view}_{kind}"], base[f"{view}_{kind}"]
                if energy is None or reference is None:
                    continue
                label = f"{variant} ({'dataset mask' if kind == 'dataset' else 'image maps'})"
                ax.plot((energy - reference).numpy(), style, color=colours[i % len(colours)], label=label)
    axes[0].set_xlabel("radial band (0 = zero frequency)")
    axes[1].set_xlabel("angular band (-pi to pi)")
    for ax in axes:
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_ylabel("band energy minus standard")
    axes[1].legend(fontsize=6, ncol=2)
    save_figure(fig, path)


def _stretched(image: torch.Tensor) -> torch.Tensor:
    """An image scaled to [0, 1] by its own range (a complement-filtered image has no mean brightness)."""
    low, high = image.min(), image.max()
    return (image - low) / (high - low).clamp(min=1e-12)


def complement_gallery(galleries: dict[str, dict], path: str | Path, count: int = 3) -> None:
    """Per variant: images, the images under the dataset mask, and under its complement 1 - 1[M > 0]
    (filtered images shown scaled to their own range)."""
    variants = list(galleries)
    fig, axes = plt.subplots(len(variants), 3 * count, figsize=(1.2 * 3 * count, 1.3 * len(variants)), squeeze=False)
    for row, variant in enumerate(variants):
        data = galleries[variant]
        for i in range(min(count, len(data["gallery"]))):
            for j, key in enumerate(("gallery", "gallery_masked", "gallery_complement")):
                show_image(axes[row, 3 * i + j], data[key][i] if j == 0 else _stretched(data[key][i]))
                if row == 0:
                    axes[row, 3 * i + j].set_title(("image", "masked", "complement")[j], fontsize=7)
        axes[row, 0].text(-0.1, 0.5, variant, transform=axes[row, 0].transAxes, rotation=90, va="center", ha="right")
    save_figure(fig, path)


def low_frequency_index(summary: list[dict], path: str | Path) -> None:
    """Low-frequency index per variant: single-image maps (mean, 95% interval over images and seeds) and the
    dataset-level mask; the dotted line is the all-pass value."""
    fig, ax = plt.subplots(figsize=(1.0 + 0.9 * len(summary), 3.2))
    x = np.arange(len(summary))
    means = np.array([r["image_maps_low_frequency_index"] for r in summary])
    low = np.array([r["image_maps_lfi_ci_low"] for r in summary])
    high = np.array([r["image_maps_lfi_ci_high"] for r in summary])
    ax.bar(x, means, color="tab:blue", alpha=0.7, label="image maps (95% CI)")
    ax.errorbar(x, means, yerr=[means - low, high - means], fmt="none", color="black", capsize=3)
    ax.plot(x, [r["dataset_mask_low_frequency_index"] for r in summary], "D", color="tab:red", label="dataset mask")
    ax.axhline(summary[0]["lfi_all_pass"], color="grey", ls=":", label="all-pass mask")
    ax.set_xticks(x, [r["variant"] for r in summary], rotation=30, fontsize=8)
    ax.set_ylabel("energy share at radius <= H/4")
    ax.legend(fontsize=7)
    save_figure(fig, path)
