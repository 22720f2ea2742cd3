"""Branches fail alone (issue 30): an attack that never succeeds, or a branch whose maps leave nothing to
correlate, gets verdict rows that say why, and the other branches' statistics, the verdict, run.csv and the
figures are still written. Constructed cases, in process: the stage functions on files the test writes."""

from __future__ import annotations

import json

import pytest
import torch

from freqmaps import figures, stats, verdict
from freqmaps.io import read_csv, save_tensors, sidecar_path
from freqmaps.outcomes import ATTACK_FAILED, KEPT, MISCLASSIFIED_CLEAN, ON_BOUNDARY, TARGET_LOST, why_no_pairs
from freqmaps.stages.correlate import correlate
from freqmaps.stages.run_facts import run_facts
from freqmaps.stages.summary import summarise

N = 24  # configured images
SIDE = 8


def maps_file(path, selection: list[int], maps: torch.Tensor | None = None, max_steps: int = 40) -> None:
    """A gathered maps file as the maps stage writes it: a map per admitted image, and every configured
    image's outcome in ``selection``."""
    selection_ = torch.tensor(selection)
    admitted = (selection_ == KEPT) | (selection_ == TARGET_LOST)
    ids = admitted.nonzero().squeeze(1)
    n = len(ids)
    g = torch.Generator().manual_seed(len(str(path)))
    tensors = {
        "maps": (maps[ids] if maps is not None else torch.rand(n, 1, SIDE, SIDE, generator=g)).float(),
        "ids": ids,
        "targets": (ids + 1) % 3,
        "labels": ids % 3,
        "steps": torch.full((n,), 10),
        "outcome": selection_[ids],
        "final_loss": torch.zeros(n, dtype=torch.float64),
        "selection": selection_,
    }
    save_tensors(path, tensors, {"settings": {"max_steps": max_steps, "lam": 0.05}})


@pytest.mark.parametrize(
    ("essential", "adversarial", "cause"),
    [
        ([KEPT] * 3, [ATTACK_FAILED] * 3, "no successful attacks (0 of 3)"),
        (
            [KEPT, KEPT, MISCLASSIFIED_CLEAN],
            [ATTACK_FAILED, ON_BOUNDARY, MISCLASSIFIED_CLEAN],
            "no successful attacks (0 of 2); 1 left on the boundary",
        ),
        ([MISCLASSIFIED_CLEAN] * 3, [MISCLASSIFIED_CLEAN] * 3, "no correctly classified image (0 of 3)"),
        (
            [KEPT] * 3,
            [TARGET_LOST, TARGET_LOST, MISCLASSIFIED_CLEAN],
            "no adversarial map kept (0 of 3: 2 target lost, 1 misclassified clean)",
        ),
        ([TARGET_LOST] * 3, [KEPT] * 3, "no essential map kept (0 of 3: 3 target lost)"),
        (
            [KEPT, TARGET_LOST, TARGET_LOST],
            [TARGET_LOST, KEPT, KEPT],
            "no image with both maps kept (essential kept 1, adversarial kept 2 of 3)",
        ),
    ],
    ids=["attack-never-succeeds", "on-boundary", "all-misclassified", "adversarial-lost", "essential-lost", "disjoint"],
)
def test_the_cause_of_no_pairs_is_said_in_words(essential, adversarial, cause):
    as_file = {"selection": torch.tensor(essential)}, {"selection": torch.tensor(adversarial)}
    assert why_no_pairs(*as_file) == cause


def test_not_compared_has_every_row_of_a_comparison_with_the_cause():
    settings = stats.StatsSettings(k=[1, 3], n_null=5)
    g = torch.Generator().manual_seed(0)
    maps = torch.rand(12, 1, SIDE, SIDE, generator=g)
    compared = stats.compare_maps(maps, maps, torch.arange(12) % 3, settings, 0, torch.device("cpu"))
    empty = stats.not_compared(settings, "no successful attacks (0 of 12)")
    assert [list(r) for r in empty.rows] == [list(r) for r in compared.rows]  # same columns, same order
    layout = [(r["statistic"], r["direction"], r["k"]) for r in compared.rows]
    assert [(r["statistic"], r["direction"], r["k"]) for r in empty.rows] == layout
    assert all(r["n"] == 0 and r["note"] == "no successful attacks (0 of 12)" for r in empty.rows)
    assert empty.null_draws == [] and empty.per_image == []


