"""Generated datasets (``freqmaps.synthetic``): which configured datasets are generated or carry known planted
bands, and the generated splits as tensors."""

from __future__ import annotations

from typing import Any

from freqmaps.data.core import DatasetError, DatasetInfo, ImageSet


def is_synthetic(name: str, cfg: dict[str, Any] | None = None) -> bool:
    """Generated datasets (freqmaps.synthetic): source synthetic, or named synthetic / synthetic_<anything>."""
    source = (cfg or {}).get("source")
    return source == "synthetic" if source else name == "synthetic" or name.startswith("synthetic_")


def has_planted_bands(name: str, cfg: dict[str, Any] | None = None) -> bool:
    """Whether a dataset's planted frequencies are known: generated (synthetic) or given as a ``bands`` file."""
    return is_synthetic(name, cfg) or bool((cfg or {}).get("bands"))


def describe(name: str, cfg: dict[str, Any]) -> DatasetInfo:
    from freqmaps.synthetic import SyntheticSettings, num_classes

    try:
        settings = SyntheticSettings.from_config(cfg)
    except ValueError as err:
        raise DatasetError(str(err).replace("datasets.synthetic", f"datasets.{name}")) from err
    return DatasetInfo(
        name,
        num_classes(settings),
        settings.channels,
        settings.size,
        (0.5,) * settings.channels,
        (0.25,) * settings.channels,
        tuple(f"band {c}" for c in range(settings.n_classes)) + ("background",) * settings.background_class,
        "crop",  # wedges are orientation-coded: a flip would swap classes
    )


def load(info: DatasetInfo, source: str, split: str, cfg: dict[str, Any]) -> ImageSet:
    from freqmaps.synthetic import SyntheticSettings, generate

    images, labels = generate(SyntheticSettings.from_config(cfg), split)
    return ImageSet(images, labels, info)


def check(name: str, source: str, cfg: dict[str, Any]) -> None:
    """Generated data has no files."""
