"""Contrasts between two (model, attack) cells (freqmaps.contrasts, docs/METHOD.md §4.11) on constructed cells
with a known answer: identical cells differ by nothing, a planted difference is found with its sign, and the
paired interval covers the truth at its level where an unpaired one is wider."""

import math

import numpy as np
import pytest
import scipy.stats
import torch

from freqmaps.contrasts import Cell, _mean_difference, _recomputed_difference, common_rows, contrast_maps, contrast_rows
from freqmaps.stats import STATISTICS, StatsSettings

SMALL = dict(n_null=19, n_bootstrap=40, n_half_samples=8, k=[1])


def _cells(n=40, d=12, noise_b=None, seed=0, noise_a=0.3):
    g = torch.Generator().manual_seed(seed)
    E = torch.randn(n, d, generator=g)
    A_a = E + noise_a * torch.randn(n, d, generator=g)
    A_b = torch.randn(n, d, generator=g) if noise_b is None else E + noise_b * torch.randn(n, d, generator=g)
    return E, A_a, A_b


@pytest.mark.parametrize("name", list(STATISTICS))
def test_identical_cells_differ_by_nothing(name):
    E, A, _ = _cells()
    rows = contrast_rows(E, A, E.clone(), A.clone(), StatsSettings(statistics=[name], **SMALL), seed=0)
    assert rows
    for row in rows:
        assert row["difference"] == 0.0
        assert row["ci_low"] <= 0.0 <= row["ci_high"]
        assert row["p_value"] == 1.0  # every swap leaves the cells identical
        assert row["value_a"] == row["value_b"]
        assert row["null_sd"] == 0.0 and math.isnan(row["normality_p"])  # no normal tail: the permutation p


@pytest.mark.parametrize("name", list(STATISTICS))
def test_a_planted_difference_is_found_with_its_sign(name):
    """Cell a's A is E plus a little noise, cell b's A is unrelated to E: a is more related by every statistic
    (larger similarity, smaller information imbalance), the interval excludes 0 on that side, and no swap
    comes close (p within two draws of its floor 1 / (draws + 1): IdCor, an intrinsic-dimension estimate on 48
    points, is the noisiest)."""
    E, A_a, A_b = _cells(n=48, noise_a=0.1)
    rows = contrast_rows(E, A_a, E, A_b, StatsSettings(statistics=[name], **SMALL), seed=1)
    for row in rows:
        sign = 1 if row["related_when"] == "larger" else -1
        assert sign * row["difference"] > 0, row
        assert sign * row["ci_low"] > 0 if sign > 0 else row["ci_high"] < 0, row
        assert row["p_value"] <= 2 / 20, row
        assert row["n_pairs"] == 48 and row["permutations"] == 19
    flipped = contrast_rows(E, A_b, E, A_a, StatsSettings(statistics=[name], **SMALL), seed=1)
    for row, back in zip(rows, flipped, strict=True):
        assert back["difference"] == pytest.approx(-row["difference"])


def test_a_planted_contrast_passes_among_107_null_tests_through_the_normal_tail():
    """The swap draws' mean, sd and normality p-value are kept beside the permutation p, so the verdict reads a
    contrast by the same rule as its own rows: with 100 swaps the permutation p is at least 1/101, which BH over
    108 tests (107 true-null verdict rows) cannot pass; the normal tail of the swap distribution (centred on 0:
    swapping every image negates the difference) can. A table without the draws' columns keeps the permutation
    p."""
    from freqmaps import verdict
    from tests.unit.test_verdict import simulated_family, simulated_null

    E, A_a, A_b = _cells(n=48, noise_a=0.1)
    (row,) = contrast_rows(E, A_a, E, A_b, StatsSettings(statistics=["cosine"], **{**SMALL, "n_null": 100}), seed=1)
    assert row["p_value"] == pytest.approx(1 / 101) and abs(row["null_mean"]) < 0.3 * row["null_sd"]
    assert row["normality_p"] >= verdict.NORMALITY_LEVEL
    about = {"contrast": "c", "dataset": "d", "seed": 0, "model_a": "m", "attack_a": "pgd", "model_b": "m"}
    contrast = about | {"attack_b": "fgsm", "view": "maps"} | row
    summary, draws = simulated_family([simulated_null(np.random.default_rng(2), seed=i) for i in range(107)])
    (shown,) = verdict.contrast_rows(summary, [contrast], draws=draws)
    assert shown["p_method"] == "normal_tail" and shown["p_adjusted"] <= 0.05
    assert shown["reading"] == "a (m / pgd) more related than b (m / fgsm)"
    rows = verdict.verdict_rows(summary, draws, contrasts=[contrast])  # the same family: BH of every used p
    used = [verdict.used_p(r, "random") for r in rows] + [verdict.used_p(shown)]
    expected = scipy.stats.false_discovery_control(used, method="bh")
    assert [r["random_p_adjusted"] for r in rows] + [shown["p_adjusted"]] == pytest.approx(expected)
    (permutation,) = verdict.contrast_rows(summary, [contrast], draws=draws, p_value="permutation")
    assert permutation["reading"] == "undetermined (too few permutations: raise stats.n_null)"
    older = {key: value for key, value in contrast.items() if key not in ("null_mean", "null_sd", "normality_p")}
    (kept,) = verdict.contrast_rows(summary, [older], draws=draws)
    assert kept["p_method"] == "permutation" and kept["reading"].startswith("undetermined (too few permutations")


