"""The verdict table: effect sizes, Benjamini-Hochberg over the whole run, readings, p at the permutation floor,
across-seed spread, and the tables the summary stage writes (built from constructed rows of the stats contract)."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
import scipy.stats

from freqmaps import stages, verdict

NULLS = ("random", "within_class")


def contract_row(
    statistic="cosine", value=0.5, p=(0.01, 0.5), means=(0.1, 0.45), sds=(0.1, 0.05), p_less=(0.99, 0.5), **extra
):
    """One row as freqmaps.stats.compare returns it (the agreed contract, keys in its order); ``p`` are the
    p-values of being more related than each null, ``p_less`` of being less related."""
    row = {
        "statistic": statistic,
        "direction": extra.pop("direction", ""),
        "k": extra.pop("k", None),
        "n": extra.pop("n", 40),
        "value": value,
        "ci_low": value - 0.1,
        "ci_high": value + 0.1,
        "ci_method": "jackknife",
        "related_when": extra.pop("related_when", "larger"),
    }
    for null, mean, sd, p_value, less in zip(NULLS, means, sds, p, p_less, strict=True):
        row.update(
            {f"{null}_null_mean": mean, f"{null}_null_sd": sd, f"{null}_p_value": p_value, f"{null}_p_less": less}
        )
    row["note"] = extra.pop("note", "")
    assert not extra
    return row


def summary_row(seed=0, attack="pgd", view="maps", **kwargs):
    return {"dataset": "fashion_mnist", "model": "cnn", "seed": seed, "attack": attack, "view": view} | contract_row(
        **kwargs
    )


def test_effect_size_is_positive_when_more_related_than_the_null():
    assert verdict.effect_size(0.5, 0.1, 0.2, "larger") == pytest.approx(2.0)
    assert verdict.effect_size(0.5, 0.9, 0.2, "smaller") == pytest.approx(2.0)  # imbalance below its null
    assert verdict.effect_size(0.9, 0.5, 0.2, "smaller") == pytest.approx(-2.0)
    assert math.isnan(verdict.effect_size(0.5, 0.5, 0.0, "larger"))
    with pytest.raises(ValueError, match="bigger"):
        verdict.effect_size(0.5, 0.5, 0.1, "bigger")


def test_benjamini_hochberg_matches_a_hand_computed_answer_and_keeps_nan():
    # sorted 0.01, 0.03, 0.04 of m = 3: 0.04 * 3/3 = 0.04; min(0.03 * 3/2, 0.04) = 0.04; 0.01 * 3/1 = 0.03
    adjusted = verdict.adjusted_p_values([0.01, 0.04, math.nan, 0.03])
    assert adjusted[[0, 1, 3]] == pytest.approx([0.03, 0.04, 0.04])
    assert math.isnan(adjusted[2])
    p = np.random.default_rng(0).uniform(size=50)
    assert verdict.adjusted_p_values(p) == pytest.approx(scipy.stats.false_discovery_control(p, method="bh"))


def test_verdict_rows_adjust_over_the_whole_run_and_read_in_words():
    summary = [
        summary_row(attack="pgd", p=(0.001, 0.6)),
        summary_row(attack="fgsm", p=(0.002, 0.001)),
        summary_row(
            attack="fgsm",
            statistic="information_imbalance",
            direction="E_to_A",
            k=1,
            related_when="smaller",
            value=0.9,
            means=(0.98, 0.95),
            p=(0.4, 0.7),
        ),
    ]
    rows = verdict.verdict_rows(summary, {})
    family = [min(1, 2 * min(r[f"{n}_p_value"], r[f"{n}_p_less"])) for r in summary for n in NULLS]
    assert [r[f"{n}_p_two_sided"] for r in rows for n in NULLS] == pytest.approx(family)
    expected = scipy.stats.false_discovery_control(family, method="bh")
    assert [r[f"{n}_p_adjusted"] for r in rows for n in NULLS] == pytest.approx(expected)
    assert (
        rows[0]["reading"]
        == "more related than the random re-pairing; not distinguishable from the within-class re-pairing"
    )
    assert rows[1]["reading"] == "more related than the random re-pairing and the within-class re-pairing"
    assert rows[2]["reading"] == "not distinguishable from the random re-pairing and the within-class re-pairing"
    assert rows[2]["random_z"] == pytest.approx((0.98 - 0.9) / 0.1)  # smaller is related: positive z
    assert list(rows[0])[:8] == ["dataset", "model", "attack", "view", "statistic", "direction", "k", "seed"]
    for null in NULLS:
        assert [
            f"{null}_null_mean",
            f"{null}_null_sd",
            f"{null}_z",
            f"{null}_p_value",
            f"{null}_p_less",
            f"{null}_p_two_sided",
            f"{null}_normality_p",
            f"{null}_p_normal",
            f"{null}_p_method",
            f"{null}_p_adjusted",
        ] == [c for c in rows[0] if c.startswith(f"{null}_") and not c.endswith("_draws")]


def test_a_value_that_could_not_be_computed_reads_so():
    row = summary_row(value=math.nan, p=(math.nan, math.nan), note="k=5 >= n=4 pairs")
    (out,) = verdict.verdict_rows([row], {})
    assert out["reading"] == "not computed (k=5 >= n=4 pairs)"
    assert math.isnan(out["random_p_adjusted"]) and math.isnan(out["random_z"])


def test_across_seed_mean_and_spread():
    rows = verdict.verdict_rows([summary_row(seed=0, value=0.4), summary_row(seed=1, value=0.6)], {})
    assert [r["seeds"] for r in rows] == [2, 2]
    assert rows[0]["seed_mean"] == pytest.approx(0.5)
    assert rows[1]["seed_sd"] == pytest.approx(np.std([0.4, 0.6], ddof=1))
    (single,) = verdict.verdict_rows([summary_row()], {})
    assert single["seeds"] == 1 and math.isnan(single["seed_sd"])


@pytest.mark.parametrize(
    ("p", "draws", "shown"),
    [
        (1 / 101, 100, "< 0.01"),
        (1 / 1001, 1000, "< 0.001"),
        (2 / 101, 100, "0.020"),
        (1 / 21, 20, "≤ 0.048"),
        (0.5, 100, "0.500"),
        (math.nan, 100, ""),
    ],
)
def test_p_at_the_permutation_floor_is_shown_as_a_bound(p, draws, shown):
    assert verdict.format_p(p, draws) == shown


def write_rows(path, rows):
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_summarise_writes_flat_tables_in_the_documented_order(tmp_path):
    runs, tables, draws = [], [], []
    for attack in ("pgd", "fgsm"):
        table = [{"view": "maps"} | contract_row(p=(1 / 101, 0.3))]
        draw_rows = [
            {"view": "maps", "statistic": "cosine", "direction": "", "k": "", "null": null, "draw": d, "value": 0.1}
            for null in NULLS
            for d in range(100)
        ]
        write_rows(tmp_path / f"{attack}.csv", table)
        write_rows(tmp_path / f"{attack}_draws.csv", draw_rows)
        runs.append({"dataset": "fashion_mnist", "model": "cnn", "seed": 0, "attack": attack})
        tables.append(tmp_path / f"{attack}.csv")
        draws.append(tmp_path / f"{attack}_draws.csv")
    names = ("summary.csv", "null_draws.csv", "verdict.csv", "verdict.html", "verdict.md")
    out = {name: tmp_path / "out" / name for name in names}
    stages.summarise(
        runs=runs,
        table_paths=tables,
        null_draws_paths=draws,
        summary_path=out["summary.csv"],
        all_draws_path=out["null_draws.csv"],
        verdict_path=out["verdict.csv"],
        verdict_html=out["verdict.html"],
        verdict_md=out["verdict.md"],
    )
    markdown = out["verdict.md"].read_text()
    assert markdown.startswith("# Verdict\n\n## Headline\n\n**fashion_mnist / cnn / pgd** (seed 0; 40 image pairs")
    assert "**fashion_mnist / cnn / fgsm**" in markdown and "| reading |" in markdown
    with open(out["summary.csv"]) as handle:
        header = next(csv.reader(handle))
    assert header[:9] == ["dataset", "model", "seed", "attack", "view", "statistic", "direction", "k", "n"]
    assert header.index("ci_low") < header.index("ci_high") and header[-1] == "note"
    assert not any(c in header for c in ("null_draws", "std", "ties"))
    long = verdict.read_table(out["null_draws.csv"])
    assert len(long) == 2 * 2 * 100 and {r["attack"] for r in long} == {"pgd", "fgsm"}
    rows = verdict.read_table(out["verdict.csv"])
    assert rows[0]["random_p_value"] == pytest.approx(1 / 101)  # the CSV stays numeric
    assert rows[0]["random_draws"] == 100
    page = out["verdict.html"].read_text()
    assert "≤ 0.02" in page and "more related than the random re-pairing" in page  # two-sided floor 2/101
    assert page.index("<h3>Headline</h3>") < page.index("<h3>Verdict</h3>")
    assert (tmp_path / "out" / "summary.json").is_file()


def test_summarise_names_a_mismatch_of_runs_and_tables(tmp_path):
    with pytest.raises(ValueError, match="2 runs but 1 tables"):
        stages.summarise(
            runs=[{}, {}],
            table_paths=["a.csv"],
            null_draws_paths=["b.csv"],
            summary_path=tmp_path / "a",
            all_draws_path=tmp_path / "b",
            verdict_path=tmp_path / "c",
            verdict_html=tmp_path / "d",
        )


def test_verdict_page_shows_inline_literals_as_code_not_backquotes():
    """Issue 30.5: verdict.html showed ``seeds`` with its backquotes."""
    page = verdict.html_page("Verdict", verdict.VERDICT_DOC, [("Verdict", [{"statistic": "cosine"}])])
    assert "``" not in page
    assert "<code>seeds</code>" in page


# ------------------------------------------------------------------ p-values below the permutation floor
def simulated_null(rng, value=None, n_null=100, draw=None, seed=0):
    """One summary row against one null ('random') and its long-format draws, as stats.compare writes them:
    ``n_null`` draws 0.5 + 0.05 * ``draw(rng, size)`` (standard normal by default) and the value, by default a
    further draw of the same null (a true null), with the one-sided permutation p-values of the draws."""
    draw = draw or (lambda rng, size: rng.standard_normal(size))
    draws = 0.5 + 0.05 * draw(rng, n_null)
    value = float(0.5 + 0.05 * draw(rng, 1)[0]) if value is None else value
    keys = {"dataset": "d", "model": "m", "seed": seed, "attack": "pgd", "view": "maps"}
    row = keys | {
        "statistic": "cosine", "direction": "", "k": None, "n": 100, "value": value, "ci_low": value - 0.1,
        "ci_high": value + 0.1, "ci_method": "bootstrap", "related_when": "larger",
        "random_null_mean": float(draws.mean()), "random_null_sd": float(draws.std()),
        "random_p_value": (int((draws >= value).sum()) + 1) / (n_null + 1),
        "random_p_less": (int((draws <= value).sum()) + 1) / (n_null + 1), "note": "",
    }  # fmt: skip
    long = [
        keys | {"statistic": "cosine", "direction": "", "k": None, "null": "random", "draw": i, "value": float(v)}
        for i, v in enumerate(draws)
    ]
    return row, long


def simulated_family(rows_and_draws):
    summary = [row for row, _ in rows_and_draws]
    return summary, verdict.null_draw_values([d for _, long in rows_and_draws for d in long])


def test_normal_tail_p_is_scipys_student_t_prediction_and_normality_is_scipys_normaltest():
    """Reference: for a value and n normal draws, (value - mean) / (s sqrt(1 + 1/n)) with the draws' sample sd s
    is Student's t with n - 1 degrees of freedom; the verdict gets it from z (population sd) alone."""
    rng = np.random.default_rng(0)
    draws, value = rng.normal(0.3, 0.02, 40), 0.37
    z = (value - draws.mean()) / draws.std()
    t = (value - draws.mean()) / (draws.std(ddof=1) * math.sqrt(1 + 1 / 40))
    assert verdict.normal_tail_p(z, 40) == pytest.approx(2 * scipy.stats.t.sf(abs(t), 39), rel=1e-12)
    assert verdict.normal_tail_p(-z, 40) == verdict.normal_tail_p(z, 40)  # two-sided
    assert verdict.normal_tail_p(0.0, 40) == 1.0 and math.isnan(verdict.normal_tail_p(math.nan, 40))
    assert verdict.normality_p(draws) == scipy.stats.normaltest(draws).pvalue
    assert math.isnan(verdict.normality_p(draws[:19]))  # below MIN_NORMAL_DRAWS: no check, the permutation p
    assert math.isnan(verdict.normality_p(np.full(40, 0.3)))  # draws that do not vary


