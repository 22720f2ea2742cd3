"""freqmaps' own architectures (small_cnn, resnet20, vgg11_bn, resnet18), trained from scratch at the dataset's
own resolution and channel count, and the model source that builds them (``builtin``)."""

from __future__ import annotations

import functools

import torch
from torch import nn

from freqmaps.data.core import DatasetInfo
from freqmaps.models.spec import InputSpec, ModelSource, ModelSpec, dataset_input


class SmallCNN(nn.Module):
    """Two conv blocks and a linear head: about 57 k parameters on one channel, fast on a CPU at 28x28."""

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


def _torchvision_in_channels(name: str, in_channels: int, num_classes: int) -> nn.Module:
    """A torchvision architecture whose first convolution takes ``in_channels`` (the grayscale setting of [P1])."""
    import torchvision

    model = getattr(torchvision.models, name)(weights=None, num_classes=num_classes)
    if in_channels != 3:
        first = model.conv1 if name.startswith("resnet") else model.features[0]
        conv = nn.Conv2d(
            in_channels, first.out_channels, first.kernel_size, first.stride, first.padding, bias=first.bias is not None
        )
        if name.startswith("resnet"):
            model.conv1 = conv
        else:
            model.features[0] = conv
    return model


# The built-in architectures, trained from scratch at the dataset's own resolution and channel count.
BUILTIN_ARCHITECTURES = {
    "small_cnn": SmallCNN,
    "resnet20": functools.partial(ResNetCifar, n=3),
    "vgg11_bn": functools.partial(_torchvision_in_channels, "vgg11_bn"),
    "resnet18": functools.partial(_torchvision_in_channels, "resnet18"),
}
ARCHITECTURES = tuple(BUILTIN_ARCHITECTURES)


class BuiltinSource(ModelSource):
    """freqmaps' own architectures (small_cnn, resnet20, vgg11_bn, resnet18), at the dataset's channels."""

    example = "small_cnn"

    def check_arch(self, spec: ModelSpec) -> None:
        if spec.arch not in BUILTIN_ARCHITECTURES:
            raise ValueError(f"models.*.arch: unknown builtin architecture {spec.arch!r}; known: {ARCHITECTURES}")
        if spec.pretrained:
            raise ValueError("models.*.pretrained: builtin architectures have no pretrained weights; give `weights`")

    def architecture(self, spec: ModelSpec, num_classes: int, info: DatasetInfo) -> nn.Module:
        return BUILTIN_ARCHITECTURES[spec.arch](info.channels, num_classes, **spec.options)

    def default_input(self, spec: ModelSpec, info: DatasetInfo) -> InputSpec:
        return dataset_input(info, info.channels)
