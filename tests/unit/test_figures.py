"""Report figures: the information-imbalance plane puts a case where A predicts E on the side its caption names,
examples pick the extreme cosines, null histograms cover every view, and every map figure is written."""

from __future__ import annotations

import csv
import re

import numpy as np
import pytest
import torch

from freqmaps import figures, stats
from freqmaps.outcomes import KEPT, TARGET_LOST
from tests.conftest import REPO

CAPTION = REPO / "workflow" / "report" / "information_imbalance_plane.rst"
NULLS = ("random", "within_class")


def write_rows(path, rows):
    fields = list(dict.fromkeys(k for r in rows for k in r))
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def imbalance_rows(delta_e_to_a: float, delta_a_to_e: float, view: str = "maps") -> list[dict]:
    """Contract rows of both directions (k = 1) with nulls near 1 (no information)."""
    rows = []
    for direction, value in (("E_to_A", delta_e_to_a), ("A_to_E", delta_a_to_e)):
        row = {"view": view, "statistic": "information_imbalance", "direction": direction, "k": 1, "n": 60}
        row |= {"value": value, "ci_low": value - 0.02, "ci_high": value + 0.02, "ci_method": "half_sample"}
        row["related_when"] = "smaller"
        for null in NULLS:
            row |= {f"{null}_null_mean": 0.98, f"{null}_null_sd": 0.02, f"{null}_p_value": 0.01}
        rows.append(row | {"note": ""})
    return rows


def test_a_case_where_a_predicts_e_lands_on_the_side_the_caption_names(tmp_path):
    # A holds E's coordinates plus independent ones: A's neighbours are E's neighbours, not the reverse
    generator = torch.Generator().manual_seed(0)
    E = torch.rand(60, 1, generator=generator, dtype=torch.float64)
    A = torch.cat([E, 0.5 * torch.rand(60, 2, generator=generator, dtype=torch.float64)], 1)
    result = stats.information_imbalance(E, A)  # x_to_y = Δ(E→A), y_to_x = Δ(A→E)
    assert result["y_to_x"] < result["x_to_y"] / 2
    write_rows(tmp_path / "pgd.csv", imbalance_rows(result["x_to_y"], result["y_to_x"]))
    ((attack, k, x, y),) = figures.information_imbalance_plane([tmp_path / "pgd.csv"], ["pgd"], tmp_path / "plane.png")
    assert (attack, k) == ("pgd", 1) and x == pytest.approx(result["x_to_y"]) and y == pytest.approx(result["y_to_x"])
    assert y < x  # below the diagonal
    caption = " ".join(CAPTION.read_text().split())
    below = re.search(r"\*\*Below the diagonal\*\*[^.]*\.", caption).group(0)
    assert "*adversarial* maps predict the essential maps' neighbourhoods" in below
    assert (tmp_path / "plane.png").stat().st_size > 0


def test_the_plane_zooms_to_its_points(tmp_path, monkeypatch):
    write_rows(tmp_path / "t.csv", imbalance_rows(0.95, 0.90))  # intervals 0.88 to 0.97, null means 0.98
    captured = {}
    original = figures._save

    def keep_limits(fig, path):
        captured["limits"] = fig.axes[0].get_xlim(), fig.axes[0].get_ylim()
        original(fig, path)

    monkeypatch.setattr(figures, "_save", keep_limits)
    figures.information_imbalance_plane([tmp_path / "t.csv"], ["pgd"], tmp_path / "plane.png")
    for low, high in captured["limits"]:
        assert 0.85 < low < 0.88 and 0.98 < high < 1.01  # the points, not the whole [0, 1.1] square


def test_examples_are_the_images_with_the_highest_and_lowest_cosine():
    cosine = {0: 0.1, 1: 0.9, 2: 0.5, 3: 0.95, 4: 0.05, 5: 0.3, 7: 0.99}
    assert figures.extreme_images(cosine, [0, 1, 2, 3, 4, 5, 6], 2) == [3, 1, 0, 4]
    assert figures.extreme_images(cosine, [1, 2, 3], 2) == [3, 1, 2]  # no image twice


def test_band_centres_are_in_cycles_per_image_and_degrees():
    radial, angular = figures.band_centres(4, 28)
    assert radial[0] == pytest.approx(np.sqrt(2) * 14 / 8) and radial[-1] < np.sqrt(2) * 14
    assert angular.tolist() == [-135.0, -45.0, 45.0, 135.0]


def test_null_histograms_cover_every_view(tmp_path):
    rows, draws = [], []
    for view in ("maps", "radial_bands", "angular_bands"):
        cosine = {"view": view, "statistic": "cosine", "direction": "", "k": "", "n": 60, "value": 0.4}
        cosine |= {"ci_low": 0.3, "ci_high": 0.5, "ci_method": "jackknife", "related_when": "larger"}
        cosine |= {f"{n}_{c}": v for n in NULLS for c, v in (("null_mean", 0.1), ("null_sd", 0.05), ("p_value", 0.01))}
        rows += [cosine | {"note": ""}, *imbalance_rows(0.9, 0.8, view)]
        for row in rows[-3:]:
            draws += [
                {key: row[key] for key in ("view", "statistic", "direction", "k")} | {"null": n, "draw": d, "value": v}
                for n in NULLS
                for d, v in enumerate(np.linspace(0, 1, 20))
            ]
    write_rows(tmp_path / "t.csv", rows)
    write_rows(tmp_path / "d.csv", draws)
    panels = figures.null_histograms(tmp_path / "t.csv", tmp_path / "d.csv", tmp_path / "nulls.png")
    assert {view for view, *_ in panels} == {"maps", "radial_bands", "angular_bands"}
    assert len(panels) == 9 and (tmp_path / "nulls.png").stat().st_size > 0


def test_map_figures_are_written(tmp_path):
    generator = torch.Generator().manual_seed(0)
    n, classes = 12, ("a", "b", "c")
    labels = torch.arange(n) % 3
    maps = (torch.rand(n, 1, 8, 8, generator=generator) ** 8).float()
    outcome = torch.full((n,), KEPT)
    outcome[0] = TARGET_LOST
    essential = {"maps": maps, "ids": torch.arange(n), "labels": labels, "targets": labels, "outcome": outcome}
    adversarial = dict(essential, maps=maps.flip(-1), outcome=torch.full((n,), KEPT))
    attack = {
        "clean": torch.rand(n, 1, 8, 8, generator=generator),
        "adversarial": torch.rand(n, 1, 8, 8, generator=generator),
        "labels": labels,
        "adversarial_labels": (labels + 1) % 3,
    }
    cosine = {i: float(i) / n for i in range(n)}
    figures.class_mean_maps(essential, adversarial, classes, tmp_path / "means.png")
    figures.examples(attack, essential, adversarial, classes, tmp_path / "examples.png", cosine)
    figures.band_profiles(essential, adversarial, tmp_path / "bands.png", n_bands=6)
    for name in ("means.png", "examples.png", "bands.png"):
        assert (tmp_path / name).stat().st_size > 0
