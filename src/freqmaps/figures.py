"""Figures for the report. Maps are shown fftshifted (zero frequency at the centre), averaged over channels."""

from __future__ import annotations

import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from freqmaps import stats  # noqa: E402
from freqmaps.io import atomic_path, load_tensors  # noqa: E402
from freqmaps.maps import KEPT  # noqa: E402


def _save(fig: plt.Figure, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, bbox_inches="tight", format="png")
    plt.close(fig)


def _show_image(ax: plt.Axes, image: torch.Tensor) -> None:
    image = image.float().clamp(0, 1)
    if image.shape[0] == 1:
        ax.imshow(image[0].numpy(), cmap="gray", vmin=0, vmax=1)
    else:
        ax.imshow(image.permute(1, 2, 0).numpy())
    ax.set_axis_off()


def _show_map(ax: plt.Axes, mask: torch.Tensor) -> plt.Artist:
    ax.set_axis_off()
    return ax.imshow(mask.float().mean(0).numpy(), cmap="viridis", vmin=0, vmax=1)


def class_mean_maps(essential: dict, adversarial: dict, class_names: tuple[str, ...], path: str | Path) -> None:
    """Mean kept essential (top) and adversarial (bottom) map per true class."""
    n = len(class_names)
    fig, axes = plt.subplots(2, n, figsize=(1.6 * n, 3.6), squeeze=False)
    image = None
    for row, (name, data) in enumerate((("essential", essential), ("adversarial", adversarial))):
        kept = data["outcome"] == KEPT
        for c in range(n):
            ax = axes[row, c]
            members = kept & (data["labels"] == c)
            if members.any():
                image = _show_map(ax, data["maps"][members].mean(0))
                ax.set_title(
                    f"{class_names[c]}\n(n={int(members.sum())})" if row == 0 else f"n={int(members.sum())}", fontsize=7
                )
            else:
                ax.set_axis_off()
                ax.set_title("no maps", fontsize=7)
        axes[row, 0].text(-0.15, 0.5, name, transform=axes[row, 0].transAxes, rotation=90, va="center", ha="right")
    if image is not None:
        fig.colorbar(image, ax=axes, shrink=0.6, label="mask value")
    _save(fig, path)


def examples(
    attack: dict, essential: dict, adversarial: dict, class_names: tuple[str, ...], path: str | Path, count: int = 6
) -> None:
    """Images that have both maps kept: clean image, essential map, adversarial image, adversarial map."""
    e_rows = {int(i): r for r, i in enumerate(essential["ids"]) if essential["outcome"][r] == KEPT}
    a_rows = {int(i): r for r, i in enumerate(adversarial["ids"]) if adversarial["outcome"][r] == KEPT}
    ids = sorted(set(e_rows) & set(a_rows))[:count]
    fig, axes = plt.subplots(max(len(ids), 1), 4, figsize=(7, 1.8 * max(len(ids), 1)), squeeze=False)
    if not ids:
        for ax in axes.flat:
            ax.set_axis_off()
        axes[0, 0].text(0, 0.5, "no image has both maps kept", transform=axes[0, 0].transAxes)
    for row, image_id in enumerate(ids):
        label = class_names[int(attack["labels"][image_id])]
        adv_label = class_names[int(attack["adversarial_labels"][image_id])]
        _show_image(axes[row, 0], attack["clean"][image_id])
        axes[row, 0].set_title(f"#{image_id}: {label}", fontsize=7)
        _show_map(axes[row, 1], essential["maps"][e_rows[image_id]])
        axes[row, 1].set_title("essential map", fontsize=7)
        _show_image(axes[row, 2], attack["adversarial"][image_id])
        axes[row, 2].set_title(f"attacked: {adv_label}", fontsize=7)
        _show_map(axes[row, 3], adversarial["maps"][a_rows[image_id]])
        axes[row, 3].set_title("adversarial map", fontsize=7)
    _save(fig, path)