def test_the_normal_tail_p_is_uniform_under_a_true_null():
    """2,000 values each drawn from their own normal null of 20 draws (the fewest the approximation takes, where
    estimating the null's mean and sd matters most): the share of used p-values at or below 0.05 and 0.01 is
    within a binomial interval of 0.05 and 0.01. (2 Phi(-|z|), with the sd taken as known, gives about 1.5 and
    2.4 times those shares with 20 draws.)"""
    rng = np.random.default_rng(1)
    summary, draws = simulated_family([simulated_null(rng, n_null=20, seed=i) for i in range(2000)])
    rows = verdict.verdict_rows(summary, draws, p_value="normal_tail")
    methods = [r["random_p_method"] for r in rows]
    assert methods.count("normal_tail") > 0.9 * len(rows)  # the rest failed the normality check at 0.05
    p = np.array([verdict.used_p(r, "random") for r in rows])
    for level in (0.05, 0.01):
        share = int((p <= level).sum())
        assert scipy.stats.binomtest(share, len(p), level).pvalue > 1e-3, (level, share / len(p))


@pytest.mark.parametrize(("z", "reading"), [(9.0, "more related than"), (-9.0, "less related than")])
def test_a_lone_strong_effect_among_null_rows_passes_with_100_draws(z, reading):
    """Issue 28.5: at n_null = 100 the two-sided permutation p is at least 2/101, which BH over 108 tests turns
    into 1: a lone effect at z = 9 (or -9: anti-aligned) could only read undetermined. The normal tail passes
    it, and the permutation p stays in the table."""
    rng = np.random.default_rng(2)
    family = [simulated_null(rng, seed=i) for i in range(107)] + [simulated_null(rng, value=0.5 + z * 0.05, seed=107)]
    summary, draws = simulated_family(family)
    strong = verdict.verdict_rows(summary, draws)[-1]
    assert strong["random_p_method"] == "normal_tail" and strong["random_p_adjusted"] < 1e-10
    assert strong["reading"] == f"{reading} the random re-pairing"
    assert strong["random_p_two_sided"] == pytest.approx(2 / 101)  # the permutation p, kept
    permutation = verdict.verdict_rows(summary, draws, p_value="permutation")[-1]
    assert permutation["reading"] == "undetermined (too few null draws) against the random re-pairing"


