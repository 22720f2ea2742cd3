"""Similarity of paired rows: per image (cosine, Pearson) and of whole representations (linear CKA, SVCCA).

Each representation statistic splits into per-side work done once (a *side*: :func:`cka_side`,
:func:`svcca_side`) and a cheap combination (:func:`cka_of_sides`, :func:`svcca_of_sides`). Re-pairing the rows
of one side by p permutes its side exactly (``side.permuted(p)``), so null draws redo only the combination.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


def cosine_per_image(E: torch.Tensor, A: torch.Tensor) -> torch.Tensor:
    """cos(E_i, A_i) for every row, in float64."""
    E, A = E.double(), A.double()
    return (E * A).sum(1) / (E.norm(dim=1) * A.norm(dim=1))


def pearson_per_image(E: torch.Tensor, A: torch.Tensor) -> torch.Tensor:
    """Pearson correlation between E_i and A_i (cosine of the centred rows)."""
    E, A = E.double(), A.double()
    return cosine_per_image(E - E.mean(1, keepdim=True), A - A.mean(1, keepdim=True))


# ------------------------------------------------------------------ representation similarity
# Each statistic splits into per-side work done once (a ``side``) and a cheap combination. Re-pairing the
# rows of one side by p permutes its side exactly (``permuted``), so null draws redo only the combination.
@dataclass
class CkaSide:
    """Centred Gram matrix (N x N, when N < D) or the centred rows, and the Frobenius norm of its kernel."""

    matrix: torch.Tensor
    gram: bool
    norm: float

    def permuted(self, p: torch.Tensor) -> CkaSide:
        return CkaSide(self.matrix[p][:, p] if self.gram else self.matrix[p], self.gram, self.norm)


def cka_side(X: torch.Tensor) -> CkaSide:
    """CKA's per-representation work: the centred kernel (or rows) and its norm."""
    X = X.double()
    X = X - X.mean(0)
    if X.shape[0] < X.shape[1]:  # N x N kernels are smaller
        K = X @ X.T
        return CkaSide(K, True, K.norm().item())
    return CkaSide(X, False, (X.T @ X).norm().item())


def cka_of_sides(x: CkaSide, y: CkaSide) -> float:
    """Linear CKA from the two sides (NaN when a side is constant: no variance to align)."""
    if x.norm == 0 or y.norm == 0:
        return math.nan
    if x.gram:
        return (x.matrix * y.matrix).sum().item() / (x.norm * y.norm)
    return (y.matrix.T @ x.matrix).norm().item() ** 2 / (x.norm * y.norm)


def linear_cka(X: torch.Tensor, Y: torch.Tensor) -> float:
    """Linear CKA (Kornblith et al. 2019) between the column spaces of two row-paired matrices."""
    return cka_of_sides(cka_side(X), cka_side(Y))


def top_directions(X: torch.Tensor, variance: float) -> torch.Tensor:
    """Projection of centred X on the singular directions explaining ``variance`` of its variance (U S).

    From the eigendecomposition of the smaller Gram matrix (X X^T = U S^2 U^T, or X^T X = V S^2 V^T and
    U S = X V): several times faster than an SVD of X, and exact for the kept, large directions.
    """
    X = X - X.mean(0)
    wide = X.shape[0] <= X.shape[1]
    power, vectors = torch.linalg.eigh(X @ X.T if wide else X.T @ X)
    power, vectors = power.flip(0).clamp(min=0), vectors.flip(1)  # decreasing
    explained = torch.cumsum(power, 0) / power.sum()
    keep = int(torch.searchsorted(explained, torch.tensor(variance, dtype=explained.dtype, device=X.device)).item()) + 1
    keep = min(keep, len(power))
    return vectors[:, :keep] * power[:keep].sqrt() if wide else X @ vectors[:, :keep]


@dataclass
class SvccaSide:
    """Orthonormal basis of the centred top directions of one side."""

    basis: torch.Tensor

    def permuted(self, p: torch.Tensor) -> SvccaSide:
        return SvccaSide(self.basis[p])


def svcca_side(X: torch.Tensor, variance: float) -> SvccaSide:
    """SVCCA's per-representation work: an orthonormal basis of the top directions explaining ``variance``."""
    reduced = top_directions(X.double(), variance)
    basis, _ = torch.linalg.qr(reduced - reduced.mean(0))
    return SvccaSide(basis)


def svcca_of_sides(x: SvccaSide, y: SvccaSide) -> float:
    """Mean canonical correlation between the two sides' bases."""
    return torch.linalg.svdvals(x.basis.T @ y.basis).clamp(max=1.0).mean().item()


def svcca(X: torch.Tensor, Y: torch.Tensor, variance: float = 0.99) -> float:
    """SVCCA (Raghu et al. 2017): SVD to ``variance``, then the mean canonical correlation."""
    return svcca_of_sides(svcca_side(X, variance), svcca_side(Y, variance))
