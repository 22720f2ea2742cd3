"""Report figures of the baselines: the heat map per model, class-mean maps beside the baselines' class means."""

from __future__ import annotations

import math
from pathlib import Path

from freqmaps.baselines.files import class_mean_baselines
from freqmaps.io import load_tensors
from freqmaps.plotting import plt, save_figure


def heat_map_figure(heat_map_path, path: str | Path) -> None:
    """Error rate and mean loss change per added Fourier basis image (zero frequency at the centre)."""
    heat, meta = load_tensors(heat_map_path)
    fig, axes = plt.subplots(1, 2, figsize=(7.5, 3.4))
    for ax, key, label in ((axes[0], "error_rate", "error rate"), (axes[1], "loss_change", "mean loss change")):
        image = ax.imshow(heat[key].float().numpy(), cmap="jet", vmin=0 if key == "error_rate" else None)
        fig.colorbar(image, ax=ax, shrink=0.8, label=label)
        ax.set_axis_off()
    norm = meta.get("settings", {}).get("norm")
    fig.suptitle(f"Fourier heat map (L2 norm {norm}, {meta.get('n_images')} images)", fontsize=9)
    save_figure(fig, path)


def mean_maps_figure(
    *, essential_path, adversarial_path, clean_path, attack_path, class_names: tuple[str, ...], path: str | Path
) -> None:
    """Rows: the class-mean kept essential map, then each clean-image baseline over the same images; the
    class-mean kept adversarial map, then each attacked-image baseline. Columns: true classes. Each panel is
    scaled to its own maximum (the baselines have different units)."""
    blocks = [
        ("essential", class_mean_baselines(essential_path, [clean_path])),
        ("adversarial", class_mean_baselines(adversarial_path, [attack_path])),
    ]
    rows = [
        (f"{kind} maps" if name == "map" else name, means) for kind, block in blocks for name, means in block.items()
    ]
    n = len(class_names)
    fig, axes = plt.subplots(len(rows), n, figsize=(1.5 * n, 1.5 * len(rows)), squeeze=False)
    for r, (name, means) in enumerate(rows):
        for c in range(n):
            ax = axes[r, c]
            ax.set_axis_off()
            if c < len(means) and not math.isnan(float(means[c].flatten()[0])):
                panel = means[c] / means[c].abs().max().clamp(min=1e-300)
                ax.imshow(panel.float().numpy(), cmap="viridis", vmin=0, vmax=1)
            if r == 0:
                ax.set_title(class_names[c], fontsize=7)
        axes[r, 0].text(
            -0.1, 0.5, name.replace("_", "\n"), transform=axes[r, 0].transAxes, ha="right", va="center", fontsize=7
        )
    save_figure(fig, path)
