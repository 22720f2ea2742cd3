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


# ------------------------------------------------------------------ how every map figure reads (issue 30)
@pytest.fixture
def drawn(monkeypatch):
    """The figures the report's figure functions save, kept open for their matplotlib objects."""
    from freqmaps import plotting
    from freqmaps.baselines import figures as baseline_figures

    kept = []

    def keep(fig, path):
        kept.append(fig)
        fig.canvas.draw()  # tick labels laid out, as in the saved file

    monkeypatch.setattr(figures, "_save", keep)
    monkeypatch.setattr(baseline_figures, "save_figure", keep)
    yield kept
    for fig in kept:
        plotting.plt.close(fig)


def map_panels(fig) -> list:
    """The axes of a figure that draw a spectrum: an image with the frequency extent (DC at (0, 0); a plain
    image starts at -0.5)."""
    return [ax for ax in fig.axes if ax.images and not hasattr(ax, "_colorbar") and ax.images[0].get_extent()[0] < -1]


def assert_reads_as_a_map_figure(fig) -> None:
    """Axes in cycles/image, a colour bar, a perceptually uniform colour map, the zero frequency marked."""
    from freqmaps.plotting import PERCEPTUALLY_UNIFORM

    panels = map_panels(fig)
    assert panels, "no map panel"
    assert any("cycles/image" in ax.get_xlabel() for ax in panels)
    assert any("cycles/image" in ax.get_ylabel() for ax in panels)
    assert any(hasattr(ax, "_colorbar") for ax in fig.axes), "no colour bar"
    for ax in panels:
        assert ax.images[0].get_cmap().name in PERCEPTUALLY_UNIFORM  # never jet
        left, right, bottom, top = ax.images[0].get_extent()
        for ticks, (low, high) in ((ax.get_xticks(), (left, right)), (ax.get_yticks(), (top, bottom))):
            assert 0 in ticks and all(low < t < high for t in ticks), (ticks, low, high)  # frequencies shown
        (dc,) = [line for line in ax.lines if line.get_gid() == "dc"]
        assert tuple(dc.get_xydata()[0]) == (0, 0)