def test_per_image_shortcut_is_the_recomputed_difference():
    """Cosine's swaps and resamples through its per-image differences equal recomputing it on the swapped or
    resampled pairs (the shortcut flips d_i's sign)."""
    E, A_a, A_b = (x.double() for x in _cells(noise_b=1.0))
    settings = StatsSettings(statistics=["cosine"], **SMALL)
    from freqmaps.stats import statistic_values

    per_image = statistic_values("cosine", E, A_a, settings)[1] - statistic_values("cosine", E, A_b, settings)[1]
    fast = _mean_difference(per_image)
    slow = _recomputed_difference("cosine", E, A_a, E, A_b, settings)
    g = torch.Generator().manual_seed(3)
    swap = torch.rand(len(E), generator=g) < 0.5
    index = torch.randint(0, len(E), (len(E),), generator=g)
    assert fast(swap=swap) == pytest.approx(slow(swap=swap))
    assert fast(index) == pytest.approx(slow(index))
    assert fast() == pytest.approx(slow())


def _unpaired_interval(values_a, values_b, n_draws, g):
    """Each cell's mean bootstrapped on its own, as if the cells held different images."""
    n = len(values_a)
    draws = []
    for _ in range(n_draws):
        rows_a, rows_b = (torch.randint(0, n, (n,), generator=g) for _ in range(2))
        draws.append(values_a[rows_a].mean() - values_b[rows_b].mean())
    return np.quantile(draws, 0.025), np.quantile(draws, 0.975)


def test_paired_interval_covers_the_truth_and_is_narrower_than_unpaired():
    """Two cells whose per-image alignment shares an image effect (each image's noise level is the same in
    both) and no difference: over 150 simulations, the paired interval covers 0 about 95% of the time and the
    swap test rejects at about its level; an unpaired interval (each cell resampled on its own) is much
    wider, since it ignores that an image aligns alike in both cells."""
    settings = StatsSettings(statistics=["cosine"], n_null=19, n_bootstrap=200, n_half_samples=2, k=[1])
    g = torch.Generator().manual_seed(0)
    covered, rejected, paired_width, unpaired_width = 0, 0, [], []
    n, d, runs = 40, 32, 150
    from freqmaps.stats import cosine_per_image

    for run in range(runs):
        E = torch.randn(n, d, generator=g)
        level = torch.rand(n, 1, generator=g) * 3  # the image effect, shared by both cells
        A_a = E + level * torch.randn(n, d, generator=g)
        A_b = E + level * torch.randn(n, d, generator=g)
        (row,) = contrast_rows(E, A_a, E, A_b, settings, seed=run)
        covered += row["ci_low"] <= 0 <= row["ci_high"]
        rejected += row["p_value"] <= 0.05
        paired_width.append(row["ci_high"] - row["ci_low"])
        low, high = _unpaired_interval(cosine_per_image(E, A_a), cosine_per_image(E, A_b), 200, g)
        unpaired_width.append(high - low)
    assert 0.88 <= covered / runs <= 0.99
    assert rejected / runs <= 0.12
    assert np.mean(unpaired_width) > 1.5 * np.mean(paired_width)


