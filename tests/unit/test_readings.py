"""Every plain-words reading on constructed cases whose answer is fixed by construction (docs/METHOD.md §4.1,
§4.10): the zero frequency (DC) handled explicitly, two-sided verdicts (identical, unrelated, anti-related,
DC-only maps), undetermined readings (too few null draws, too few pairs), the convergence caveat, and each
statistic's own random stream."""

from __future__ import annotations

import math

import pytest
import torch

from freqmaps import stats, verdict
from freqmaps.baselines import agreement
from freqmaps.fourier import dc_index, dc_share, without_dc
from freqmaps.synthetic import band_mass

SIZE = 8  # 8 x 8 spectra: DC at (4, 4)
DC = dc_index(SIZE, SIZE)
CPU = torch.device("cpu")


def settings(**changes) -> stats.StatsSettings:
    base = {
        "statistics": ["cosine", "pearson"],
        "nulls": ["random", "within_class"],
        "n_null": 400,
        "n_bootstrap": 50,
        "n_half_samples": 20,
        "k": [1],
        "views": ["maps"],
        "n_bands": 4,
    }
    return stats.StatsSettings(**{**base, **changes})


def verdict_of(E, A, labels, config, min_pairs=1, seed=0, **extra):
    """The verdict rows of one constructed comparison, as the summary stage builds them."""
    result = stats.compare_maps(E, A, labels, config, seed, CPU)
    keys = {"dataset": "constructed", "model": "m", "seed": seed, "attack": "a", "view": "maps"}
    summary = [{**keys, **row, **extra} for row in result.rows]
    draws = verdict.null_draw_values([{**keys, **draw} for draw in result.null_draws])
    return {row["statistic"]: row for row in verdict.verdict_rows(summary, draws, min_pairs)}


def random_maps(n, generator, dc=0.0):
    maps = torch.rand(n, 1, SIZE, SIZE, generator=generator)
    maps[..., DC[0], DC[1]] = dc
    return maps


def halves() -> tuple[torch.Tensor, torch.Tensor]:
    """Two disjoint sets of non-DC entries of the spectrum."""
    flat = torch.arange(SIZE * SIZE)
    first = (flat % 2 == 0).view(SIZE, SIZE)
    second = ~first
    for half in (first, second):
        half[DC] = False
    return first, second


# ------------------------------------------------------------------ the zero frequency
def test_dc_share_and_removal_on_a_constructed_map():
    maps = torch.zeros(2, 2, SIZE, SIZE)
    maps[0, :, DC[0], DC[1]] = 1.0  # DC alone
    maps[1, 0, 0, 0], maps[1, 0, DC[0], DC[1]] = 3.0, 1.0  # a quarter of the mass at DC
    assert dc_share(maps).tolist() == pytest.approx([1.0, 0.25])
    assert without_dc(maps)[..., DC[0], DC[1]].abs().sum() == 0 and maps[0, 0, DC[0], DC[1]] == 1.0
    rows = stats.features(maps, view="maps", dc=False)
    assert rows.shape == (2, 2 * (SIZE * SIZE - 1))  # one column fewer per channel
    assert rows[0].abs().sum() == 0 and rows[1].sum() == 3.0


def test_band_mass_judges_non_dc_mass_and_band_recovery_reports_dc_beside():
    band = torch.zeros(SIZE, SIZE, dtype=torch.bool)
    band[1, 1:4] = True
    maps = torch.zeros(1, 1, SIZE, SIZE)
    maps[0, 0, 1, 1:4] = 1.0  # everything in the band ...
    maps[0, 0, DC[0], DC[1]] = 3.0  # ... and half the L1 mass at DC
    assert band_mass(maps, band[None]).item() == pytest.approx(1.0)
    chosen = agreement.support(maps).any(1)
    result = agreement.band_recovery(maps, chosen, band[None], torch.tensor([0]))
    assert result["mass_in_band"] == pytest.approx(1.0) and result["chosen_in_band"] == pytest.approx(1.0)
    assert result["dc_share"] == pytest.approx(0.5) and result["chosen_dc"] == 1.0
    dc_only = torch.zeros(1, 1, SIZE, SIZE)
    dc_only[0, 0, DC[0], DC[1]] = 1.0
    assert band_mass(dc_only, band[None]).item() == 0.0  # no non-DC mass: nothing in the band