@pytest.mark.parametrize("size", [1, 2, 3, 7, 8, 16, 28, 32, 64, 128, 224, 299])
def test_frequency_ticks_are_round_frequencies_on_the_axis(size):
    from freqmaps.plotting import frequency_ticks

    ticks = frequency_ticks(size)
    assert 0 in ticks and len(ticks) <= 7
    assert -(size // 2) <= min(ticks) and max(ticks) <= size - size // 2 - 1  # the axis's frequencies
    steps = set(np.diff(ticks)) or {1}
    assert len(steps) == 1 and str(steps.pop()).lstrip("0")[0] in "125"  # one round step
    assert size < 3 or len(ticks) >= 3


def tiny_maps(n=12, side=8):
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(n) % 3
    maps = (torch.rand(n, 1, side, side, generator=generator) ** 8).float()
    outcome = torch.full((n,), KEPT)
    essential = {"maps": maps, "ids": torch.arange(n), "labels": labels, "targets": labels.clone(), "outcome": outcome}
    adversarial = dict(essential, maps=maps.flip(-1).contiguous())
    attack = {
        "clean": torch.rand(n, 1, side, side, generator=generator),
        "adversarial": torch.rand(n, 1, side, side, generator=generator),
        "labels": labels,
        "adversarial_labels": (labels + 1) % 3,
    }
    return essential, adversarial, attack


def test_class_means_examples_and_planted_bands_read_as_map_figures(tmp_path, drawn):
    essential, adversarial, attack = tiny_maps()
    figures.class_mean_maps(essential, adversarial, ("a", "b", "c"), tmp_path / "means.png")
    figures.examples(attack, essential, adversarial, ("a", "b", "c"), tmp_path / "examples.png")
    bands = torch.zeros(3, 8, 8, dtype=torch.bool)
    bands[:, 2, 3] = True
    figures.planted_and_learned(bands, essential, {"pgd": adversarial}, ("a", "b", "c"), tmp_path / "planted.png")
    for fig in drawn:
        assert_reads_as_a_map_figure(fig)


def test_in_examples_no_image_touches_the_map_beside_it(tmp_path, drawn):
    """Issue 30: the clean image and its essential map touched (the map's frequency ticks ran into it)."""
    essential, adversarial, attack = tiny_maps()
    figures.examples(attack, essential, adversarial, ("a", "b", "c"), tmp_path / "examples.png")
    (fig,) = drawn
    renderer = fig.canvas.get_renderer()
    axes = np.array(fig.axes[: 4 * 6]).reshape(-1, 4)  # rows of image, map, attacked image, map
    for row in axes:
        for left, right in zip(row[:-1], row[1:], strict=True):
            assert left.get_tightbbox(renderer).x1 < right.get_tightbbox(renderer).x0


def test_the_cosine_histogram_leaves_the_nulls_visible(tmp_path, drawn):
    essential, adversarial, _ = tiny_maps()
    ids, e_rows, a_rows = figures.both_kept(essential, adversarial)
    cosine = stats.cosine_per_image(
        stats.features(essential["maps"][e_rows]), stats.features(adversarial["maps"][a_rows])
    )
    write_rows(
        tmp_path / "per_image.csv",
        [{"id": int(i), "label": int(i) % 3, "cosine": float(c)} for i, c in zip(ids, cosine, strict=True)],
    )
    figures.cosine_against_nulls(tmp_path / "per_image.csv", essential, adversarial, 0, tmp_path / "cosine.png")
    (ax,) = drawn[0].axes
    filled = [p for p in ax.patches if p.get_fill()]
    outlines = [p for p in ax.patches if not p.get_fill()]
    assert filled and all(p.get_alpha() <= 0.5 for p in filled)  # the two nulls, see-through
    assert len(outlines) == 1 and outlines[0].get_edgecolor()[:3] == pytest.approx((0.12, 0.47, 0.71), abs=0.01)


def test_the_heat_map_and_baseline_mean_maps_read_as_map_figures(tmp_path, drawn):
    from freqmaps.baselines.figures import heat_map_figure, mean_maps_figure
    from freqmaps.io import save_tensors

    heat = {"error_rate": torch.rand(8, 8), "loss_change": torch.randn(8, 8)}
    save_tensors(tmp_path / "heat.safetensors", heat, {"settings": {"norm": 2.0}, "n_images": 4})
    heat_map_figure(tmp_path / "heat.safetensors", tmp_path / "heat.png")
    essential, adversarial, _ = tiny_maps()
    for kind, data in (("essential", essential), ("adversarial", adversarial)):
        save_tensors(tmp_path / f"{kind}.safetensors", data, {})
        baselines = {"ids": data["ids"], "saliency": torch.rand(12, 1, 8, 8)}
        save_tensors(tmp_path / f"{kind}_baselines.safetensors", baselines, {"baselines": ["saliency"]})
    mean_maps_figure(
        essential_path=tmp_path / "essential.safetensors",
        adversarial_path=tmp_path / "adversarial.safetensors",
        clean_path=tmp_path / "essential_baselines.safetensors",
        attack_path=tmp_path / "adversarial_baselines.safetensors",
        class_names=("a", "b", "c"),
        path=tmp_path / "mean_maps.png",
    )
    assert len(drawn) == 2
    for fig in drawn:
        assert_reads_as_a_map_figure(fig)
    assert len(map_panels(drawn[1])) == 4 * 3  # essential, saliency, adversarial, saliency x three classes


def test_the_frequency_bias_masks_read_as_map_figures(tmp_path, monkeypatch, drawn):
    from freqmaps.frequency_bias import figures as bias_figures

    monkeypatch.setattr(bias_figures, "save_figure", lambda fig, path: drawn.append(fig))
    generator = torch.Generator().manual_seed(0)
    galleries = {variant: {"shifted": torch.rand(1, 8, 8, generator=generator)} for variant in ("standard", "noise")}
    bias_figures.frequency_bias_masks(galleries, tmp_path / "masks.png")
    (fig,) = drawn
    assert_reads_as_a_map_figure(fig)
    assert len(map_panels(fig)) == 4  # masks and their differences, all on frequency axes
