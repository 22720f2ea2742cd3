"""Drawing primitives shared by the report's figures: the Agg backend, atomic PNG saving, images and maps.
Maps are shown fftshifted (zero frequency at the centre), averaged over channels."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from freqmaps.io import atomic_path  # noqa: E402


def save_figure(fig: plt.Figure, path: str | Path) -> None:
    """Write ``fig`` to ``path`` as PNG (atomically) and close it."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, bbox_inches="tight", format="png")
    plt.close(fig)


def show_image(ax: plt.Axes, image: torch.Tensor) -> None:
    """An image in [0, 1] (grey for one channel), without axes."""
    image = image.float().clamp(0, 1)
    if image.shape[0] == 1:
        ax.imshow(image[0].numpy(), cmap="gray", vmin=0, vmax=1)
    else:
        ax.imshow(image.permute(1, 2, 0).numpy())
    ax.set_axis_off()


def show_map(
    ax: plt.Axes, mask: torch.Tensor, norm: matplotlib.colors.Normalize | None = None, frequency_axes: bool = False
) -> plt.Artist:
    """A shifted map averaged over channels; with ``frequency_axes``, ticks in cycles per image."""
    image = mask.float().mean(0).numpy()
    height, width = image.shape
    extent = (-(width // 2) - 0.5, width - width // 2 - 0.5, height - height // 2 - 0.5, -(height // 2) - 0.5)
    shown = ax.imshow(image, cmap="viridis", norm=norm or matplotlib.colors.Normalize(0, 1), extent=extent)
    if frequency_axes:
        ax.tick_params(labelsize=6, length=2)
    else:
        ax.set_axis_off()
    return shown


MAP_FLOOR = 1e-3  # lowest value of the log colour scale of mean maps (kept maps are sparse: most entries ~0)


def log_norm() -> matplotlib.colors.LogNorm:
    """The log colour scale of mean maps, from MAP_FLOOR to 1."""
    return matplotlib.colors.LogNorm(vmin=MAP_FLOOR, vmax=1, clip=True)


def label_frequency_axes(axes: np.ndarray) -> None:
    """Cycles-per-image labels on the left column and bottom row of a grid of map panels."""
    for ax in axes[-1]:
        ax.set_xlabel("horizontal freq.\n(cycles/image)", fontsize=6)
    for ax in axes[:, 0]:
        ax.set_ylabel("vertical freq. (cycles/image)", fontsize=6)
