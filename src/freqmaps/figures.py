"""Figures for the report of the main experiment: class-mean maps, examples, the cosine against its nulls,
band profiles, the information-imbalance plane, null histograms, and the known-answer figure. Maps are shown
fftshifted (zero frequency at the centre), averaged over channels."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from freqmaps import stats
from freqmaps.fourier import band_energies, radial_band_edges
from freqmaps.io import load_tensors, read_csv
from freqmaps.outcomes import KEPT, both_kept
from freqmaps.plotting import MAP_FLOOR, label_frequency_axes, log_norm, plt, show_image, show_map
from freqmaps.plotting import save_figure as _save  # a module name of its own: tests capture what is saved


def class_mean_maps(essential: dict, adversarial: dict, class_names: tuple[str, ...], path: str | Path) -> None:
    """Mean kept essential (top) and adversarial (bottom) map per true class, on a log colour scale."""
    n = len(class_names)
    fig, axes = plt.subplots(2, n, figsize=(1.9 * n + 1.2, 4.6), squeeze=False, sharex=True, sharey=True)
    image = None
    for row, (name, data) in enumerate((("essential", essential), ("adversarial", adversarial))):
        kept = data["outcome"] == KEPT
        for c in range(n):
            ax = axes[row, c]
            members = kept & (data["labels"] == c)
            count = int(members.sum())
            title = f"{class_names[c]} (n={count})" if row == 0 else f"n={count}"
            if members.any():
                image = show_map(ax, data["maps"][members].mean(0), log_norm(), frequency_axes=True)
                ax.set_title(title, fontsize=7)
            else:
                ax.set_axis_off()
                ax.set_title(f"{title}: no maps", fontsize=7)
        axes[row, 0].annotate(
            f"{name} maps", (-0.55, 0.5), xycoords="axes fraction", rotation=90, va="center", ha="right", fontsize=8
        )
    label_frequency_axes(axes)
    if image is not None:
        fig.colorbar(image, ax=axes, shrink=0.7, label=f"mean mask value (log scale, floor {MAP_FLOOR:g})")
    _save(fig, path)


def extreme_images(cosine: dict[int, float], candidates: list[int], count: int) -> list[int]:
    """The ``count`` candidate ids with the highest cosine (highest first), then the ``count`` with the lowest
    (highest of them first), none twice."""
    ranked = sorted((i for i in candidates if i in cosine), key=lambda i: (-cosine[i], i))
    top = ranked[:count]
    return top + [i for i in ranked[-count:] if i not in top]


def examples(
    attack: dict,
    essential: dict,
    adversarial: dict,
    class_names: tuple[str, ...],
    path: str | Path,
    cosine: dict[int, float] | None = None,
    count: int = 3,
) -> None:
    """The ``count`` images with the highest and the lowest per-image cosine of their two maps (or the first
    images with both maps kept when no cosine is given): clean image, essential map, attacked image, adversarial
    map, all maps on one linear 0-1 colour scale."""
    kept_ids, e_index, a_index = both_kept(essential, adversarial)
    both = kept_ids.tolist()
    e_rows, a_rows = (dict(zip(both, index.tolist(), strict=True)) for index in (e_index, a_index))
    ids = extreme_images(cosine, both, count) if cosine else both[: 2 * count]
    rows = max(len(ids), 1)
    fig, axes = plt.subplots(rows, 4, figsize=(11, 2.3 * rows), squeeze=False)
    fig.subplots_adjust(wspace=0.9, hspace=0.7)  # room for the maps' frequency ticks: image and map never touch
    if not ids:
        for ax in axes.flat:
            ax.set_axis_off()
        axes[0, 0].text(0, 0.5, "no image has both maps kept", transform=axes[0, 0].transAxes)
    image = None
    for row, image_id in enumerate(ids):
        label = class_names[int(attack["labels"][image_id])]
        adv_label = class_names[int(attack["adversarial_labels"][image_id])]
        rank = "" if not cosine else ("highest cosine, " if row < min(count, len(ids)) else "lowest cosine, ")
        similarity = f"{rank}cos={cosine[image_id]:.3f}" if cosine else ""
        show_image(axes[row, 0], attack["clean"][image_id])
        axes[row, 0].set_title(f"#{image_id}: {label}\n{similarity}", fontsize=7)
        image = show_map(axes[row, 1], essential["maps"][e_rows[image_id]], frequency_axes=True)
        axes[row, 1].set_title("essential map", fontsize=7)
        axes[row, 1].set_ylabel("cycles/image", fontsize=6)
        show_image(axes[row, 2], attack["adversarial"][image_id])
        axes[row, 2].set_title(f"attacked: {adv_label}", fontsize=7)
        show_map(axes[row, 3], adversarial["maps"][a_rows[image_id]], frequency_axes=True)
        axes[row, 3].set_title("adversarial map", fontsize=7)
        axes[row, 3].tick_params(labelleft=False)  # same frequencies as the essential map beside it
    if image is not None:
        axes[-1, 1].set_xlabel("cycles/image", fontsize=6)
        axes[-1, 3].set_xlabel("cycles/image", fontsize=6)
        fig.colorbar(image, ax=axes[:, [1, 3]].ravel().tolist(), shrink=0.6, label="mask value")
    _save(fig, path)


def cosine_against_nulls(
    per_image_csv: str | Path, essential: dict, adversarial: dict, seed: int, path: str | Path
) -> None:
    """Histogram of true-pair cosines against one random and one within-class re-pairing."""
    rows = read_csv(per_image_csv)
    fig, ax = plt.subplots(figsize=(5, 3.2))
    if rows and "cosine" in rows[0]:
        ids, e_rows, a_rows = both_kept(essential, adversarial)  # the per-image table's rows, in its order
        if ids.tolist() != [int(r["id"]) for r in rows]:
            raise ValueError(f"{per_image_csv}: its images are not those with both maps kept in the maps files")
        E = stats.features(essential["maps"][e_rows])
        A = stats.features(adversarial["maps"][a_rows])
        labels = torch.tensor([int(r["label"]) for r in rows])
        generator = torch.Generator().manual_seed(seed)
        true = np.array([float(r["cosine"]) for r in rows])
        bins = np.linspace(min(0.0, true.min()), 1, 40)
        for kind, colour in (("random", "grey"), ("within_class", "tab:orange")):
            perm = stats.repairings(labels, kind, 1, generator)[0]
            null = stats.cosine_per_image(E, A[perm]).numpy()
            ax.hist(null, bins=bins, alpha=0.4, color=colour, label=f"{kind.replace('_', '-')} re-pairing (one draw)")
        # the true pairs as an outline on top: the nulls stay visible beneath it
        ax.hist(
            true,
            bins=bins,
            histtype="step",
            linewidth=1.6,
            color="tab:blue",
            label=f"true pairs (mean {true.mean():.3f})",
        )
        ax.legend(fontsize=7)
    else:
        ax.text(0.5, 0.5, "cosine not computed", ha="center")
    ax.set_xlabel("cosine similarity of an image's essential and adversarial map")
    ax.set_ylabel("images")
    _save(fig, path)


def band_centres(n_bands: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Centres of the radial bands (cycles per image) and of the angular bands (degrees) of
    :func:`freqmaps.fourier.band_index`."""
    radial_edges = radial_band_edges(height, n_bands).numpy()
    angular_edges = np.linspace(-180, 180, n_bands + 1)
    return (radial_edges[:-1] + radial_edges[1:]) / 2, (angular_edges[:-1] + angular_edges[1:]) / 2


