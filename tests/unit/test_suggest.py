"""freqmaps.suggest (issue 30): the attack budget comes from the model's own minimal perturbations (a linear
model's are known exactly), and lam from a sweep read by one rule."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from freqmaps.models import freeze
from freqmaps.suggest import minimal_perturbations, report, suggest, suggested_lam

CPU = torch.device("cpu")


class TwoClassLinear(nn.Module):
    """Logits (z, -z) with z = w . x + b: the minimal L2 perturbation of x is |z| / ||w||, its L-inf the same
    step along w, |z| / ||w|| * max|w| / ||w||."""

    def __init__(self, w: torch.Tensor, b: float) -> None:
        super().__init__()
        self.w, self.b = nn.Parameter(w), nn.Parameter(torch.tensor(b))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = x.flatten(1) @ self.w + self.b
        return torch.stack([z, -z], 1)


def test_deepfools_perturbations_are_the_minimal_ones_of_a_linear_model():
    torch.manual_seed(0)
    w = torch.randn(64, dtype=torch.float64)
    model = freeze(TwoClassLinear(w, -float(w.sum()) * 0.5))  # boundary through the grey image
    images = (0.5 + 0.05 * torch.randn(12, 1, 8, 8, dtype=torch.float64)).clamp(0, 1)
    z = images.flatten(1) @ w + model.b
    labels = (z < 0).long()  # class 0 where z > 0: every image correctly classified
    l2, linf = minimal_perturbations(model, images, labels)
    distance = z.abs() / w.norm()
    assert torch.allclose(l2, distance, rtol=0.05)  # the overshoot and the margin band past the boundary
    assert torch.allclose(linf, distance * w.abs().max() / w.norm(), rtol=0.05)


def test_lam_is_the_largest_that_keeps_most_maps():
    sweep = [{"lam": lam, "kept": kept} for lam, kept in ((0.01, 1.0), (0.05, 0.9), (0.1, 0.8), (0.5, 0.3))]
    assert suggested_lam(sweep) == 0.1
    assert suggested_lam(sweep, min_kept=0.95) == 0.01
    assert suggested_lam([{"lam": 0.2, "kept": 0.1}, {"lam": 0.05, "kept": 0.5}]) == 0.05  # none enough: smallest


def test_suggest_measures_and_reports_a_config_snippet():
    torch.manual_seed(0)
    model = freeze(nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 64, 3)))
    images = torch.rand(6, 1, 8, 8)
    labels = model(images).argmax(1)
    found = suggest(
        model=model, images=images, labels=labels, num_classes=3, device=CPU, lambdas=(0.01, 1.0), max_steps=20
    )
    assert found["n_images"] == 6 and found["n_flipped"] == 6
    assert found["eps_l2"] == pytest.approx(float(torch.tensor(found["deepfool_l2"]).median()))
    assert 0 < found["eps_linf"] <= found["eps_l2"] and not math.isnan(found["eps_linf"])
    assert [row["lam"] for row in found["sweep"]] == [0.01, 1.0] and found["lam"] in (0.01, 1.0)
    text = report(found, "tiny / cnn / seed 0")
    assert f"  lam: {found['lam']:g}" in text and f"eps: {found['eps_linf']:.3g}" in text