def test_dc_only_agreement_is_related_with_dc_and_not_without():
    """E and A share nothing but their DC entry: in about half the pairs both keep a large DC, in the others
    neither does (the rest of each map is independent noise). With DC the true pairs are more alike than
    re-paired ones; without it (``separate``, the default) nothing is shared, and value_with_dc shows what DC
    carried."""
    generator = torch.Generator().manual_seed(1)
    n = 80
    E, A = random_maps(n, generator), random_maps(n, generator)
    bright = 5.0 * torch.randint(0, 2, (n, 1), generator=generator)
    E[..., DC[0], DC[1]] = A[..., DC[0], DC[1]] = bright
    labels = torch.arange(n) % 4
    separate = verdict_of(E, A, labels, settings(dc="separate"))
    included = verdict_of(E, A, labels, settings(dc="include"))
    for name in ("cosine", "pearson"):
        assert included[name]["reading"] == "more related than the random re-pairing and the within-class re-pairing"
        assert separate[name]["reading"] == (
            "not distinguishable from the random re-pairing and the within-class re-pairing"
        )
        assert separate[name]["value_with_dc"] == pytest.approx(included[name]["value"])
        assert separate[name]["value_with_dc"] > separate[name]["value"]
    assert separate["cosine"]["E_dc_share"] == pytest.approx(float(dc_share(E).mean()))
    assert separate["cosine"]["dc"] == "separate" and "value_with_dc" not in included["cosine"]


# ------------------------------------------------------------------ two-sided verdicts
def test_identical_maps_read_more_related_by_every_statistic():
    generator = torch.Generator().manual_seed(2)
    E = random_maps(60, generator)
    config = settings(statistics=list(stats.STATISTICS), n_null=200)
    rows = verdict_of(E, E.clone(), torch.arange(60) % 3, config)
    for name, row in rows.items():
        assert row["reading"] == "more related than the random re-pairing and the within-class re-pairing", name


def test_unrelated_maps_read_not_distinguishable():
    generator = torch.Generator().manual_seed(3)
    rows = verdict_of(random_maps(60, generator), random_maps(60, generator), torch.arange(60) % 3, settings())
    for row in rows.values():
        assert row["reading"] == "not distinguishable from the random re-pairing and the within-class re-pairing"


def test_anti_aligned_maps_read_less_related_than_chance():
    """Each pair puts its mass on opposite halves of the spectrum, so a true pair never overlaps while half of
    the random re-pairings do: the maps avoid each other, less related than chance."""
    generator = torch.Generator().manual_seed(4)
    n = 60
    first, second = halves()
    group = torch.randint(0, 2, (n,), generator=generator).bool()
    E = random_maps(n, generator) * torch.where(group[:, None, None, None], first, second)
    A = random_maps(n, generator) * torch.where(group[:, None, None, None], second, first)
    labels = torch.randint(0, 3, (n,), generator=generator)  # classes unrelated to the halves
    row = verdict_of(E, A, labels, settings())["cosine"]
    assert row["reading"] == "less related than the random re-pairing and the within-class re-pairing"
    assert row["random_z"] < 0 and row["random_p_less"] < row["random_p_value"]


# ------------------------------------------------------------------ undetermined readings and caveats
def test_too_few_null_draws_read_undetermined_not_unrelated():
    """Identical maps beat every one of 9 draws (p at its floor 2/10 = 0.2): that can never pass, so the
    reading must say the draws were too few, not that the maps are unrelated. (9 draws are below the 20 that
    the normal tail needs: the permutation p is used.)"""
    generator = torch.Generator().manual_seed(5)
    E = random_maps(40, generator)
    row = verdict_of(E, E.clone(), torch.arange(40) % 2, settings(n_null=9))["cosine"]
    assert row["random_p_two_sided"] == pytest.approx(0.2) and row["random_p_method"] == "permutation"
    assert row["reading"].startswith("undetermined (too few null draws) against the random re-pairing")