def cosine_against_nulls(
    per_image_csv: str | Path, essential: dict, adversarial: dict, seed: int, path: str | Path
) -> None:
    """Histogram of true-pair cosines against one random and one within-class re-pairing."""
    with open(per_image_csv) as handle:
        rows = list(csv.DictReader(handle))
    fig, ax = plt.subplots(figsize=(5, 3.2))
    if rows and "cosine" in rows[0]:
        ids = [int(r["id"]) for r in rows]
        e_index = {int(i): r for r, i in enumerate(essential["ids"])}
        a_index = {int(i): r for r, i in enumerate(adversarial["ids"])}
        E = stats.features(essential["maps"][[e_index[i] for i in ids]])
        A = stats.features(adversarial["maps"][[a_index[i] for i in ids]])
        labels = torch.tensor([int(r["label"]) for r in rows])
        generator = torch.Generator().manual_seed(seed)
        true = np.array([float(r["cosine"]) for r in rows])
        bins = np.linspace(min(0.0, true.min()), 1, 40)
        for kind, colour in (("random", "grey"), ("within_class", "tab:orange")):
            perm = stats.repairings(labels, kind, 1, generator)[0]
            null = stats.cosine_per_image(E, A[perm]).numpy()
            ax.hist(null, bins=bins, alpha=0.5, color=colour, label=f"{kind.replace('_', ' ')} null")
        ax.hist(true, bins=bins, alpha=0.7, color="tab:blue", label=f"true pairs (mean {true.mean():.3f})")
        ax.legend(fontsize=7)
    else:
        ax.text(0.5, 0.5, "cosine not computed", ha="center")
    ax.set_xlabel("cosine similarity of essential and adversarial map")
    ax.set_ylabel("images")
    _save(fig, path)


def band_profiles(essential: dict, adversarial: dict, path: str | Path, n_bands: int = 64) -> None:
    """Mean radial and angular band energy of kept essential and adversarial maps (with +-1 std)."""
    from freqmaps.fourier import band_energies

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    for name, data, colour in (("essential", essential, "tab:blue"), ("adversarial", adversarial, "tab:red")):
        kept = data["outcome"] == KEPT
        if not kept.any():
            continue
        radial, angular = band_energies(data["maps"][kept], n_bands)
        for ax, energy in zip(axes, (radial.mean(1), angular.mean(1)), strict=True):
            mean, std = energy.mean(0).numpy(), energy.std(0).numpy()
            x = np.arange(n_bands)
            ax.plot(x, mean, color=colour, label=f"{name} (n={int(kept.sum())})")
            ax.fill_between(x, mean - std, mean + std, color=colour, alpha=0.2)
    axes[0].set_xlabel(f"radial band (0 = zero frequency, {n_bands - 1} = corner)")
    axes[1].set_xlabel("angular band (-pi to pi)")
    for ax in axes:
        ax.set_ylabel("band energy (L2, normalised map)")
        ax.legend(fontsize=7)
    _save(fig, path)


def map_figures(
    class_names: list[str],
    essential_path: str | Path,
    adversarial_path: str | Path,
    attack_path: str | Path,
    per_image_csv: str | Path,
    seed: int,
    class_means_png: str | Path,
    examples_png: str | Path,
    cosine_png: str | Path,
    bands_png: str | Path,
    n_bands: int = 64,
) -> None:
    """All per-attack figures of one model."""
    names = tuple(class_names)
    essential, _ = load_tensors(essential_path)
    adversarial, _ = load_tensors(adversarial_path)
    attack, _ = load_tensors(attack_path)
    class_mean_maps(essential, adversarial, names, class_means_png)
    examples(attack, essential, adversarial, names, examples_png)
    cosine_against_nulls(per_image_csv, essential, adversarial, seed, cosine_png)
    band_profiles(essential, adversarial, bands_png, n_bands)


