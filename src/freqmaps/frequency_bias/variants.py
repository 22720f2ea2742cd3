"""The study's models in the config: one per training variant, all from one shared recipe."""

from __future__ import annotations

from typing import Any

from freqmaps.training import VARIANTS

MODEL_PREFIX = "bias_"  # the study's models are named bias_<variant>


def variant_models(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The study's model entries: one shared recipe, each variant's own settings on top of it."""
    study = config.get("frequency_bias")
    if not study:
        return {}
    models = {}
    for variant, extra in study["variants"].items():
        if variant not in VARIANTS:
            raise ValueError(f"frequency_bias.variants: unknown variant {variant!r}; known: {VARIANTS}")
        name = MODEL_PREFIX + variant
        if name in config.get("models", {}):
            raise ValueError(f"models.{name}: this name is reserved for the frequency_bias variant {variant!r}")
        models[name] = {"arch": study["arch"], "train": {**study.get("train", {}), **(extra or {}), "variant": variant}}
    if "standard" not in study["variants"]:
        raise ValueError("frequency_bias.variants: needs 'standard', the model every difference is taken against")
    return models
