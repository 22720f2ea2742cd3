"""What makes a network the classifier freqmaps explains: the model's own normalisation as its first layer
(:class:`~freqmaps.models.Normalize`, so that images are in [0, 1] and masks and attacks act in pixel space), and
freezing it."""

from __future__ import annotations

import torch
from torch import nn

from freqmaps.models.spec import InputSpec


class Normalize(nn.Module):
    """Per-channel (x - mean) / std as a fixed layer; a one-channel image is repeated to the model's channels."""

    def __init__(self, mean: tuple[float, ...], std: tuple[float, ...], channels: int | None = None) -> None:
        super().__init__()
        self.channels = channels or len(mean)
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] == 1 and self.channels > 1:  # a grayscale image for an RGB model: the same image in R, G, B
            x = x.expand(-1, self.channels, -1, -1)
        return (x - self.mean) / self.std


def classifier(body: nn.Module, spec: InputSpec) -> nn.Sequential:
    """The model as freqmaps uses it: normalisation (images in [0, 1]) then the architecture."""
    return nn.Sequential(Normalize(spec.mean, spec.std, spec.channels), body)


def freeze(model: nn.Module) -> nn.Module:
    """eval() mode and no parameter gradients: the classifier is a fixed function for attacks and maps."""
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model