def information_imbalance_plane(table_paths: list[str | Path], attacks: list[str], path: str | Path) -> None:
    """Δ(E→A) against Δ(A→E) per attack and k with 95% intervals, and the null means as open markers."""
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot([0, 1.1], [0, 1.1], color="lightgrey", lw=1)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for index, (table, attack) in enumerate(zip(table_paths, attacks, strict=True)):
        with open(table) as handle:
            rows = {
                (r["direction"], int(r["k"])): r
                for r in csv.DictReader(handle)
                if r.get("view", "maps") == "maps" and r["statistic"] == "information_imbalance" and r["value"] != "nan"
            }
        ks = sorted({k for direction, k in rows if direction == "E_to_A" and ("A_to_E", k) in rows})
        for k in ks:
            ea, ae = rows[("E_to_A", k)], rows[("A_to_E", k)]
            marker = "o" if k == ks[0] else "s"
            colour = colours[index % len(colours)]
            ax.scatter(float(ea["value"]), float(ae["value"]), color=colour, marker=marker, label=f"{attack}, k={k}")
            if ea.get("ci_low") and ae.get("ci_low"):  # 95% half-sample intervals of both directions
                x, y = float(ea["value"]), float(ae["value"])
                x_err = [[max(0.0, x - float(ea["ci_low"]))], [max(0.0, float(ea["ci_high"]) - x)]]
                y_err = [[max(0.0, y - float(ae["ci_low"]))], [max(0.0, float(ae["ci_high"]) - y)]]
                ax.errorbar(x, y, xerr=x_err, yerr=y_err, color=colour, lw=0.8, capsize=2)
            for kind, style in (("random", "none"), ("within_class", "none")):
                if f"{kind}_null_mean" in ea:
                    ax.scatter(
                        float(ea[f"{kind}_null_mean"]),
                        float(ae[f"{kind}_null_mean"]),
                        facecolors=style,
                        edgecolors=colour,
                        marker=marker if kind == "random" else "^",
                        s=40,
                    )
    ax.set_xlim(0, 1.1)
    ax.set_ylim(0, 1.1)
    ax.set_xlabel("Δ(E→A): essential maps predicting adversarial neighbourhoods")
    ax.set_ylabel("Δ(A→E)")
    ax.set_title("bars: 95% intervals; open: random null; triangles: within-class null", fontsize=7)
    ax.legend(fontsize=7, loc="lower right")
    _save(fig, path)


HEADLINE = (  # (statistic, direction, k) as in the statistics table
    ("cosine", "", ""),
    ("idcor", "", ""),
    ("information_imbalance", "E_to_A", "1"),
    ("information_imbalance", "A_to_E", "1"),
)


def null_histograms(table_csv: str | Path, null_draws_csv: str | Path, path: str | Path) -> None:
    """Each headline statistic (maps view) against the histogram of its null draws."""

    def key(row: dict[str, str]) -> tuple[str, str, str]:
        return row["statistic"], row["direction"], row["k"]

    with open(table_csv) as handle:
        rows = {key(r): r for r in csv.DictReader(handle) if r["view"] == "maps" and key(r) in HEADLINE}
    draws: dict[tuple[str, str, str, str], list[float]] = {}
    with open(null_draws_csv) as handle:
        for r in csv.DictReader(handle):
            if r["view"] == "maps" and key(r) in HEADLINE:
                draws.setdefault((*key(r), r["null"]), []).append(float(r["value"]))
    names = [name for name in HEADLINE if name in rows]
    fig, axes = plt.subplots(1, max(len(names), 1), figsize=(3.2 * max(len(names), 1), 2.8), squeeze=False)
    for ax, name in zip(axes[0], names, strict=False):
        row = rows[name]
        for kind, colour in (("random", "grey"), ("within_class", "tab:orange")):
            if draws.get((*name, kind)):
                ax.hist(
                    draws[(*name, kind)],
                    bins=20,
                    color=colour,
                    alpha=0.6,
                    label=f"{kind.replace('_', ' ')} (p={float(row[f'{kind}_p_value']):.3f})",
                )
        ax.axvline(float(row["value"]), color="tab:blue", lw=2, label="observed")
        statistic, direction, k = name
        title = f"Δ {direction.replace('_', ' ')} k{k}" if direction else statistic
        ax.set_title(title, fontsize=8)
        ax.legend(fontsize=6)
    _save(fig, path)


# ------------------------------------------------------------------ frequency-bias study ([P1])
def frequency_bias_masks(galleries: dict[str, dict], path: str | Path) -> None:
    """Dataset-level mask of each variant (top) and its difference to the standard model's (bottom)."""
    variants = list(galleries)
    fig, axes = plt.subplots(2, len(variants), figsize=(2.0 * len(variants), 4.2), squeeze=False)
    base = galleries["standard"]["shifted"].float().mean(0)
    largest = max(float((g["shifted"].float().mean(0) - base).abs().max()) for g in galleries.values())
    scale = max(largest, 1e-6)
    for column, variant in enumerate(variants):
        mask = galleries[variant]["shifted"].float().mean(0)
        image = _show_map(axes[0, column], mask[None])
        axes[0, column].set_title(variant, fontsize=8)
        difference = axes[1, column].imshow((mask - base).numpy(), cmap="RdBu_r", vmin=-scale, vmax=scale)
        axes[1, column].set_axis_off()
    axes[0, 0].text(-0.1, 0.5, "mask", transform=axes[0, 0].transAxes, rotation=90, va="center", ha="right")
    axes[1, 0].text(-0.1, 0.5, "minus standard", transform=axes[1, 0].transAxes, rotation=90, va="center", ha="right")
    fig.colorbar(image, ax=axes[0].tolist(), shrink=0.8)
    fig.colorbar(difference, ax=axes[1].tolist(), shrink=0.8)
    _save(fig, path)


