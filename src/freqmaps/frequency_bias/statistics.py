"""The study's statistics: a linear probe of the class from single-image maps, and a hierarchical
bootstrap interval over seeds and images."""

from __future__ import annotations

import math

import numpy as np
import torch


def linear_probe(masks: torch.Tensor, labels: torch.Tensor, seed: int, test_fraction: float = 0.3) -> dict[str, float]:
    """Logistic regression from flattened masks to the class, and the same with scrambled training labels."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    X, y = masks.flatten(1).double().numpy(), labels.numpy()
    counts = np.bincount(y)
    stratify = y if (counts[counts > 0] >= 2).all() else None
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_fraction, random_state=seed, stratify=stratify
    )
    scrambled = np.random.default_rng(seed).permutation(y_train)
    out = {"probe_n_train": len(y_train), "probe_n_test": len(y_test)}
    for name, target in (("probe_accuracy", y_train), ("probe_scrambled_accuracy", scrambled)):
        if len(np.unique(target)) < 2:
            out[name] = math.nan
            continue
        classifier = LogisticRegression(max_iter=2000).fit(X_train, target)
        out[name] = float((classifier.predict(X_test) == y_test).mean())
    return out


def hierarchical_interval(
    values_per_seed: list[np.ndarray], n: int, seed: int, level: float = 0.95
) -> tuple[float, float]:
    """Percentile interval of the mean: resample seeds, then images within each drawn seed."""
    rng = np.random.default_rng(seed)
    means = []
    for _ in range(n):
        drawn = [values_per_seed[i] for i in rng.integers(0, len(values_per_seed), len(values_per_seed))]
        means.append(np.mean(np.concatenate([v[rng.integers(0, len(v), len(v))] for v in drawn if len(v)])))
    return float(np.quantile(means, (1 - level) / 2)), float(np.quantile(means, (1 + level) / 2))