def band_profiles(essential: dict, adversarial: dict, path: str | Path, n_bands: int = 64) -> None:
    """Mean radial and angular band energy of kept essential and adversarial maps, shaded from
    max(0, mean - sd) to mean + sd (energies are never negative)."""

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    centres = band_centres(n_bands, int(essential["maps"].shape[-2]))
    for name, data, colour in (("essential", essential, "tab:blue"), ("adversarial", adversarial, "tab:red")):
        kept = data["outcome"] == KEPT
        if not kept.any():
            continue
        radial, angular = band_energies(data["maps"][kept], n_bands)
        for ax, energy, x in zip(axes, (radial.mean(1), angular.mean(1)), centres, strict=True):
            mean, std = energy.mean(0).numpy(), energy.std(0, correction=0).numpy()
            ax.plot(x, mean, color=colour, label=f"{name} (n={int(kept.sum())})")
            ax.fill_between(x, np.maximum(mean - std, 0), mean + std, color=colour, alpha=0.2)
    axes[0].set_xlabel("radial frequency (cycles per image; 0 = zero frequency)")
    axes[1].set_xlabel("angle of the frequency (degrees; 0 = horizontal)")
    axes[1].set_xticks(np.arange(-180, 181, 90))
    for ax in axes:
        ax.set_ylim(bottom=0)
        ax.set_ylabel("band energy (L2 of the normalised map)")
        ax.legend(fontsize=7)
    _save(fig, path)