def band_differences(per_variant: dict[str, dict], path: str | Path) -> None:
    """Radial and angular band energy of each variant minus the standard model's (dataset masks solid,
    mean single-image masks dashed)."""
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
                label = f"{variant} ({'dataset mask' if kind == 'dataset' else 'image masks'})"
                ax.plot((energy - reference).numpy(), style, color=colours[i % len(colours)], label=label)
    axes[0].set_xlabel("radial band (0 = zero frequency)")
    axes[1].set_xlabel("angular band (-pi to pi)")
    for ax in axes:
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_ylabel("band energy minus standard")
    axes[1].legend(fontsize=6, ncol=2)
    _save(fig, path)


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
                _show_image(axes[row, 3 * i + j], data[key][i] if j == 0 else _stretched(data[key][i]))
                if row == 0:
                    axes[row, 3 * i + j].set_title(("image", "masked", "complement")[j], fontsize=7)
        axes[row, 0].text(-0.1, 0.5, variant, transform=axes[row, 0].transAxes, rotation=90, va="center", ha="right")
    _save(fig, path)


def low_frequency_index(summary: list[dict], path: str | Path) -> None:
    """Low-frequency index per variant: single-image masks (mean, 95% interval over images and seeds) and the
    dataset-level mask; the dotted line is the all-pass value."""
    fig, ax = plt.subplots(figsize=(1.0 + 0.9 * len(summary), 3.2))
    x = np.arange(len(summary))
    means = np.array([r["image_masks_low_frequency_index"] for r in summary])
    low = np.array([r["image_masks_lfi_ci_low"] for r in summary])
    high = np.array([r["image_masks_lfi_ci_high"] for r in summary])
    ax.bar(x, means, color="tab:blue", alpha=0.7, label="image masks (95% CI)")
    ax.errorbar(x, means, yerr=[means - low, high - means], fmt="none", color="black", capsize=3)
    ax.plot(x, [r["dataset_mask_low_frequency_index"] for r in summary], "D", color="tab:red", label="dataset mask")
    ax.axhline(summary[0]["lfi_all_pass"], color="grey", ls=":", label="all-pass mask")
    ax.set_xticks(x, [r["variant"] for r in summary], rotation=30, fontsize=8)
    ax.set_ylabel("energy share at radius <= H/4")
    ax.legend(fontsize=7)
    _save(fig, path)


# ------------------------------------------------------------------ known-answer validation
def planted_and_learned(
    bands: torch.Tensor, essential: dict, adversarial: dict[str, dict], class_names: tuple[str, ...], path: str | Path
) -> None:
    """Planted band of each class (top), the class-mean kept essential map (middle), and for each attack the
    mean kept adversarial map by adversarial class (bottom rows)."""
    n = len(bands)
    rows = 2 + len(adversarial)
    fig, axes = plt.subplots(rows, n, figsize=(1.7 * n, 1.8 * rows), squeeze=False)
    for c in range(n):
        _show_map(axes[0, c], bands[c][None].float())
        axes[0, c].set_title(class_names[c], fontsize=8)
        for row, (data, key) in enumerate([(essential, "labels")] + [(a, "targets") for a in adversarial.values()]):
            ax = axes[row + 1, c]
            members = (data["outcome"] == KEPT) & (data[key] == c)
            if members.any():
                _show_map(ax, data["maps"][members].mean(0))
                ax.set_title(f"n={int(members.sum())}", fontsize=7)
            else:
                ax.set_axis_off()
    names = ["planted", "essential"] + [f"adversarial\n({a})" for a in adversarial]
    for row, name in enumerate(names):
        axes[row, 0].text(-0.15, 0.5, name, transform=axes[row, 0].transAxes, rotation=90, va="center", ha="right")
    _save(fig, path)
