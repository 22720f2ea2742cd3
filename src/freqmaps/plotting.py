"""Drawing primitives shared by the report's figures: the Agg backend, atomic PNG saving, images and maps.
Maps are shown fftshifted (zero frequency at the centre), averaged over channels."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
# Titles sit at a fixed height above their axes: matplotlib otherwise moves each title clear of every tick label
# at each draw (a quarter of map_figures' drawing in a profile; with the fixed ticks below, 3.5 -> 2.3 s of CPU).
matplotlib.rcParams["axes.titley"] = 1.0
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


MAP_CMAP = "viridis"  # perceptually uniform: equal steps in value look like equal steps in colour
SIGNED_CMAP = "RdBu_r"  # diverging, for values either side of zero
PERCEPTUALLY_UNIFORM = ("viridis", "magma", "inferno", "plasma", "cividis", "RdBu_r")


def frequency_extent(height: int, width: int) -> tuple[float, float, float, float]:
    """imshow's extent that puts each entry of a shifted spectrum at its frequency in cycles per image, the zero
    frequency (DC, entry [H // 2, W // 2]) at (0, 0)."""
    return (-(width // 2) - 0.5, width - width // 2 - 0.5, height - height // 2 - 0.5, -(height // 2) - 0.5)


def mark_dc(ax: plt.Axes) -> None:
    """A small open marker on the zero frequency (DC) of a spectrum drawn with :func:`frequency_extent`."""
    ax.plot([0], [0], marker="+", color="white", markersize=5, markeredgewidth=0.8, gid="dc", linestyle="none")


def frequency_ticks(size: int) -> list[int]:
    """Ticks in cycles per image for a shifted spectrum axis of ``size`` entries: zero and the multiples of a
    round step (1, 2 or 5 times a power of ten, the largest at most a third of the axis) within the axis."""
    third = max(1, size // 3)
    step = max(s * 10**e for e in range(len(str(third))) for s in (1, 2, 5) if s * 10**e <= third)
    low, high = -(size // 2), size - size // 2 - 1
    return [tick for tick in range(low, high + 1) if tick % step == 0]


def show_spectrum(
    ax: plt.Axes, values: np.ndarray, cmap: str = MAP_CMAP, norm: matplotlib.colors.Normalize | None = None
) -> plt.Artist:
    """A shifted spectrum [H, W] with axes in cycles per image and DC marked. The ticks are fixed
    (:func:`frequency_ticks`): a figure of many panels draws in a fraction of the time automatic ticks take."""
    height, width = values.shape
    shown = ax.imshow(values, cmap=cmap, norm=norm, extent=frequency_extent(height, width))
    for axis, size in ((ax.xaxis, width), (ax.yaxis, height)):
        ticks = frequency_ticks(size)
        axis.set_ticks(ticks, labels=[str(t) for t in ticks])
    ax.tick_params(labelsize=6, length=2)
    mark_dc(ax)
    return shown


def show_map(
    ax: plt.Axes, mask: torch.Tensor, norm: matplotlib.colors.Normalize | None = None, frequency_axes: bool = False
) -> plt.Artist:
    """A shifted map averaged over channels; with ``frequency_axes``, ticks in cycles per image and DC marked."""
    image = mask.float().mean(0).numpy()
    shown = show_spectrum(ax, image, MAP_CMAP, norm or matplotlib.colors.Normalize(0, 1))
    if not frequency_axes:
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