def test_only_images_kept_in_both_cells_are_compared():
    ids, rows_a, rows_b = common_rows(torch.tensor([1, 3, 4, 7]), torch.tensor([0, 3, 7, 9, 4]))
    assert ids.tolist() == [3, 4, 7]
    assert rows_a.tolist() == [1, 2, 3] and rows_b.tolist() == [1, 4, 2]
    maps = torch.rand(5, 1, 6, 6, generator=torch.Generator().manual_seed(0))
    a = Cell(torch.tensor([1, 3, 4, 7]), maps[:4], maps[:4])
    b = Cell(torch.tensor([0, 3, 7, 9, 4]), maps, maps)
    settings = StatsSettings(statistics=["cosine"], **SMALL)
    (row,) = contrast_maps(a, b, settings, 0, torch.device("cpu"))
    assert row["n_pairs"] == 3


def test_a_row_that_cannot_be_computed_has_no_p_value():
    E, A_a, A_b = _cells(n=6, d=3)
    rows = contrast_rows(E, A_a, E, A_b, StatsSettings(statistics=["information_imbalance"], **{**SMALL, "k": [10]}), 0)
    assert all(math.isnan(r["difference"]) and math.isnan(r["p_value"]) for r in rows)


# ------------------------------------------------------------------ the config's contrasts
def _tiny(**contrast):
    import yaml

    from tests.conftest import TINY_CONFIG

    config = yaml.safe_load(TINY_CONFIG.read_text())
    config["contrasts"] = [
        {"a": {"model": "cnn", "attack": "pgd"}, "b": {"model": "cnn", "attack": "fgsm"}, **contrast}
    ]
    return config


MODELS = ["cnn", "bias_standard", "bias_adversarial"]


def test_contrasts_get_a_name_and_every_configured_statistic_and_view():
    from freqmaps.config import contrasts, validate_config

    config = _tiny()
    config["contrasts"].append(
        {
            "name": "robust",
            "a": {"model": "bias_adversarial", "attack": "pgd"},
            "b": {"model": "bias_standard", "attack": "pgd"},
            "views": ["maps"],
        }
    )
    validate_config(config)
    first, second = contrasts(config, MODELS)
    assert first["name"] == "cnn_pgd_vs_cnn_fgsm"
    assert first["statistics"] == StatsSettings().statistics and first["views"] == StatsSettings().views
    assert second["name"] == "robust" and second["views"] == ["maps"]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda c: c["contrasts"][0]["a"].update(model="resnet"), "contrasts.0.a.model: 'resnet' is not a model"),
        (lambda c: c["contrasts"][0]["b"].update(attack="cw"), "contrasts.0.b.attack: 'cw' is not under attacks"),
        (lambda c: c["contrasts"][0]["b"].update(attack="pgd"), "contrasts.0: a and b are the same cell"),
        (
            lambda c: c["contrasts"].append(dict(c["contrasts"][0])),
            "contrasts.1.name: 'cnn_pgd_vs_cnn_fgsm' is already",
        ),
        (
            lambda c: c["stats"].update(statistics=["cosine"]) or c["contrasts"][0].update(statistics=["cka"]),
            "contrasts.0.statistics: ['cka'] not computed",
        ),
        (
            lambda c: c["stats"].update(views=["maps"]) or c["contrasts"][0].update(views=["radial_bands"]),
            "contrasts.0.views",
        ),
    ],
)
def test_a_contrast_of_cells_not_in_the_experiment_is_refused_naming_the_key(edit, expected):
    from freqmaps.config import ConfigError, contrasts

    config = _tiny()
    edit(config)
    with pytest.raises(ConfigError, match="contrasts are not valid") as caught:
        contrasts(config, MODELS)
    assert expected in str(caught.value)


def test_the_schema_refuses_a_cell_without_an_attack():
    from freqmaps.config import ConfigError, validate_config

    config = _tiny()
    del config["contrasts"][0]["b"]["attack"]
    with pytest.raises(ConfigError, match="contrasts.0.b: 'attack' is a required property"):
        validate_config(config)


# ------------------------------------------------------------------ BH with the verdict, readings
def _contrast(p, difference=0.2, related_when="larger", n_pairs=40, permutations=99):
    return {
        "contrast": "c", "dataset": "d", "seed": 0, "model_a": "m", "attack_a": "pgd", "model_b": "m",
        "attack_b": "fgsm", "view": "maps", "statistic": "cosine", "direction": "", "k": "", "n_pairs": n_pairs,
        "value_a": 0.5, "value_b": 0.5 - difference, "difference": difference, "ci_low": difference - 0.1,
        "ci_high": difference + 0.1, "ci_method": "bootstrap", "related_when": related_when, "p_value": p,
        "permutations": permutations,
    }  # fmt: skip