def test_too_few_pairs_read_undetermined_with_n_and_leave_the_family():
    generator = torch.Generator().manual_seed(6)
    E = random_maps(12, generator)
    rows = verdict_of(E, E.clone(), torch.arange(12) % 2, settings(), min_pairs=20)
    assert rows["cosine"]["reading"] == "undetermined (n = 12 pairs, fewer than 20)"
    assert math.isnan(rows["cosine"]["random_p_adjusted"])


def test_maps_stopped_at_max_steps_add_a_caveat():
    generator = torch.Generator().manual_seed(7)
    E = random_maps(40, generator)
    shares = {"essential_at_max_steps": 0.05, "adversarial_at_max_steps": 0.66}
    row = verdict_of(E, E.clone(), torch.arange(40) % 2, settings(), **shares)["cosine"]
    assert row["reading"].endswith("; caveat: 66% of the adversarial maps stopped at max_steps")
    assert row["adversarial_at_max_steps"] == 0.66
    rendered = verdict.rendered_verdict([row])[0]
    assert rendered["at max_steps E / A"] == "0.05 / 0.66"


def test_null_draws_warning_says_how_many_draws_the_tests_need():
    config = {"statistics": ["cosine", "information_imbalance"], "views": ["maps"], "k": [1, 5], "nulls": ["random"]}
    config["p_value"] = "permutation"
    assert verdict.family_size(config, n_runs=2) == 2 * (1 + 4)
    assert verdict.null_draws_warning({**config, "n_null": 399}, n_runs=2) is None  # 10 * 2 / 400 = 0.05
    message = verdict.null_draws_warning({**config, "n_null": 100}, n_runs=2)
    assert "stats.n_null" in message and ">= 399" in message


def test_the_null_draws_warning_counts_the_contrasts_and_concerns_permutation_p_values_only():
    """The contrasts' p-values are in the verdict's family (3 datasets x seeds x 1 view x (1 + 4) rows here), and
    under normal_tail with at least 20 draws no lone effect is held back by the permutation floor in advance."""
    config = {"statistics": ["cosine", "information_imbalance"], "views": ["maps"], "k": [1, 5], "nulls": ["random"]}
    contrast = {"statistics": ["cosine", "information_imbalance"], "views": ["maps"]}
    assert verdict.family_size(config, 2, [contrast], n_contrast_runs=3) == 10 + 3 * 5
    permutation = {**config, "p_value": "permutation", "n_null": 399}
    message = verdict.null_draws_warning(permutation, 2, contrasts=[contrast], n_contrast_runs=3)
    assert "verdict's 25 tests" in message and ">= 999" in message
    normal = {**config, "p_value": "normal_tail"}
    assert verdict.null_draws_warning({**normal, "n_null": 100}, 2, contrasts=[contrast], n_contrast_runs=3) is None
    few = verdict.null_draws_warning({**normal, "n_null": 19}, n_runs=2)
    assert "needs at least 20 draws" in few and ">= 399" in few


# ------------------------------------------------------------------ random streams
def test_a_statistic_s_interval_does_not_depend_on_the_others():
    generator = torch.Generator().manual_seed(8)
    E, A = random_maps(40, generator), random_maps(40, generator)
    labels = torch.arange(40) % 2
    alone = stats.compare_maps(E, A, labels, settings(statistics=["cka"]), 0, CPU).rows
    among = stats.compare_maps(E, A, labels, settings(statistics=["cosine", "cka", "idcor"]), 0, CPU).rows
    (cka,) = [r for r in among if r["statistic"] == "cka"]
    assert (cka["ci_low"], cka["ci_high"]) == (alone[0]["ci_low"], alone[0]["ci_high"])
    other_view = stats.compare_maps(E, A, labels, settings(statistics=["cka"]), 0, CPU, stream="elsewhere").rows
    assert other_view[0]["ci_low"] != alone[0]["ci_low"]  # another stream, other draws