@pytest.fixture
def two_branches(tmp_path):
    """pgd flips every correctly classified image (its maps follow the essential ones); fgsm flips none."""
    g = torch.Generator().manual_seed(1)
    essential = torch.rand(N, 1, SIDE, SIDE, generator=g)
    selection = [MISCLASSIFIED_CLEAN if i % 8 == 7 else KEPT for i in range(N)]
    maps_file(tmp_path / "essential.safetensors", selection, essential)
    maps_file(tmp_path / "pgd.safetensors", selection, essential + 0.05 * torch.rand(N, 1, SIDE, SIDE, generator=g))
    never = [ATTACK_FAILED if s == KEPT else s for s in selection]
    maps_file(tmp_path / "fgsm.safetensors", never)
    cfg = {  # six tests in the verdict's family: 299 draws let a strong effect pass BH at 0.05
        "statistics": ["cosine", "information_imbalance"],
        "nulls": ["random"],
        "n_null": 299,
        "n_bootstrap": 10,
        "n_half_samples": 4,
        "k": [1],
        "views": ["maps", "radial_bands"],
    }
    for attack in ("pgd", "fgsm"):
        correlate(
            essential_path=tmp_path / "essential.safetensors",
            adversarial_path=tmp_path / f"{attack}.safetensors",
            stats_cfg=cfg,
            seed=0,
            device="cpu",
            table_path=tmp_path / f"{attack}.csv",
            per_image_path=tmp_path / f"{attack}_per_image.csv",
            null_draws_path=tmp_path / f"{attack}_null_draws.csv",
        )
    return tmp_path


def test_an_attack_that_never_succeeds_reads_its_cause_and_the_other_branch_its_verdict(two_branches):
    tmp = two_branches
    correct = N - N // 8
    cause = f"no successful attacks (0 of {correct})"
    fgsm = read_csv(tmp / "fgsm.csv")
    assert fgsm and all(r["n"] == "0" and r["note"] == cause for r in fgsm)
    assert {r["view"] for r in fgsm} == {"maps", "radial_bands"}
    assert json.loads(sidecar_path(tmp / "fgsm.csv").read_text())["no_pairs"] == cause
    assert read_csv(tmp / "fgsm_per_image.csv") == [] and read_csv(tmp / "fgsm_null_draws.csv") == []
    runs = [{"dataset": "stripes", "model": "cnn", "seed": 0, "attack": a} for a in ("pgd", "fgsm")]
    out = tmp / "out"
    summarise(
        runs=runs,
        table_paths=[tmp / "pgd.csv", tmp / "fgsm.csv"],
        null_draws_paths=[tmp / "pgd_null_draws.csv", tmp / "fgsm_null_draws.csv"],
        summary_path=out / "summary.csv",
        all_draws_path=out / "null_draws.csv",
        verdict_path=out / "verdict.csv",
        verdict_html=out / "verdict.html",
        verdict_md=out / "verdict.md",
    )
    rows = verdict.read_table(out / "verdict.csv")
    by_attack = {a: [r for r in rows if r["attack"] == a] for a in ("pgd", "fgsm")}
    assert len(by_attack["fgsm"]) == len(by_attack["pgd"]) == len(fgsm)
    assert {r["reading"] for r in by_attack["fgsm"]} == {cause}
    cosine = next(r for r in by_attack["pgd"] if r["statistic"] == "cosine" and r["view"] == "maps")
    assert cosine["n"] == correct and cosine["reading"].startswith("more related than")
    markdown = (out / "verdict.md").read_text()
    headline = "**stripes / cnn / fgsm** (seed 0; 0 image pairs; maps view, zero frequency left out): **Not compared**"
    assert f"{headline}: {cause}." in markdown
    assert "**stripes / cnn / pgd**" in markdown and "more related than chance" in markdown
    assert cause in (out / "verdict.html").read_text()