def test_contrasts_join_the_verdicts_benjamini_hochberg_family():
    """The verdict's two-sided p-values and the contrasts' p-values are adjusted as one family: the adjusted
    values are scipy's BH of their concatenation, and a contrast changes the verdict's adjusted p-values."""
    import scipy.stats

    from freqmaps import verdict
    from tests.unit.test_verdict import summary_row

    summary = [summary_row(p=(0.01, 0.5), p_less=(0.99, 0.5)), summary_row(statistic="pearson", p=(0.02, 0.3))]
    contrasts = [_contrast(0.04), _contrast(0.5), _contrast(0.01, n_pairs=3)]  # the last: too few pairs, outside
    alone = verdict.verdict_rows(summary, {}, min_pairs=10)
    joint = verdict.verdict_rows(summary, {}, min_pairs=10, contrasts=contrasts)
    table = verdict.contrast_rows(summary, contrasts, min_pairs=10)
    nulls = ("random", "within_class")
    verdict_p = [verdict.two_sided_p(r[f"{n}_p_value"], r[f"{n}_p_less"]) for r in summary for n in nulls]
    expected = scipy.stats.false_discovery_control(verdict_p + [0.04, 0.5], method="bh")
    assert [r[f"{n}_p_adjusted"] for r in joint for n in nulls] == pytest.approx(expected[:4])
    assert [r["p_adjusted"] for r in table[:2]] == pytest.approx(expected[4:])
    assert math.isnan(table[2]["p_adjusted"]) and table[2]["reading"].startswith("undetermined (n = 3 pairs")
    adjusted_alone = [r[f"{n}_p_adjusted"] for r in alone for n in nulls]
    assert adjusted_alone == pytest.approx(scipy.stats.false_discovery_control(verdict_p, method="bh"))
    assert adjusted_alone != pytest.approx([r[f"{n}_p_adjusted"] for r in joint for n in nulls])


@pytest.mark.parametrize(
    ("row", "reading"),
    [
        (_contrast(0.001, 0.2), "a (m / pgd) more related than b (m / fgsm)"),
        (_contrast(0.001, -0.2), "b (m / fgsm) more related than a (m / pgd)"),
        (_contrast(0.001, 0.2, related_when="smaller"), "b (m / fgsm) more related than a (m / pgd)"),  # Δ larger in a
        (_contrast(0.6, 0.01), "not distinguishable"),
        (_contrast(1 / 20, 0.3, permutations=19), "undetermined (too few permutations: raise stats.n_null)"),
        (_contrast(float("nan"), float("nan")), "not computed (no value)"),
    ],
)
def test_contrast_reading(row, reading):
    from freqmaps import verdict

    shown, _ = verdict.contrast_rows([], [row, _contrast(0.9)])  # a family of two
    assert shown["reading"] == reading


# ------------------------------------------------------------------ the stage, from maps files to contrasts.csv
def _maps_files(path, ids, maps, targets=None):
    from freqmaps.io import save_tensors
    from freqmaps.outcomes import KEPT

    n = len(ids)
    save_tensors(
        path,
        {
            "maps": maps,
            "ids": torch.tensor(ids),
            "targets": torch.zeros(n, dtype=torch.long) if targets is None else targets,
            "labels": torch.arange(n) % 2,
            "steps": torch.ones(n, dtype=torch.long),
            "outcome": torch.full((n,), KEPT),
            "final_loss": torch.zeros(n, dtype=torch.float64),
        },
        {},
    )