# ------------------------------------------------------------------ what a map adds to a baseline
@pytest.mark.parametrize(
    ("case", "answer"),
    [("equal", "nothing"), ("rescaled", "nothing"), ("independent", "everything"), ("noisy_copy", "some")],
)
def test_map_adds_on_cases_fixed_by_construction(case, answer):
    """A baseline equal to the map (or a rank-preserving rescaling of it) leaves nothing to add; one drawn
    independently of it leaves everything; a noisy copy predicts the map's neighbourhoods partly: some. Read
    at every configured k, with the paired re-pairing null of the asymmetry."""
    generator = torch.Generator().manual_seed(11)
    n = 80
    learned = random_maps(n, generator)
    baseline = {
        "equal": learned.clone(),
        "rescaled": 3.0 * learned,
        "independent": random_maps(n, generator),
        "noisy_copy": learned + 0.6 * torch.randn(learned.shape, generator=generator),
    }[case]
    config = settings(statistics=["information_imbalance"], nulls=["random"], n_null=100, k=[1, 3])
    rows, draws = agreement.compare_with_map(
        baseline, learned, torch.arange(n) % 4, ("B", "E"), config, ["image"], 0, CPU
    )
    reading = agreement.reading(rows, ("B", "E"), draws)
    assert reading["map_adds"] == answer, reading
    assert reading["map_adds_per_k"] == f"k=1: {answer}; k=3: {answer}"
    if case == "noisy_copy":  # the noise is symmetric: neither side is the richer beyond chance
        assert reading["richer"] == ""


# ------------------------------------------------------------------ the headline
def anti_aligned(n, generator):
    first, second = halves()
    group = torch.randint(0, 2, (n,), generator=generator).bool()
    E = random_maps(n, generator) * torch.where(group[:, None, None, None], first, second)
    A = random_maps(n, generator) * torch.where(group[:, None, None, None], second, first)
    return E, A


def test_headline_says_more_less_or_neither_in_plain_words():
    generator = torch.Generator().manual_seed(12)
    n, labels = 60, torch.arange(60) % 3
    E = random_maps(n, generator)
    same = verdict.headline(list(verdict_of(E, E.clone(), labels, settings()).values()))
    assert same.startswith("**constructed / m / a** (seed 0; 60 image pairs; maps view, zero frequency left out): ")
    assert "**more related than chance** by cosine 1.000 (z = +" in same and "less related" not in same
    assert "vs the random re-pairing, z = +" in same and "vs the within-class re-pairing" in same
    apart = verdict.headline(list(verdict_of(*anti_aligned(n, generator), labels, settings()).values()))
    assert "**less related than chance** (they avoid each other) by cosine 0.000 (z = -" in apart
    unrelated = verdict_of(random_maps(n, generator), random_maps(n, generator), labels, settings())
    text = verdict.headline(list(unrelated.values()))
    assert "No statistic tells the maps apart from chance. Not distinguishable from chance: cosine, pearson." in text


def test_headline_caveats_name_dc_convergence_draws_and_pairs():
    generator = torch.Generator().manual_seed(13)
    n, labels = 80, torch.arange(80) % 4
    E, A = random_maps(n, generator), random_maps(n, generator)
    bright = 5.0 * torch.randint(0, 2, (n, 1), generator=generator)
    E[..., DC[0], DC[1]] = A[..., DC[0], DC[1]] = bright  # shared DC only
    shares = {"essential_at_max_steps": 0.0, "adversarial_at_max_steps": 0.66}
    text = verdict.headline(list(verdict_of(E, A, labels, settings(), **shares).values()))
    assert "Caveats: DC holds" in text and "; with DC, cosine" in text
    assert "66% of the adversarial maps stopped at max_steps" in text
    few = verdict_of(E, E.clone(), labels, settings(n_null=9))
    few_text = verdict.headline(list(few.values()))
    assert "undetermined (too few null draws: raise stats.n_null): cosine, pearson" in few_text
    small = verdict_of(E[:12], E[:12].clone(), labels[:12], settings(), min_pairs=20)
    small_text = verdict.headline(list(small.values()), 20)
    assert "undetermined (fewer than 20 pairs): cosine, pearson" in small_text
    for text in (few_text, small_text):  # identical maps that could not be read are not "apart from chance"
        assert "**Undetermined**: no statistic could be read" in text and "No statistic tells" not in text
