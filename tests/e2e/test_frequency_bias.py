"""The frequency_bias target on the tiny config: every variant trained, attacked and masked, the study's
tables and figures written, its report section built, and the main experiment's models left alone."""

from __future__ import annotations

import csv
import shutil

import pytest

from tests.conftest import DEFAULT_RESULTS, TINY_CONFIG, require_fashion_mnist, snakemake

pytestmark = pytest.mark.e2e
STUDY = "results/default/fashion_mnist/frequency_bias"


@pytest.fixture(scope="module")
def study_run(tmp_path_factory):
    require_fashion_mnist()
    workdir = tmp_path_factory.mktemp("bias")
    shutil.copy(TINY_CONFIG, workdir / "config.yaml")
    run = snakemake(workdir, "frequency_bias")
    assert run.returncode == 0, run.stderr[-4000:]
    return workdir


def test_study_writes_tables_and_figures(study_run):
    for name in ("masks.png", "band_differences.png", "complement_gallery.png", "low_frequency_index.png"):
        assert (study_run / STUDY / name).stat().st_size > 0, name
    rows = {r["variant"]: r for r in csv.DictReader((study_run / STUDY / "variants.csv").open())}
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
    bands = list(csv.DictReader((study_run / STUDY / "bands.csv").open()))
    standard = [b for b in bands if b["variant"] == "standard"]
    assert standard and all(float(b["difference_to_standard"]) == 0.0 for b in standard)
    assert {b["view"] for b in bands} == {"radial", "angular"} and len({b["band"] for b in bands}) == 16
    # the study's models are its own: the main experiment's model was never trained
    variant = study_run / DEFAULT_RESULTS / "fashion_mnist/bias_adversarial/seed0"
    assert (variant / "frequency_bias/dataset_mask.json").is_file()
    assert not (study_run / "results/default/fashion_mnist/cnn").exists()


def test_study_report_has_its_section(study_run):
    run = snakemake(study_run, "frequency_bias", "--report", "report.html")
    assert run.returncode == 0, run.stderr[-4000:]
    html = (study_run / "report.html").read_text(errors="replace")
    assert "Frequency bias" in html


@pytest.mark.parametrize("config", ["cifar10_resnet20.yaml", "imagenette5_vgg11.yaml", "imagenette5_resnet18.yaml"])
def test_ready_configs_validate_and_plan(tmp_path, config):
    """The papers' configs pass the schema and plan their whole DAG (nothing is downloaded by a dry run)."""
    from tests.conftest import REPO

    shutil.copy(REPO / "configs" / config, tmp_path / "config.yaml")
    targets = ["all", "frequency_bias"] if "imagenette" in config else ["all"]
    run = snakemake(tmp_path, *targets, "--dry-run")
    assert run.returncode == 0, run.stderr[-3000:]
    assert "train" in run.stdout