def test_the_normal_tail_p_agrees_with_a_well_resolved_permutation_p():
    """With 2,000 normal draws the permutation p of a value 0.5 to 2 sd from the null's mean is resolved to a
    few percent of itself: the normal-tail p is the same."""
    rng = np.random.default_rng(3)
    for z in (0.5, 1.0, 1.5, 2.0, -1.5):
        (row,) = verdict.verdict_rows(*simulated_family([simulated_null(rng, value=0.5 + z * 0.05, n_null=2000)]))
        assert row["random_p_normal"] == pytest.approx(row["random_p_two_sided"], rel=0.2), z


@pytest.mark.parametrize(
    "draw",
    [
        lambda rng, size: rng.exponential(size=size),  # skewness 2
        lambda rng, size: rng.standard_t(2, size=size),  # no finite variance
    ],
    ids=["skewed", "heavy_tailed"],
)
def test_a_null_that_is_not_normal_keeps_the_permutation_p_and_its_floor(draw):
    """Draws that fail the normality check: the reading uses the permutation p, and a value beyond every draw
    among 107 null rows reads undetermined (its floor 2/101 cannot pass), not more related."""
    rng = np.random.default_rng(4)
    odd, long = simulated_null(rng, value=10.0, draw=draw, seed=107)
    summary, draws = simulated_family([simulated_null(rng, seed=i) for i in range(107)] + [(odd, long)])
    row = verdict.verdict_rows(summary, draws)[-1]
    assert row["random_normality_p"] < verdict.NORMALITY_LEVEL
    assert row["random_p_method"] == "permutation" and verdict.used_p(row, "random") == row["random_p_two_sided"]
    assert row["reading"] == "undetermined (too few null draws) against the random re-pairing"


