"""Report figures of the baselines: the heat map per model, class-mean maps beside the baselines' class means."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

from freqmaps.baselines.files import class_mean_baselines
from freqmaps.io import load_tensors
from freqmaps.plotting import MAP_CMAP, label_frequency_axes, plt, save_figure, show_spectrum


def heat_map_figure(heat_map_path, path: str | Path) -> None:
    """Error rate and mean loss change per added Fourier basis image, at its frequency in cycles per image
    (zero frequency marked at the centre), on a perceptually uniform colour map."""
    heat, meta = load_tensors(heat_map_path)
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.6), squeeze=False)
    for ax, key, label in ((axes[0, 0], "error_rate", "error rate"), (axes[0, 1], "loss_change", "mean loss change")):
        values = heat[key].float().numpy()
        norm = matplotlib.colors.Normalize(vmin=0 if key == "error_rate" else None)
        image = show_spectrum(ax, values, "magma", norm)
        fig.colorbar(image, ax=ax, shrink=0.8, label=label)
        ax.set_title(label, fontsize=8)
    label_frequency_axes(axes)
    norm = meta.get("settings", {}).get("norm")
    fig.suptitle(f"Fourier heat map (L2 norm {norm}, {meta.get('n_images')} images)", fontsize=9)
    save_figure(fig, path)


def mean_maps_figure(
    *, essential_path, adversarial_path, clean_path, attack_path, class_names: tuple[str, ...], path: str | Path
) -> None:
    """Rows: the class-mean kept essential map, then each clean-image baseline over the same images; the
    class-mean kept adversarial map, then each attacked-image baseline. Columns: true classes. Each panel is
    scaled to its own maximum (the baselines have different units), on one colour bar; axes in cycles per
    image, the zero frequency marked."""
    blocks = [
        ("essential", class_mean_baselines(essential_path, [clean_path])),
        ("adversarial", class_mean_baselines(adversarial_path, [attack_path])),
    ]
    rows = [
        (f"{kind} maps" if name == "map" else name, means) for kind, block in blocks for name, means in block.items()
    ]
    n = len(class_names)
    fig, axes = plt.subplots(
        len(rows), n, figsize=(1.7 * n + 1.6, 1.6 * len(rows)), squeeze=False, sharex=True, sharey=True
    )
    image = None
    for r, (name, means) in enumerate(rows):
        for c in range(n):
            ax = axes[r, c]
            if c < len(means) and not math.isnan(float(means[c].flatten()[0])):
                panel = means[c] / means[c].abs().max().clamp(min=1e-300)
                image = show_spectrum(ax, panel.float().numpy(), MAP_CMAP, matplotlib.colors.Normalize(0, 1))
            else:
                ax.set_axis_off()
            if r == 0:
                ax.set_title(class_names[c], fontsize=7)
        axes[r, 0].annotate(
            name.replace("_", "\n"), (-0.75, 0.5), xycoords="axes fraction", ha="right", va="center", fontsize=7
        )
    label_frequency_axes(axes)
    if image is not None:
        fig.colorbar(image, ax=axes, shrink=0.6, label="share of the panel's maximum")
    save_figure(fig, path)
