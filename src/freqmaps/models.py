"""Classifiers. Each takes images in [0, 1] and normalises internally, so attacks and Fourier masks
act in pixel space, as in the papers' code."""

from __future__ import annotations

import torch
from torch import nn

from freqmaps.data import DatasetInfo


class Normalize(nn.Module):
    """Per-channel (x - mean) / std as a fixed layer."""

    def __init__(self, mean: tuple[float, ...], std: tuple[float, ...]) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class SmallCNN(nn.Module):
    """Two conv blocks and a linear head: ~0.1 M parameters, fast enough for CPU experiments on 28x28."""

    def __init__(self, in_channels: int, num_classes: int, width: int = 32) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1),
            nn.BatchNorm2d(2 * width),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(2 * width, 2 * width, 3, padding=1),
            nn.BatchNorm2d(2 * width),
            nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d(1),
        )
        self.head = nn.Linear(2 * width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).flatten(1))


class BasicBlock(nn.Module):
    def __init__(self, in_planes: int, planes: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(nn.Conv2d(in_planes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class ResNetCifar(nn.Module):
    """He et al.'s CIFAR ResNet (6n+2 layers; n=3 is ResNet-20 with ~0.27 M parameters)."""

    def __init__(self, in_channels: int, num_classes: int, n: int = 3) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU(inplace=True)
        )
        layers, in_planes = [], 16
        for planes, stride in ((16, 1), (32, 2), (64, 2)):
            for i in range(n):
                layers.append(BasicBlock(in_planes, planes, stride if i == 0 else 1))
                in_planes = planes
        self.layers = nn.Sequential(*layers)
        self.head = nn.Linear(64, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.flatten(nn.functional.adaptive_avg_pool2d(self.layers(self.stem(x)), 1), 1))


def _torchvision(name: str, in_channels: int, num_classes: int) -> nn.Module:
    import torchvision

    model = getattr(torchvision.models, name)(weights=None, num_classes=num_classes)
    if in_channels != 3:  # the grayscale setting of [P1]: replace the first convolution
        first = model.conv1 if name.startswith("resnet") else model.features[0]
        conv = nn.Conv2d(
            in_channels, first.out_channels, first.kernel_size, first.stride, first.padding, bias=first.bias is not None
        )
        if name.startswith("resnet"):
            model.conv1 = conv
        else:
            model.features[0] = conv
    return model


ARCHITECTURES = ("small_cnn", "resnet20", "vgg11_bn", "resnet18")


def build_model(arch: str, info: DatasetInfo) -> nn.Module:
    """A fresh classifier for ``info``'s images, with the dataset's normalisation as its first layer."""
    if arch == "small_cnn":
        body = SmallCNN(info.channels, info.num_classes)
    elif arch == "resnet20":
        body = ResNetCifar(info.channels, info.num_classes, n=3)
    elif arch in ("vgg11_bn", "resnet18"):
        body = _torchvision(arch, info.channels, info.num_classes)
    else:
        raise ValueError(f"models.*.arch: unknown architecture {arch!r}; known: {ARCHITECTURES}")
    return nn.Sequential(Normalize(info.mean, info.std), body)


def freeze(model: nn.Module) -> nn.Module:
    """eval() mode and no parameter gradients: the classifier is a fixed function for attacks and maps."""
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model