def map_figures(
    *,
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
    cosine = {int(r["id"]): float(r["cosine"]) for r in read_csv(per_image_csv) if r.get("cosine")}
    class_mean_maps(essential, adversarial, names, class_means_png)
    examples(attack, essential, adversarial, names, examples_png, cosine)
    cosine_against_nulls(per_image_csv, essential, adversarial, seed, cosine_png)
    band_profiles(essential, adversarial, bands_png, n_bands)


def _imbalance_pairs(rows: list[dict]) -> dict[int, tuple[dict, dict]]:
    """k -> (E_to_A row, A_to_E row) of the information imbalance on the maps view (computed ones only)."""
    found: dict[int, dict[str, dict]] = {}
    for row in rows:
        computed = not row.get("note") and np.isfinite(float(row["value"]))
        if row["statistic"] == "information_imbalance" and row.get("view", "maps") == "maps" and computed:
            found.setdefault(int(row["k"]), {})[row["direction"]] = row
    return {k: (d["E_to_A"], d["A_to_E"]) for k, d in sorted(found.items()) if {"E_to_A", "A_to_E"} <= set(d)}


def information_imbalance_plane(
    table_paths: list[str | Path], attacks: list[str], path: str | Path
) -> list[tuple[str, int, float, float]]:
    """Δ(E→A) against Δ(A→E) per attack and k with 95% intervals and the null means, zoomed to the points;
    returns the plotted points (attack, k, x = Δ(E→A), y = Δ(A→E)).

    Below the diagonal Δ(A→E) < Δ(E→A): the adversarial maps predict the essential maps' neighbourhoods."""
    from freqmaps.verdict import null_names, read_table

    fig, ax = plt.subplots(figsize=(4.8, 4.8))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    xs, ys, points = [], [], []
    for index, (table, attack) in enumerate(zip(table_paths, attacks, strict=True)):
        rows = read_table(table)
        colour = colours[index % len(colours)]
        pairs = _imbalance_pairs(rows)
        for number, (k, (ea, ae)) in enumerate(pairs.items()):
            marker = "os^Dv"[number % 5]
            x, y = float(ea["value"]), float(ae["value"])
            ax.scatter(x, y, color=colour, marker=marker, label=f"{attack}, k={k}", zorder=3)
            xs.append(x)
            ys.append(y)
            points.append((attack, k, x, y))
            if all(np.isfinite(float(r[c])) for r in (ea, ae) for c in ("ci_low", "ci_high")):
                ax.errorbar(
                    x,
                    y,
                    xerr=[[max(0.0, x - float(ea["ci_low"]))], [max(0.0, float(ea["ci_high"]) - x)]],
                    yerr=[[max(0.0, y - float(ae["ci_low"]))], [max(0.0, float(ae["ci_high"]) - y)]],
                    color=colour,
                    lw=0.8,
                    capsize=2,
                )
                xs += [float(ea["ci_low"]), float(ea["ci_high"])]
                ys += [float(ae["ci_low"]), float(ae["ci_high"])]
            for null, null_marker in zip(null_names(ea), ("o", "^", "s", "D"), strict=False):
                nx, ny = float(ea[f"{null}_null_mean"]), float(ae[f"{null}_null_mean"])
                ax.scatter(nx, ny, facecolors="none", edgecolors=colour, marker=null_marker, s=40)
                xs.append(nx)
                ys.append(ny)
    if xs:
        low, high = min(xs + ys), max(xs + ys)
        pad = max(0.05 * (high - low), 0.01)
        low, high = low - pad, high + pad
    else:
        low, high = 0.0, 1.1
        ax.text(0.5, 0.5, "no information imbalance computed", ha="center", transform=ax.transAxes)
    ax.plot([low, high], [low, high], color="lightgrey", lw=1, zorder=1)
    ax.set_xlim(low, high)
    ax.set_ylim(low, high)
    ax.set_aspect("equal")
    ax.text(0.97, 0.03, "below: A predicts E better", transform=ax.transAxes, ha="right", fontsize=7, color="grey")
    ax.text(0.03, 0.97, "above: E predicts A better", transform=ax.transAxes, va="top", fontsize=7, color="grey")
    ax.set_xlabel("Δ(E→A): how poorly essential maps predict\nadversarial neighbourhoods (0 = perfectly)", fontsize=8)
    ax.set_ylabel("Δ(A→E): how poorly adversarial maps predict\nessential neighbourhoods (0 = perfectly)", fontsize=8)
    ax.set_title("bars: 95% intervals; open circles: random null;\ntriangles: within-class null", fontsize=7)
    if xs:
        ax.legend(fontsize=7, loc="center right")
    _save(fig, path)
    return points


HEADLINE = (("cosine", ""), ("idcor", ""), ("information_imbalance", "E_to_A"), ("information_imbalance", "A_to_E"))
TITLES = {
    ("cosine", ""): "mean cosine of E and A",
    ("idcor", ""): "IdCor",
    ("information_imbalance", "E_to_A"): "Δ(E→A)",
    ("information_imbalance", "A_to_E"): "Δ(A→E)",
}


def null_histograms(
    table_path: str | Path, null_draws_path: str | Path, path: str | Path
) -> list[tuple[str, str, str]]:
    """Each headline statistic of every view (rows) against the histograms of its null draws (smallest k of the
    information imbalance); returns the panels drawn as (view, statistic, direction)."""
    from freqmaps.verdict import format_p, null_names, read_table

    rows = read_table(table_path)
    draws = read_table(null_draws_path)
    views = list(dict.fromkeys(r["view"] for r in rows))
    smallest_k = {v: min((int(r["k"]) for r in rows if r["view"] == v and r["k"] != ""), default=None) for v in views}

    def headline(row: dict) -> tuple[str, str] | None:
        key = (row["statistic"], row["direction"] or "")
        if key not in HEADLINE or (row["k"] != "" and int(row["k"]) != smallest_k[row["view"]]):
            return None
        return key

    panels = {(r["view"], headline(r)): r for r in rows if headline(r)}
    columns = [key for key in HEADLINE if any((v, key) in panels for v in views)]
    nulls = null_names(rows[0]) if rows else []
    fig, axes = plt.subplots(
        max(len(views), 1),
        max(len(columns), 1),
        figsize=(3.3 * max(len(columns), 1), 2.6 * max(len(views), 1)),
        squeeze=False,
    )
    colours = dict(zip(nulls, ("grey", "tab:orange", "tab:green", "tab:purple"), strict=False))
    for i, view in enumerate(views):
        for j, key in enumerate(columns):
            ax = axes[i, j]
            row = panels.get((view, key))
            if row is None:
                ax.set_axis_off()
                continue
            for null in nulls:
                values = [
                    float(d["value"])
                    for d in draws
                    if d["view"] == view
                    and d["statistic"] == row["statistic"]
                    and d["null"] == null
                    and str(d["direction"]) == str(row["direction"])
                    and str(d["k"]) == str(row["k"])
                    and math.isfinite(float(d["value"]))  # an undefined draw has no place on the axis
                ]
                if values:
                    p = format_p(float(row[f"{null}_p_value"]), len(values))
                    ax.hist(
                        values,
                        bins=20,
                        color=colours[null],
                        alpha=0.6,
                        label=f"{null.replace('_', '-')} (p {p if p.startswith(('<', '≤')) else '= ' + p})",
                    )
            ax.axvline(float(row["value"]), color="tab:blue", lw=2, label="observed")
            k = f", k={row['k']}" if row["k"] != "" else ""
            ax.set_title(f"{TITLES[key]}{k}\nview: {view.replace('_', ' ')}", fontsize=8)
            ax.set_xlabel(
                f"{TITLES[key]} ({'smaller' if row['related_when'] == 'smaller' else 'larger'} = related)", fontsize=7
            )
            ax.set_ylabel("null draws", fontsize=7)
            ax.legend(fontsize=6)
    if not panels:
        axes[0, 0].text(0.5, 0.5, "no headline statistic computed", ha="center")
    fig.tight_layout()
    _save(fig, path)
    return sorted((view, *key) for view, key in panels)


# ------------------------------------------------------------------ known-answer validation
def planted_and_learned(
    bands: torch.Tensor, essential: dict, adversarial: dict[str, dict], class_names: tuple[str, ...], path: str | Path
) -> None:
    """Planted band of each class (top), the class-mean kept essential map (middle), and for each attack the
    mean kept adversarial map by adversarial class (bottom rows)."""
    n = len(bands)
    rows = 2 + len(adversarial)
    fig, axes = plt.subplots(rows, n, figsize=(1.8 * n + 1.4, 1.9 * rows), squeeze=False, sharex=True, sharey=True)
    image = None
    for c in range(n):
        image = show_map(axes[0, c], bands[c][None].float(), frequency_axes=True)
        axes[0, c].set_title(class_names[c], fontsize=8)
        for row, (data, key) in enumerate([(essential, "labels")] + [(a, "targets") for a in adversarial.values()]):
            ax = axes[row + 1, c]
            members = (data["outcome"] == KEPT) & (data[key] == c)
            if members.any():
                show_map(ax, data["maps"][members].mean(0), frequency_axes=True)
                ax.set_title(f"n={int(members.sum())}", fontsize=7)
            else:
                ax.set_axis_off()
    names = ["planted", "essential"] + [f"adversarial\n({a})" for a in adversarial]
    for row, name in enumerate(names):
        axes[row, 0].annotate(name, (-0.6, 0.5), xycoords="axes fraction", rotation=90, va="center", ha="right")
    label_frequency_axes(axes)
    fig.colorbar(image, ax=axes, shrink=0.6, label="band (1) / mean mask value")
    _save(fig, path)


def contrast_forest(table_path: str | Path, path: str | Path) -> list[str]:
    """Forest plot of contrasts.csv (docs/METHOD.md §4.11): per view a panel, per contrast, seed and statistic
    row the difference a - b with its 95% paired interval, filled where the reading names a more related cell
    (BH over the verdict's family), open otherwise; a grey line at 0. Each statistic is signed so that right
    of 0 means **a more related than b** (the information imbalance's difference is negated). Returns the
    row labels drawn, top to bottom."""
    from freqmaps.verdict import read_table

    rows = read_table(table_path) if Path(table_path).stat().st_size > 2 else []
    views = list(dict.fromkeys(r["view"] for r in rows)) or ["(none)"]
    per_view = {v: [r for r in rows if r["view"] == v] for v in views}
    height = max(len(group) for group in per_view.values()) if rows else 1
    fig, axes = plt.subplots(1, len(views), figsize=(4.4 * len(views) + 2.5, 0.28 * height + 1.6), squeeze=False)
    labels: list[str] = []
    for ax, view in zip(axes[0], views, strict=True):
        group = per_view[view]
        if not group:
            ax.text(0.5, 0.5, "no contrasts configured", ha="center", transform=ax.transAxes)
            ax.set_axis_off()
            continue
        for y, row in enumerate(reversed(group)):
            sign = 1.0 if row["related_when"] == "larger" else -1.0
            value, low, high = (sign * float(row[key]) for key in ("difference", "ci_low", "ci_high"))
            low, high = min(low, high), max(low, high)
            significant = "more related than" in str(row["reading"])
            colour = "tab:blue" if significant else "grey"
            if np.isfinite(low) and np.isfinite(high):
                ax.plot([low, high], [y, y], color=colour, lw=1.2)
            ax.scatter(value, y, color=colour, facecolors=colour if significant else "white", zorder=3, s=22)
        names = [
            f"{r['contrast']} · {stats_label(r)}"
            + (f" · seed {r['seed']}" if len({x["seed"] for x in rows}) > 1 else "")
            for r in reversed(group)
        ]
        ax.set_yticks(range(len(group)), names if ax is axes[0, 0] else [""] * len(group), fontsize=7)
        ax.axvline(0, color="lightgrey", lw=1, zorder=1)
        ax.set_title(f"{view.replace('_', ' ')} view", fontsize=8)
        ax.set_xlabel("difference a − b, signed: > 0 means a more related", fontsize=7)
        labels += list(reversed(names)) if ax is axes[0, 0] else []
    fig.suptitle("Contrasts between cells: filled = significant after BH (with the verdict)", fontsize=8)
    _save(fig, path)
    return labels


def stats_label(row: dict) -> str:
    """'cosine', 'information_imbalance E_to_A k=1'."""
    text = str(row["statistic"])
    if row.get("direction"):
        text += f" {row['direction']}"
    if row.get("k") not in (None, ""):
        text += f" k={row['k']}"
    return text


def alignment_figure(result, path: str | Path, title: str = "") -> None:
    """The alignment map (docs/METHOD.md §4.12): Spearman's rho between E and A across images at every
    frequency, one panel per channel, on a diverging scale symmetric about 0 (red: images that need the
    frequency more are attacked more through it; blue: less), with a colour bar; axes in cycles per image,
    the zero frequency marked (×), and black dots on the frequencies significant after BH."""
    channels, height, width = result.rho.shape
    rho = result.rho.numpy()
    bound = float(np.nanmax(np.abs(rho))) if np.isfinite(rho).any() else 1.0
    fig, axes = plt.subplots(1, channels, figsize=(3.6 * channels + 0.8, 3.6), squeeze=False)
    extent = (-(width // 2) - 0.5, width - width // 2 - 0.5, height - height // 2 - 0.5, -(height // 2) - 0.5)
    image = None
    for c, ax in enumerate(axes[0]):
        shown = np.ma.masked_invalid(rho[c])
        image = ax.imshow(shown, cmap="RdBu_r", vmin=-bound, vmax=bound, extent=extent)
        rows, columns = np.nonzero(result.significant[c].numpy())
        ax.scatter(columns - width // 2, rows - height // 2, s=3, color="black", label="significant (BH)")
        ax.scatter([0], [0], marker="x", s=30, color="black", linewidths=1.2, label="DC (zero frequency)")
        ax.set_xlabel("horizontal frequency (cycles/image)", fontsize=7)
        ax.set_ylabel("vertical frequency (cycles/image)", fontsize=7)
        ax.tick_params(labelsize=6)
        if channels > 1:
            ax.set_title(f"channel {c}", fontsize=8)
    axes[0, 0].legend(fontsize=6, loc="lower left", framealpha=0.8)
    bar = fig.colorbar(image, ax=axes[0].tolist(), shrink=0.85)
    bar.set_label("Spearman ρ(E, A) across images", fontsize=7)
    found = int(result.significant.sum())
    fig.suptitle(
        f"{title}\n{result.n_pairs} image pairs; {result.permutations} {result.null} re-pairings; {found} "
        f"frequencies significant at FDR {result.level}",
        fontsize=8,
    )
    _save(fig, path)


def lam_sensitivity(summary_path: str | Path, run_facts_path: str | Path, path: str | Path) -> list[str]:
    """λ sensitivity (docs/METHOD.md §2.1): each statistic of the maps view (the information imbalance at its
    smallest k, both directions) against λ with its 95% interval, one line per model, attack and seed; last,
    the kept maps' sparsity against λ (mean entry and share of entries >= 0.5, essential and adversarial).
    Returns the panel titles."""
    from freqmaps.verdict import read_table

    rows = [r for r in read_table(summary_path) if r["view"] == "maps" and r.get("lam", "") != ""]
    smallest_k = min((int(r["k"]) for r in rows if r["k"] != ""), default=None)
    rows = [r for r in rows if r["k"] == "" or int(r["k"]) == smallest_k]
    panels = list(dict.fromkeys((r["statistic"], r["direction"] or "") for r in rows))
    facts = [r for r in read_table(run_facts_path) if r.get("lam", "") != ""]
    titles = [stats_label({"statistic": s, "direction": d, "k": smallest_k if d else ""}) for s, d in panels]
    titles += ["map sparsity"]
    columns = min(4, len(titles))
    fig, axes = plt.subplots(
        -(-len(titles) // columns), columns, figsize=(3.2 * columns, 2.6 * -(-len(titles) // columns)), squeeze=False
    )
    for ax, (statistic, direction), title in zip(axes.flat, panels, titles, strict=False):
        chosen = [r for r in rows if r["statistic"] == statistic and (r["direction"] or "") == direction]
        for line in dict.fromkeys((r["model"], r["attack"], r["seed"]) for r in chosen):
            points = sorted((float(r["lam"]), r) for r in chosen if (r["model"], r["attack"], r["seed"]) == line)
            lams = [lam for lam, _ in points]
            values = np.array([float(r["value"]) for _, r in points])
            low = values - np.array([float(r["ci_low"]) for _, r in points])
            high = np.array([float(r["ci_high"]) for _, r in points]) - values
            ax.errorbar(
                lams,
                values,
                yerr=[np.nan_to_num(low), np.nan_to_num(high)],
                marker="o",
                ms=3,
                capsize=2,
                label=" / ".join(map(str, line)),
            )
        ax.set_title(title, fontsize=8)
        ax.set_xscale("log")
        ax.tick_params(labelsize=6)
    sparsity = axes.flat[len(panels)]
    for kind, style in (("essential", "-"), ("adversarial", "--")):
        for line in dict.fromkeys((r["model"], r["attack"], r["seed"]) for r in facts):
            points = sorted((float(r["lam"]), r) for r in facts if (r["model"], r["attack"], r["seed"]) == line)
            lams = [lam for lam, _ in points]
            for column, marker in (("mean_l1", "o"), ("share_at_least_half", "s")):
                sparsity.plot(
                    lams,
                    [float(r[f"{kind}_{column}"]) for _, r in points],
                    style,
                    marker=marker,
                    ms=3,
                    label=f"{kind} {column} ({'/'.join(map(str, line))})",
                )
    sparsity.set_title("map sparsity: mean entry (o), share >= 0.5 (s)", fontsize=8)
    sparsity.set_xscale("log")
    sparsity.tick_params(labelsize=6)
    lams = sorted({float(r["lam"]) for r in rows + facts})
    for ax in axes.flat[: len(titles)]:
        ax.minorticks_off()
        ax.set_xticks(lams, [f"{lam:g}" for lam in lams])
    for ax in axes.flat[len(titles) :]:
        ax.set_axis_off()
    for ax in axes[-1]:
        ax.set_xlabel("λ (maps.lam)", fontsize=7)
    fig.subplots_adjust(hspace=0.45)
    axes.flat[0].legend(fontsize=5)
    sparsity.legend(fontsize=5)
    fig.suptitle("Does the conclusion depend on λ? Maps view, 95% intervals", fontsize=9)
    _save(fig, path)
    return titles
