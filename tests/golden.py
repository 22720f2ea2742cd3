"""GOLDEN.md's map-like case (tests/fixtures/dadapy/GOLDEN.md), written once for the tests and the benchmarks.

No file holds it: it is regenerated from its seed, and DADApy's values for it are in GOLDEN.md.
"""

from __future__ import annotations

import numpy as np

GOLDEN_DIM = 3072  # entries per map in GOLDEN.md's construction (a 3 x 32 x 32 map)


def golden_map_like(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n paired maps of GOLDEN_DIM entries in [0, 1] driven by a shared latent, drawn in exactly GOLDEN.md's
    order (n = 600 is the golden case itself; other n give the same construction at another size)."""
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(n, 20))
    A = np.clip(Z @ rng.normal(size=(20, GOLDEN_DIM)) * 0.3 + 0.5, 0, 1)
    B = np.clip(np.tanh(Z[:, :10]) @ rng.normal(size=(10, GOLDEN_DIM)) * 0.3 + 0.5, 0, 1)
    return A, B
