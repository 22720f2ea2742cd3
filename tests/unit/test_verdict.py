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
