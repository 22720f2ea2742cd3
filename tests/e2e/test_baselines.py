"""The baselines stage through the real workflow: the tiny run writes every baseline file beside the maps,
with the maps' image ids, and the agreement tables; without the section the stage plans nothing (the planted-band
table on the known-answer run: tests/e2e/test_known_answer.py)."""

from __future__ import annotations

import csv
import shutil

import pytest
import yaml

from freqmaps.baselines import BASELINES, agreement, of_scope
from freqmaps.io import load_tensors
from tests.conftest import TINY_CONFIG, TINY_RESULTS, plan, refusal

pytestmark = pytest.mark.e2e
B = f"{TINY_RESULTS}/baselines"


def _rows(path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.slow
def test_tiny_run_stores_baselines_like_the_maps(tiny_run):
    configured = yaml.safe_load(TINY_CONFIG.read_text())["baselines"]["measures"]
    clean, meta = load_tensors(tiny_run / B / "clean.safetensors")
    attacked, _ = load_tensors(tiny_run / B / "attacks/pgd.safetensors")
    attack, _ = load_tensors(tiny_run / TINY_RESULTS / "attacks/pgd.safetensors")
    essential, _ = load_tensors(tiny_run / TINY_RESULTS / "maps/essential.safetensors")
    assert meta["baselines"] == of_scope("clean", configured)
    assert clean["ids"].tolist() == list(range(len(attack["labels"])))  # every configured test image
    assert attacked["targets"].tolist() == attack["adversarial_labels"].tolist()
    for name in of_scope("clean", configured):
        assert clean[name].shape == (len(attack["labels"]), *essential["maps"].shape[1:])
    for name in of_scope("attack", configured):
        assert attacked[name].shape == (len(attack["labels"]), *essential["maps"].shape[1:])
    heat, _ = load_tensors(tiny_run / B / "fourier_heat_map.safetensors")
    assert heat["error_rate"].shape == essential["maps"].shape[-2:]
    assert (tiny_run / B / "fourier_heat_map.png").stat().st_size > 0
    assert (tiny_run / B / "figures/pgd_mean_maps.png").stat().st_size > 0


@pytest.mark.slow
def test_agreement_tables_cover_every_baseline_map_and_level(tiny_run):
    rows = _rows(tiny_run / B / "agreement/fgsm.csv")
    per_image = [name for name in BASELINES if BASELINES[name].scope != "model"]
    for name in per_image:
        for kind, short in (("essential", "E"), ("adversarial", "A")):
            mine = [r for r in rows if r["baseline"] == name and r["map"] == kind]
            assert {r["level"] for r in mine} == {"image", "class_mean", "matched"}
            directions = {r["direction"] for r in mine if r["statistic"] == "information_imbalance"}
            assert directions == {f"B_to_{short}", f"{short}_to_B"}
            image_cosine = [r for r in mine if r["level"] == "image" and r["statistic"] == "cosine"]
            assert len(image_cosine) == 1 and -1 <= float(image_cosine[0]["value"]) <= 1
    heat = [r for r in rows if r["baseline"] == "fourier_heat_map"]
    assert {r["map"] for r in heat} == {"essential", "adversarial"} and {r["statistic"] for r in heat} == {"pearson"}
    draws = _rows(tiny_run / B / "agreement/fgsm_null_draws.csv")
    assert {r["null"] for r in draws} == {"random", "within_class"}
    summary = _rows(tiny_run / "results/default/baselines.csv")
    assert {r["attack"] for r in summary} == {"pgd", "fgsm"}
    assert {r["map_adds"] for r in summary if r["level"] == "image"} <= {*agreement.MAP_ADDS, "depends on k"}


def test_without_measures_the_stage_plans_nothing(tmp_path):
    config = yaml.safe_load(TINY_CONFIG.read_text())
    config["baselines"]["measures"] = []
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    rules = {rule for rule, _ in plan(tmp_path)}
    assert "train" in rules and not any(rule.startswith("baseline_") for rule in rules)
    del config["baselines"]
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    rules = {rule for rule, _ in plan(tmp_path)}
    assert "train" in rules and not any(rule.startswith("baseline_") for rule in rules)


def test_unknown_baseline_stops_before_any_job(tmp_path):
    config = yaml.safe_load(TINY_CONFIG.read_text())
    config["baselines"]["measures"] = ["fourier_heatmap"]
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    assert "fourier_heatmap" in refusal(tmp_path)
    assert not (tmp_path / "results").exists()


@pytest.mark.slow
def test_heat_map_norm_reruns_only_what_uses_the_heat_map(tiny_run, tmp_path):
    workdir = tmp_path / "run"
    shutil.copytree(tiny_run, workdir, symlinks=True)
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    config["baselines"]["heat_map"]["norm"] = 3.0
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    rules = {rule for rule, _ in plan(workdir)}
    assert "baseline_heat_map" in rules
    for untouched in ("baseline_clean_spectra", "baseline_attack_spectra", "essential_maps_shard", "train"):
        assert untouched not in rules