def test_the_permutation_method_adjusts_the_permutation_p_values_exactly():
    """stats.p_value: permutation is the verdict before the normal tail: BH of the two-sided permutation p-values,
    bit for bit, whatever the draws look like."""
    rng = np.random.default_rng(5)
    summary, draws = simulated_family([simulated_null(rng, value=0.5 + 0.05 * z, seed=z) for z in range(6)])
    rows = verdict.verdict_rows(summary, draws, p_value="permutation")
    two_sided = [verdict.two_sided_p(r["random_p_value"], r["random_p_less"]) for r in summary]
    assert [r["random_p_two_sided"] for r in rows] == two_sided
    assert np.array_equal([r["random_p_adjusted"] for r in rows], scipy.stats.false_discovery_control(two_sided))
    assert {r["random_p_method"] for r in rows} == {"permutation"}
    assert all(math.isfinite(r["random_p_normal"]) for r in rows)  # shown beside, not used
    with pytest.raises(ValueError, match="stats.p_value"):
        verdict.verdict_rows(summary, draws, p_value="gaussian")


def test_a_normal_tail_p_is_shown_without_a_floor_and_says_its_method():
    rng = np.random.default_rng(6)
    family = [simulated_null(rng, seed=i) for i in range(3)] + [simulated_null(rng, value=0.5 + 0.05 * 9, seed=3)]
    rows = verdict.verdict_rows(*simulated_family(family))
    shown = verdict.rendered_verdict(rows)[-1]
    assert shown["random p (two-sided)"] == "< 1e-06" and shown["random p from"] == "normal tail"
    assert verdict.format_p(1 / 101, 100, method="normal_tail") == "0.0099"  # no floor: not "< 0.01"
    assert verdict.format_p(1 / 101, 100) == "< 0.01"


