"""Known-answer validation through the real workflow (configs/synthetic_known_answer.yaml at CI size): the
essential maps find the planted bands, the adversarial maps' mass is measured against the bands that separate
the two classes, the planted-band table ranks the maps and every baseline, the frequency-bias study runs on
the two-scale dataset, and the guide's generated numbers (docs/guide/_numbers) render alike from this run."""

from __future__ import annotations

import csv
import json
import shutil

import pytest

from freqmaps.baselines import BASELINES
from tests.conftest import DEFAULT_RESULTS, KNOWN_ANSWER_RUN, REPO

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
KNOWN = f"{KNOWN_ANSWER_RUN}/known_answer"  # the run: tests/conftest.py, known_answer_run


def test_essential_maps_find_the_planted_bands(known_answer_run):
    record = json.loads((known_answer_run / KNOWN / "known_answer.json").read_text())
    model = known_answer_run / DEFAULT_RESULTS / "synthetic/cnn/seed0/model.json"
    accuracy = json.loads(model.read_text())["test_accuracy"]
    assert accuracy >= 0.9
    essential = record["essential"]
    assert essential["meets_threshold"], essential  # mean share of L1 mass inside the class band >= 0.7
    assert essential["mass_in_band_mean"] > 3 * essential["band_area_mean"]
    assert essential["layout_recovered"] == essential["layout_classes"] >= 2
    classes = list(csv.DictReader((known_answer_run / KNOWN / "classes.csv").open()))
    assert len(classes) == 4 and sum(c["blank"] == "True" for c in classes) <= 1


def test_adversarial_maps_are_measured_against_the_separating_bands(known_answer_run):
    pgd = json.loads((known_answer_run / KNOWN / "known_answer.json").read_text())["adversarial"]["pgd"]
    assert pgd["judged_maps"] > 0
    masses = [pgd[f"{region}_mass"] for region in ("adversarial_only", "true_only", "shared", "neither")]
    assert sum(masses) == pytest.approx(1.0, abs=1e-6)  # the four regions tile the spectrum
    assert sum(pgd[f"{region}_area"] for region in ("adversarial_only", "true_only", "shared", "neither")) == (
        pytest.approx(1.0, abs=1e-6)
    )
    # what we found (docs/guide/recipes.md): the adversarial class's own frequencies hold far more than their area share
    assert pgd["adversarial_only_mass"] > 2 * pgd["adversarial_only_area"]
    assert (known_answer_run / KNOWN / "planted_and_learned.png").stat().st_size > 0


def test_frequency_bias_study_runs_on_the_two_scale_dataset(known_answer_run):
    rows = {
        r["variant"]: r
        for r in csv.DictReader(
            (known_answer_run / DEFAULT_RESULTS / "synthetic_scales/frequency_bias/variants.csv").open()
        )
    }
    assert set(rows) == {"standard", "adversarial"}
    assert float(rows["adversarial"]["attacked_accuracy"]) > float(rows["standard"]["attacked_accuracy"])
    for row in rows.values():
        assert 0 < float(row["image_maps_low_frequency_index"]) < 1


def test_planted_band_table_has_every_measure_and_the_maps_find_the_bands(known_answer_run):
    """On the known-answer experiment (tests/conftest.py) with every baseline: rings with known bands."""
    with open(known_answer_run / KNOWN_ANSWER_RUN / "baselines/known_answer.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    measures = {r["measure"] for r in rows}
    assert measures == {"essential_maps", "adversarial_maps", *BASELINES}
    essential = next(r for r in rows if r["measure"] == "essential_maps")
    assert float(essential["mass_in_band"]) > 2 * float(essential["band_area"])  # known answer: the bands
    for row in rows:
        for key in ("chosen_in_band", "recall_image", "recall_class"):
            assert 0 <= float(row[key]) <= 1
    record = json.loads((known_answer_run / KNOWN_ANSWER_RUN / "baselines/known_answer.json").read_text())
    assert record["blank_class"] in (None, *range(4))  # None: the model gives the empty image no confident class


@pytest.mark.parametrize("name", ["known_answer", "known_answer_baselines"])
def test_the_guides_numbers_render_alike_from_a_fresh_run(known_answer_run, tmp_path, name):
    """The guide's tables rendered from this run (the checked-in ones come from `make known_answer` at full
    size) have the same columns, rows and measures, and the claims the prose makes hold on it wherever this
    run can check them (it makes the synthetic dataset's files and the two-scale study, not the two-scale
    dataset's known answer)."""
    from freqmaps import docs_numbers

    entry = docs_numbers.NUMBERS[name]
    (tmp_path / "configs").mkdir()
    shutil.copyfile(known_answer_run / "config.yaml", tmp_path / entry.config)  # the sections of this run
    fresh = docs_numbers.collect(
        entry,
        tmp_path,
        results=known_answer_run / DEFAULT_RESULTS,
        benchmarks=known_answer_run / "benchmarks/default",
        partial=True,
    )
    checked_in = docs_numbers.structure((REPO / docs_numbers.NUMBERS_DIR / f"{name}.md").read_text())
    tables = docs_numbers.structure(fresh.read_text())
    assert len(tables) == len(checked_in)
    for (header, labels), (want_header, want_labels) in zip(tables, checked_in, strict=True):
        assert [cell for cell in want_header if cell in header] == list(header)  # a subset of the datasets
        assert len(header) >= 2 and sorted(labels) == sorted(want_labels)
    claims = entry.claims(tmp_path / docs_numbers.NUMBERS_DIR / name, defended_only=True)
    assert claims and all(claims.values()), {text: held for text, held in claims.items() if not held}