def test_stage_chain_writes_contrasts_adjusted_with_the_verdict_and_the_forest_plot(tmp_path, monkeypatch):
    """Two cells on one model: attack a's maps equal the essential maps up to a little noise, attack b's are
    unrelated; the stages write each cell's statistics and the contrast, and the summary's contrasts.csv says a
    is more related (only images kept in both cells: b lacks image 0)."""
    from freqmaps import figures
    from freqmaps.io import read_csv
    from freqmaps.stages.contrast import contrast
    from freqmaps.stages.correlate import correlate
    from freqmaps.stages.summary import summarise

    g = torch.Generator().manual_seed(0)
    n = 30
    essential = torch.rand(n, 1, 6, 6, generator=g)
    _maps_files(tmp_path / "E.safetensors", list(range(n)), essential)
    _maps_files(tmp_path / "a.safetensors", list(range(n)), essential + 0.05 * torch.rand(n, 1, 6, 6, generator=g))
    _maps_files(tmp_path / "b.safetensors", list(range(1, n)), torch.rand(n - 1, 1, 6, 6, generator=g))
    stats_cfg = dict(
        statistics=["cosine", "cka"],
        views=["maps"],
        nulls=["random"],
        n_null=199,
        n_bootstrap=20,
        n_half_samples=4,
        min_pairs=5,
    )
    runs, tables, draws = [], [], []
    for attack in ("a", "b"):
        paths = {key: tmp_path / f"{attack}_{key}.csv" for key in ("table", "per_image", "draws")}
        correlate(
            essential_path=tmp_path / "E.safetensors",
            adversarial_path=tmp_path / f"{attack}.safetensors",
            stats_cfg=stats_cfg,
            seed=0,
            device="cpu",
            table_path=paths["table"],
            per_image_path=paths["per_image"],
            null_draws_path=paths["draws"],
        )
        runs.append({"dataset": "d", "model": "m", "seed": 0, "attack": attack})
        tables.append(paths["table"])
        draws.append(paths["draws"])
    contrast(
        maps={
            "a": (tmp_path / "E.safetensors", tmp_path / "a.safetensors"),
            "b": (tmp_path / "E.safetensors", tmp_path / "b.safetensors"),
        },
        stats_cfg=stats_cfg,
        statistics=["cosine", "cka"],
        views=["maps"],
        seed=0,
        device="cpu",
        table_path=tmp_path / "contrast.csv",
    )
    about = {
        "contrast": "a_vs_b",
        "dataset": "d",
        "seed": 0,
        "model_a": "m",
        "attack_a": "a",
        "model_b": "m",
        "attack_b": "b",
    }
    summarise(
        runs=runs,
        table_paths=tables,
        null_draws_paths=draws,
        summary_path=tmp_path / "summary.csv",
        all_draws_path=tmp_path / "null_draws.csv",
        verdict_path=tmp_path / "verdict.csv",
        verdict_html=tmp_path / "verdict.html",
        min_pairs=5,
        contrasts=[about],
        contrast_paths=[tmp_path / "contrast.csv"],
        contrasts_path=tmp_path / "contrasts.csv",
    )
    rows = read_csv(tmp_path / "contrasts.csv")
    assert [r["statistic"] for r in rows] == ["cosine", "cka"]
    for row in rows:
        assert row["contrast"] == "a_vs_b" and row["view"] == "maps" and int(row["n_pairs"]) == n - 1
        assert float(row["difference"]) > 0 and float(row["ci_low"]) > 0
        assert float(row["p_adjusted"]) <= 0.05
        assert row["reading"] == "a (m / a) more related than b (m / b)"
    assert "Contrasts between cells" in (tmp_path / "verdict.html").read_text()
    drawn = []
    monkeypatch.setattr(figures, "_save", lambda fig, path: drawn.append(path))
    labels = figures.contrast_forest(tmp_path / "contrasts.csv", tmp_path / "forest.png")
    assert labels == ["a_vs_b · cosine", "a_vs_b · cka"] and drawn


@pytest.mark.parametrize("name", ["cosine", "pearson"])
def test_a_per_image_contrast_is_taken_over_the_images_defined_in_both_cells(name):
    """A map without variation (e.g. DC-only, DC left out) makes its image's similarity undefined in its cell:
    the contrast compares the two cells on the images defined in both, and its interval and draws are finite."""
    E, A_a, A_b = _cells(n=48, noise_a=0.1)
    E_b = E.clone()
    E_b[0] = 0.0  # undefined in cell b only
    A_a = A_a.clone()
    A_a[1] = 0.0  # undefined in cell a only
    (row,) = contrast_rows(E, A_a, E_b, A_b, StatsSettings(statistics=[name], **SMALL), seed=1)
    both = torch.ones(48, dtype=torch.bool)
    both[[0, 1]] = False
    per_image = STATISTICS[name]  # the registry's per-image function through the public values
    from freqmaps.stats import statistic_values

    a = statistic_values(name, E[both], A_a[both], StatsSettings(statistics=[name], **SMALL))[0][0]
    b = statistic_values(name, E_b[both], A_b[both], StatsSettings(statistics=[name], **SMALL))[0][0]
    assert per_image.related_when == "larger"
    assert row["value_a"] == pytest.approx(a) and row["value_b"] == pytest.approx(b)
    assert row["difference"] == pytest.approx(a - b) and row["difference"] > 0
    assert all(math.isfinite(row[key]) for key in ("ci_low", "ci_high", "p_value", "null_mean", "null_sd"))
    assert row["p_value"] <= 2 / 20