def test_the_log_counts_the_p_values_that_fell_back_on_the_permutation_p():
    rng = np.random.default_rng(7)
    odd = simulated_null(rng, value=10.0, draw=lambda rng, size: rng.exponential(size=size), seed=107)
    summary, draws = simulated_family([simulated_null(rng, seed=i) for i in range(107)] + [odd])
    rows = verdict.verdict_rows(summary, draws)
    message = verdict.fallback_message(rows, [], "normal_tail")
    fell = sum(r["random_p_method"] == "permutation" for r in rows)
    assert f"{fell} of 108 p-values of the verdict" in message and "1 of them read 'undetermined'" in message
    assert verdict.fallback_message(rows, [], "permutation") is None


def test_a_normal_tail_p_has_no_floor_so_a_moderate_effect_that_fails_is_not_distinguishable():
    """A value 2.7 null sds out, beyond all 100 draws (permutation p at its floor 2/101), has a normal-tail p near
    0.004, yet it fails BH over 108 tests: more draws would not change that p, so the reading is 'not
    distinguishable', not 'undetermined (too few null draws)'."""
    rng = np.random.default_rng(9)
    family = [simulated_null(rng, seed=i) for i in range(107)] + [simulated_null(rng, value=0.5 + 2.7 * 0.05, seed=107)]
    row = verdict.verdict_rows(*simulated_family(family))[-1]
    assert row["random_p_two_sided"] == pytest.approx(2 / 101)  # at the permutation floor
    assert row["random_p_method"] == "normal_tail" and row["random_p_normal"] < 2 / 101 < row["random_p_adjusted"]
    assert row["reading"] == "not distinguishable from the random re-pairing"


@pytest.mark.parametrize(
    ("p_value", "reading"), [("normal_tail", "more related than"), ("permutation", "undetermined")]
)
def test_summarise_reads_the_null_draws_for_the_normal_tail(tmp_path, p_value, reading):
    """The summary stage hands the draws themselves to the verdict (not only their number), so the lone strong
    effect among 108 tests passes under stats.p_value: normal_tail and stays undetermined under permutation."""
    rng = np.random.default_rng(12)  # the strong row's draws pass the normality check
    table, long = [], []
    for i in range(108):
        row, draws = simulated_null(rng, value=0.5 + 9 * 0.05 if i == 107 else None)
        run_keys = ("dataset", "model", "seed", "attack")
        table.append({k: v for k, v in row.items() if k not in run_keys} | {"view": f"v{i}"})
        long += [{k: v for k, v in d.items() if k not in run_keys} | {"view": f"v{i}"} for d in draws]
    write_rows(tmp_path / "pgd.csv", table)
    write_rows(tmp_path / "pgd_draws.csv", long)
    out = tmp_path / "out"
    stages.summarise(
        runs=[{"dataset": "d", "model": "m", "seed": 0, "attack": "pgd"}],
        table_paths=[tmp_path / "pgd.csv"],
        null_draws_paths=[tmp_path / "pgd_draws.csv"],
        summary_path=out / "summary.csv",
        all_draws_path=out / "null_draws.csv",
        verdict_path=out / "verdict.csv",
        verdict_html=out / "verdict.html",
        p_value=p_value,
    )
    strong = verdict.read_table(out / "verdict.csv")[-1]
    assert strong["random_normality_p"] >= verdict.NORMALITY_LEVEL
    assert strong["random_p_method"] == ("normal_tail" if p_value == "normal_tail" else "permutation")
    assert strong["reading"].startswith(reading)
