"""Image transforms: resizing to a model's square resolution, and the training augmentations (``AUGMENTATIONS``,
batched on the images' device, drawn from a given generator)."""

from __future__ import annotations

from collections.abc import Callable

import torch


def resize_square(images: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 images [N, C, H, W] at size x size: shorter side to ``size`` (antialiased), then the central square."""
    if images.shape[-2:] == (size, size):
        return images
    from torchvision.transforms.v2.functional import center_crop, resize

    return center_crop(resize(images, [size], antialias=True), [size, size])


def random_affine(
    x: torch.Tensor,
    generator: torch.Generator,
    *,
    degrees: float = 0.0,
    translate: float = 0.0,
    scale: tuple[float, float] = (1.0, 1.0),
) -> torch.Tensor:
    """Per-image random rotation/translation/scale (torchvision RandomAffine semantics), zero fill."""
    n = x.shape[0]
    u = torch.rand(n, 4, generator=generator).to(x.device)
    angle = torch.deg2rad((2 * u[:, 0] - 1) * degrees)
    factor = scale[0] + (scale[1] - scale[0]) * u[:, 1]
    shift = (2 * u[:, 2:] - 1) * translate * 2  # fraction of the size, in [-1, 1] grid units
    cos, sin = torch.cos(angle) / factor, torch.sin(angle) / factor
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = torch.nn.functional.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    return torch.nn.functional.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def random_crop(x: torch.Tensor, generator: torch.Generator, padding: int = 4) -> torch.Tensor:
    """A random crop of each image after zero padding (no flip: for digits and orientation-coded classes)."""
    n, _, h, w = x.shape
    padded = torch.nn.functional.pad(x, (padding,) * 4)
    offsets = torch.randint(0, 2 * padding + 1, (n, 2), generator=generator)
    rows = (offsets[:, 0, None] + torch.arange(h)).to(x.device)
    cols = (offsets[:, 1, None] + torch.arange(w)).to(x.device)
    batch = torch.arange(n, device=x.device)[:, None, None]
    return padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


def crop_and_flip(x: torch.Tensor, generator: torch.Generator, padding: int = 4) -> torch.Tensor:
    """The standard recipe: random crop after zero padding, and a horizontal flip with probability 1/2."""
    out = random_crop(x, generator, padding)
    flip = (torch.rand(len(x), generator=generator) < 0.5).to(x.device)
    return torch.where(flip[:, None, None, None], out.flip(-1), out)


def no_augmentation(x: torch.Tensor, generator: torch.Generator, padding: int = 4) -> torch.Tensor:
    return x


AUGMENTATIONS: dict[str, Callable[..., torch.Tensor]] = {
    "crop_flip": crop_and_flip,
    "crop": random_crop,
    "none": no_augmentation,
}
