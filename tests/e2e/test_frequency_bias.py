"""The frequency_bias target: every variant trained, attacked and masked, the study's tables and figures
written, its report section built, and the main experiment's models left alone; and the papers' configs plan
their study.

The study runs once per session, in the known-answer run (tests/conftest.py, known_answer_run: on the
two-scale synthetic dataset); tests/e2e/test_known_answer.py reads its known answer from the same files."""

from __future__ import annotations

import csv
import shutil

import pytest

from tests.conftest import DEFAULT_RESULTS, REPO, plan, snakemake

pytestmark = pytest.mark.e2e
DATASET = "synthetic_scales"  # the known-answer config's frequency_bias.dataset
STUDY = f"{DEFAULT_RESULTS}/{DATASET}/frequency_bias"


@pytest.mark.slow
def test_study_writes_tables_and_figures(known_answer_run):
    study = known_answer_run / STUDY
    for name in ("masks.png", "band_differences.png", "complement_gallery.png", "low_frequency_index.png"):
        assert (study / name).stat().st_size > 0, name
    rows = {r["variant"]: r for r in csv.DictReader((study / "variants.csv").open())}
    assert set(rows) == {"standard", "adversarial"}
    for row in rows.values():
        for key in (
            "clean_accuracy",
            "attacked_accuracy",
            "masked_accuracy",
            "complement_accuracy",
            "image_maps_low_frequency_index",
            "probe_accuracy",
            "class_maps_attacks_reverted",
        ):
            assert 0.0 <= float(row[key]) <= 1.0, (key, row[key])
        assert float(row["image_maps_lfi_ci_low"]) <= float(row["image_maps_low_frequency_index"])
        assert float(row["image_maps_low_frequency_index"]) <= float(row["image_maps_lfi_ci_high"])
    bands = list(csv.DictReader((study / "bands.csv").open()))
    standard = [b for b in bands if b["variant"] == "standard"]
    assert standard and all(float(b["difference_to_standard"]) == 0.0 for b in standard)
    assert {b["view"] for b in bands} == {"radial", "angular"} and len({b["band"] for b in bands}) == 16
    # the study's models are its own: the main experiment's model was never trained on the study's dataset
    variant = known_answer_run / DEFAULT_RESULTS / f"{DATASET}/bias_adversarial/seed0"
    assert (variant / "frequency_bias/dataset_mask.json").is_file()
    assert not (known_answer_run / DEFAULT_RESULTS / DATASET / "cnn").exists()


@pytest.mark.slow
def test_study_report_has_its_section(known_answer_run, tmp_path):
    report = tmp_path / "report.html"
    run = snakemake(known_answer_run, "frequency_bias", "--report", str(report))
    assert run.returncode == 0, run.stderr[-4000:]
    html = report.read_text(errors="replace")
    assert "Frequency bias" in html


@pytest.mark.parametrize("config", ["cifar10_resnet20.yaml", "imagenette5_vgg11.yaml", "imagenette5_resnet18.yaml"])
def test_ready_configs_validate_and_plan(tmp_path, config):
    """The papers' configs pass the schema and plan their whole DAG (nothing is downloaded by a dry run)."""
    shutil.copy(REPO / "configs" / config, tmp_path / "config.yaml")
    targets = ["all", "frequency_bias"] if "imagenette" in config else ["all"]
    rules = {rule for rule, _ in plan(tmp_path, *targets)}
    assert "train" in rules
    if "imagenette" in config:
        assert "frequency_bias_study" in rules