def test_the_failed_branchs_figures_and_run_facts_are_still_written(two_branches):
    tmp = two_branches
    figures.null_histograms(tmp / "fgsm.csv", tmp / "fgsm_null_draws.csv", tmp / "nulls.png")
    figures.information_imbalance_plane([tmp / "pgd.csv", tmp / "fgsm.csv"], ["pgd", "fgsm"], tmp / "plane.png")
    attack = {
        "clean": torch.rand(N, 1, SIDE, SIDE),
        "adversarial": torch.rand(N, 1, SIDE, SIDE),
        "labels": torch.arange(N) % 3,
        "adversarial_labels": (torch.arange(N) + 1) % 3,
    }
    save_tensors(tmp / "attack.safetensors", attack, {})
    figures.map_figures(
        class_names=["a", "b", "c"],
        essential_path=tmp / "essential.safetensors",
        adversarial_path=tmp / "fgsm.safetensors",
        attack_path=tmp / "attack.safetensors",
        per_image_csv=tmp / "fgsm_per_image.csv",
        seed=0,
        class_means_png=tmp / "class_means.png",
        examples_png=tmp / "examples.png",
        cosine_png=tmp / "cosine.png",
        bands_png=tmp / "bands.png",
        n_bands=4,
    )
    for name in ("nulls", "plane", "class_means", "examples", "cosine", "bands"):
        assert (tmp / f"{name}.png").stat().st_size > 0
    model = {"arch": "small_cnn", "test_accuracy": 0.9, "settings": {"base_augmentation": "crop"}}
    (tmp / "model.json").write_text(json.dumps(model))
    attack = {"n_images": N, "clean_accuracy": 0.875, "success_rate": 0.0, "n_on_boundary": 0}
    attack |= {"robust_accuracy": 0.875, "selection": "stratified", "params": {"eps": 0.001}}
    (tmp / "fgsm.json").write_text(json.dumps(attack))
    run_facts(
        runs=[{"dataset": "stripes", "model": "cnn", "seed": 0, "attack": "fgsm"}],
        model_sidecars=[tmp / "model.json"],
        attack_sidecars=[tmp / "fgsm.json"],
        essential_paths=[tmp / "essential.safetensors"],
        adversarial_paths=[tmp / "fgsm.safetensors"],
        table_path=tmp / "run.csv",
        html_path=tmp / "run.html",
    )
    (row,) = read_csv(tmp / "run.csv")
    assert (row["adversarial_kept"], row["adversarial_attack_failed"], row["attack_success_rate"]) == ("0", "21", "0.0")
    assert row["adversarial_dc_share"] == "nan"
    measured = ("augmentation", "selection", "eps", "maps_lam", "maps_max_steps")  # defaults announced (issue 30)
    assert [row[key] for key in measured] == ["crop", "stratified", "0.001", "0.05", "40"]


def test_baselines_against_an_attack_without_kept_maps_say_so_per_level():
    from freqmaps.baselines import agreement

    settings = stats.StatsSettings(n_null=5)
    empty = torch.zeros(0, 1, SIDE, SIDE)
    rows, draws = agreement.compare_with_map(
        empty,
        empty,
        torch.zeros(0, dtype=torch.long),
        ("B", "A"),
        settings,
        list(agreement.LEVELS),
        0,
        torch.device("cpu"),
    )
    assert [(r["level"], r["n"], r["note"]) for r in rows] == [(level, 0, "0 row(s)") for level in agreement.LEVELS]
    assert draws == [] and agreement.reading(rows, ("B", "A"))["map_adds"] == ""
