"""The real workflow on a tiny config in a temporary directory: dry run, run, nothing left to do, and an
edit to one attack reruns only that attack's branch; the verdict and summary tables and the report; a second
experiment beside the first. Bad configs stop before any job runs.

Plans (dry runs) and refusals are computed in this process (tests.conftest.plan); the tests marked slow read
or extend the one tiny run of the session (tests.conftest.tiny_run) or run jobs of their own."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
import torch
import yaml

from tests.conftest import DEFAULT_RESULTS, TINY_CONFIG, TINY_RESULTS, plan, refusal, snakemake

pytestmark = pytest.mark.e2e
TINY = TINY_CONFIG
R = TINY_RESULTS


@pytest.fixture(scope="module")
def finished_run(tiny_run, tmp_path_factory):
    """A copy of the finished tiny run, so that tests may edit it."""
    workdir = tmp_path_factory.mktemp("tiny_copy") / "run"
    shutil.copytree(tiny_run, workdir, symlinks=True)
    return workdir


def test_dry_run_plans_every_stage(tmp_path):
    shutil.copy(TINY, tmp_path / "config.yaml")
    dry = plan(tmp_path)
    rules = {rule for rule, _ in dry}
    assert {
        "train",
        "attack",
        "essential_maps_shard",
        "adversarial_maps_shard",
        "gather_essential_maps",
        "gather_attack",
        "gather_adversarial_maps",
        "correlate",
        "map_figures",
        "information_imbalance_plane",
        "summary",
        "run_facts",
        "null_histograms",
        "contrast",
        "contrast_forest",
        "alignment_map",
    } <= rules
    assert sum(rule == "adversarial_maps_shard" for rule, _ in dry) == 4  # 2 attacks x 2 shards


@pytest.mark.slow
def test_run_writes_every_result(finished_run):
    workdir = finished_run
    for path in [
        "model.safetensors",
        "model.json",
        "attacks/pgd.safetensors",
        "attacks/fgsm.json",
        "maps/essential.safetensors",
        "maps/adversarial/pgd.safetensors",
        "stats/pgd.csv",
        "stats/fgsm_per_image.csv",
        "stats/pgd_null_draws.csv",
        "figures/pgd/class_mean_maps.png",
        "figures/information_imbalance_plane.png",
    ]:
        assert (workdir / R / path).stat().st_size > 0, path
    summary = (workdir / DEFAULT_RESULTS / "summary.csv").read_text()
    assert ",cosine," in summary and ",pgd," in summary and ",fgsm," in summary
    for log in ("train.log", "attack_pgd_1-of-1.log", "maps_essential_1-of-2.log"):
        assert "device: cpu" in (workdir / "logs/default/fashion_mnist/cnn/seed0" / log).read_text()
    assert "steps" in (workdir / "logs/default/fashion_mnist/cnn/seed0/maps_essential_1-of-2.log").read_text()
    assert "view maps done" in (workdir / "logs/default/fashion_mnist/cnn/seed0/stats_pgd.log").read_text()


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


@pytest.mark.slow
def test_summary_is_flat_in_the_contract_order_with_the_draws_apart(finished_run):
    workdir = finished_run
    header, rows = read_csv(workdir / DEFAULT_RESULTS / "summary.csv")
    contract = ["statistic", "direction", "k", "n", "value", "ci_low", "ci_high", "ci_method", "related_when"]
    assert header[:6] == ["dataset", "model", "seed", "attack", "lam", "view"] and header[6:15] == contract
    nulls = ["random", "within_class"]
    per_null = [f"{n}_{c}" for n in nulls for c in ("null_mean", "null_sd", "p_value", "p_less")]
    dc = ["dc", "value_with_dc", "E_dc_share", "A_dc_share"]  # stats.dc: separate (the default)
    convergence = ["essential_at_max_steps", "adversarial_at_max_steps"]
    assert header[15:] == per_null + dc + convergence + ["note"]
    assert all("{" not in value for row in rows for value in row.values())  # no dict reprs
    draw_header, draws = read_csv(workdir / DEFAULT_RESULTS / "null_draws.csv")
    assert draw_header[-3:] == ["null", "draw", "value"]
    assert {d["null"] for d in draws} == set(nulls) and max(int(d["draw"]) for d in draws) == 19  # n_null 20


@pytest.mark.slow
def test_the_p_value_method_reruns_only_the_summary(tiny_run, tmp_path):
    """stats.p_value changes how the verdict reads the null draws, not the draws: the statistics and the
    contrasts stay (their jobs get stats without p_value)."""
    workdir = tmp_path / "run"
    shutil.copytree(tiny_run, workdir, symlinks=True)
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    config["stats"]["p_value"] = "permutation"
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    rules = {rule for rule, _ in plan(workdir)}
    assert "summary" in rules
    for untouched in ("correlate", "contrast", "baseline_agreement", "attack", "train"):
        assert untouched not in rules


@pytest.mark.slow
def test_verdict_gives_every_statistic_against_every_null(finished_run):
    workdir = finished_run
    header, rows = read_csv(workdir / DEFAULT_RESULTS / "verdict.csv")
    for null in ("random", "within_class"):
        columns = ("null_mean", "null_sd", "z", "p_value", "p_two_sided", "normality_p", "p_normal", "p_method")
        for column in (*columns, "p_adjusted", "draws"):
            assert f"{null}_{column}" in header
    assert {"dataset", "model", "attack", "view", "statistic", "seeds", "seed_mean", "reading"} <= set(header)
    _, summary = read_csv(workdir / DEFAULT_RESULTS / "summary.csv")
    assert len(rows) == len(summary)
    computed = [r for r in rows if not r["note"]]
    openings = ("more related", "less related", "not distinguishable", "undetermined")
    assert computed and all(r["reading"].startswith(openings) for r in computed)
    # NaN (rows below stats.min_pairs stay out of the family) or no smaller than the p-value it adjusts: the
    # normal-tail p where the 20 draws pass the normality check (stats.p_value: normal_tail), else the permutation p
    used = {"normal_tail": "random_p_normal", "permutation": "random_p_two_sided"}
    assert {r["random_p_method"] for r in computed} <= set(used)
    assert not any(float(r["random_p_adjusted"]) < float(r[used[r["random_p_method"]]]) for r in computed)
    facts_header, facts = read_csv(workdir / DEFAULT_RESULTS / "run.csv")
    assert {(f["model"], f["attack"]) for f in facts} == {("cnn", "pgd"), ("cnn", "fgsm")}  # no bias_* models
    assert {
        "attack_success_rate",
        "attack_on_boundary",
        "robust_accuracy",
        "essential_kept",
        "adversarial_attack_failed",
        "adversarial_on_boundary",
    } <= set(facts_header)
    for fact in facts:  # every configured image is kept or dropped for one reason
        kinds = ("kept", "target_lost", "nan_loss", "misclassified_clean", "attack_failed", "on_boundary")
        assert sum(int(fact[f"adversarial_{k}"]) for k in kinds) == int(fact["n_images"]) == 24


@pytest.mark.slow
def test_report_shows_the_verdict_and_what_ran(finished_run, tmp_path):
    workdir = finished_run
    report = tmp_path / "report.html"
    run = snakemake(workdir, "--report", str(report))
    assert run.returncode == 0, run.stderr[-3000:]
    text = report.read_text()
    # issue 30: every caption renders (an unescaped |...| or a bad role became a docutils system message)
    assert "System Message" not in text and "Undefined substitution" not in text
    # the labels the summary and run_facts rules give their tables (workflow.rst names only the categories)
    assert "verdict and every statistic" in text and "models, attacks and maps" in text
    landing = text[text.index("This experiment:") :].split("</p>")[0]
    assert "cnn (small_cnn)" in landing and "bias_" not in landing  # what ran, not the study's models
    verdict_page = (workdir / DEFAULT_RESULTS / "verdict.html").read_text()
    assert "<table>" in verdict_page and "re-paired" in verdict_page and "<h3>Headline</h3>" in verdict_page


@pytest.mark.slow
def test_a_second_experiment_leaves_the_first_intact(finished_run, tmp_path):
    workdir = finished_run
    before = {p: p.stat().st_mtime_ns for p in (workdir / DEFAULT_RESULTS).rglob("*") if p.is_file()}
    config = yaml.safe_load(TINY.read_text())
    config["attacks"] = {"fgsm": config["attacks"]["fgsm"]}  # same model recipe, one attack, one shard
    config.pop("contrasts")  # between PGD and FGSM: one attack is left
    config["maps"]["shards"] = 1
    config.pop("frequency_bias")
    (workdir / "second.yaml").write_text(yaml.safe_dump(config))
    # the verdict (stats_all), not the figures and baselines after it: no assertion here reads them
    # the target first: --configfile takes every path after it
    run = snakemake(workdir, "stats_all", "--configfile", str(workdir / "second.yaml"))
    assert run.returncode == 0, run.stderr[-4000:]
    _, rows = read_csv(workdir / "results/second/verdict.csv")
    assert rows and {r["attack"] for r in rows} == {"fgsm"}
    assert {p: p.stat().st_mtime_ns for p in (workdir / DEFAULT_RESULTS).rglob("*") if p.is_file()} == before
    assert (workdir / "logs/second/fashion_mnist/cnn/seed0/train.log").is_file()
    assert plan(workdir) == []  # the default experiment still has nothing to do


@pytest.mark.slow
def test_second_run_has_nothing_to_do(finished_run):
    workdir = finished_run
    assert plan(workdir) == []


@pytest.mark.slow
def test_editing_one_attack_reruns_only_its_branch(finished_run):
    workdir = finished_run
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    config["attacks"]["pgd"]["params"]["eps"] = 0.0314
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    jobs = plan(workdir)
    rules = {rule for rule, _ in jobs}
    assert "attack" in rules and "correlate" in rules
    assert "train" not in rules and "essential_maps_shard" not in rules
    assert not any(wildcards.get("attack") == "fgsm" for _, wildcards in jobs)
    branch = [wildcards for rule, wildcards in jobs if rule in ("attack", "correlate", "map_figures")]
    assert branch and all(wildcards["attack"] == "pgd" for wildcards in branch)
    fgsm_before = (workdir / R / "stats/fgsm.csv").stat().st_mtime_ns
    run = snakemake(workdir)
    assert run.returncode == 0, run.stderr[-4000:]
    assert (workdir / R / "stats/fgsm.csv").stat().st_mtime_ns == fgsm_before
    assert plan(workdir) == []


# The bad configs the workflow refuses before any job: tests/unit/test_user_errors.py (BAD_CONFIGS).


def test_the_command_prints_the_refusal_and_fails(tmp_path):
    """What the cases above check in this process, through `snakemake --dry-run` once: the message reaches
    the user and the command fails."""
    config = yaml.safe_load(TINY.read_text())
    config["attacks"]["pgd"]["params"]["epsilon"] = 0.1
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    result = snakemake(tmp_path, "--dry-run", timeout=300)
    assert result.returncode != 0
    assert "attacks.pgd.params.epsilon" in result.stdout + result.stderr
    assert not (tmp_path / "results").exists()


def test_malformed_yaml_names_the_file(tmp_path):
    (tmp_path / "config.yaml").write_text("seeds: [0\nmodels: {")
    assert "config.yaml" in refusal(tmp_path)


@pytest.mark.slow
def test_summary_and_list_changes_after_a_config_edit(tiny_run, tmp_path):
    workdir = tmp_path / "run"
    shutil.copytree(tiny_run, workdir, symlinks=True)
    summary = snakemake(workdir, "--summary")
    assert summary.returncode == 0, summary.stderr
    rows = [line.split("\t") for line in summary.stdout.splitlines() if line.startswith("results/")]
    assert rows and all("ok" in row for row in rows), summary.stdout[:2000]
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    config["maps"]["lam"] = 0.2
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    changed = snakemake(workdir, "--list-changes", "params")
    assert changed.returncode == 0, changed.stderr
    listed = set(changed.stdout.split())
    assert f"{R}/maps/essential/shards/1-of-2.safetensors" in listed
    assert f"{R}/maps/adversarial/pgd/shards/2-of-2.safetensors" in listed
    assert f"{R}/model.safetensors" not in listed and f"{R}/attacks/pgd.safetensors" not in listed


@pytest.mark.slow
def test_sharded_attack_covers_every_image_once(tiny_run, tmp_path):
    from freqmaps.io import load_tensors, read_json

    workdir = tmp_path / "run"
    shutil.copytree(tiny_run, workdir, symlinks=True)
    target = f"{R}/attacks/fgsm.safetensors"
    # the target before the options: --forcerun takes every path after it, so a target after it is forced, not
    # requested, and the default target (the whole run downstream of both attacks) is built instead
    result = snakemake(workdir, target, "--set-scatter", "attacks=3", "--forcerun", target)
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(list((workdir / R / "attacks/fgsm/shards").glob("*-of-3.safetensors"))) == 3
    assert not list((workdir / R / "attacks/pgd/shards").glob("*-of-3.safetensors"))  # only the requested attack
    sharded, _ = load_tensors(workdir / target)
    whole, _ = load_tensors(tiny_run / target)
    assert sharded["ids"].tolist() == list(range(24))
    assert torch.equal(sharded["clean"], whole["clean"]) and torch.equal(sharded["labels"], whole["labels"])
    assert (sharded["adversarial"] - sharded["clean"]).abs().max() <= 0.0627 + 1e-6
    metrics = read_json(workdir / R / "attacks/fgsm.json")
    assert metrics["shards"] == 3 and metrics["n_images"] == 24
    correct = sharded["clean_predictions"] == sharded["labels"]
    flipped = correct & (sharded["adversarial_labels"] != sharded["labels"])
    assert metrics["n_success"] == int(sharded["success"].sum()) and bool((sharded["success"] <= flipped).all())
    assert bool(((flipped & ~sharded["success"]) <= sharded["on_boundary"]).all())  # flipped only within the band


def test_workflow_passes_snakemakes_linter(tmp_path):
    """`make lint`'s workflow half: no absolute paths, no path arithmetic, functions apart from rules."""
    shutil.copy(TINY_CONFIG, tmp_path / "config.yaml")
    run = snakemake(tmp_path, "--lint", "--cores", "1", timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "Congratulations" in run.stdout + run.stderr


def test_the_shard_count_names_the_shard_files_so_a_change_reruns_the_maps(tmp_path):
    """Issue 29.9: a map's values depend, by float rounding (up to about 5e-5), on which images share its batch,
    which the shard count decides (docs/METHOD.md §2). Each shard file is named by the count (i-of-N), so another
    count asks for files a finished run does not have: the maps and everything after them are made again."""
    config = yaml.safe_load(TINY.read_text())
    config.pop("frequency_bias")
    shards = {}
    for count in (2, 3):
        config["maps"]["shards"] = count
        (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
        shards[count] = {w["scatteritem"] for rule, w in plan(tmp_path) if rule == "essential_maps_shard"}
    assert shards == {2: {"1-of-2", "2-of-2"}, 3: {"1-of-3", "2-of-3", "3-of-3"}}


def test_a_contrast_reads_the_maps_files_of_its_two_cells(tmp_path):
    """The contrast job's inputs are the maps files the statistics read (no second maps pass), and the summary
    and the forest plot wait for it (its p-values join the verdict's family)."""
    from tests.conftest import planned_jobs

    shutil.copy(TINY, tmp_path / "config.yaml")
    jobs = {(rule, tuple(sorted(w.items()))): inputs for rule, w, inputs in planned_jobs(tmp_path)}
    (contrast,) = [inputs for (rule, _), inputs in jobs.items() if rule == "contrast"]
    data = [f for f in contrast if not f.endswith((".py", ".yaml"))]
    assert data == [
        f"{R}/maps/essential.safetensors",
        f"{R}/maps/adversarial/pgd.safetensors",
        f"{R}/maps/essential.safetensors",
        f"{R}/maps/adversarial/fgsm.safetensors",
    ]
    (summary,) = [inputs for (rule, _), inputs in jobs.items() if rule == "summary"]
    assert f"{DEFAULT_RESULTS}/contrasts/fashion_mnist/seed0/cnn_pgd_vs_cnn_fgsm.csv" in summary
    (forest,) = [inputs for (rule, _), inputs in jobs.items() if rule == "contrast_forest"]
    assert f"{DEFAULT_RESULTS}/contrasts.csv" in forest


def test_a_lam_list_adds_only_the_jobs_of_its_new_values(tmp_path):
    """maps.lam as a list: the first λ keeps the single-λ jobs and paths (a run with that scalar λ is not
    redone), each further λ adds its own maps and statistics under lam<λ>/, and a third value adds only its own
    jobs (the second's keep their paths and settings)."""

    def jobs(lam, name):
        config = yaml.safe_load(TINY.read_text())
        config["maps"]["lam"] = lam
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.yaml").write_text(yaml.safe_dump(config))
        return {(rule, tuple(sorted(w.items()))) for rule, w in plan(tmp_path / name)}

    scalar, two, three = jobs(0.05, "scalar"), jobs([0.05, 0.1], "two"), jobs([0.05, 0.1, 0.2], "three")
    assert scalar <= two
    added = two - scalar
    assert ("lam_sensitivity", ()) in added  # the report's figure against λ
    added -= {("lam_sensitivity", ())}
    assert {rule for rule, _ in added} == {
        "essential_maps_shard_lam",
        "adversarial_maps_shard_lam",
        "gather_essential_maps_lam",
        "gather_adversarial_maps_lam",
        "correlate_lam",
    }
    assert {dict(w)["lam"] for _, w in added} == {"0.1"}
    assert {dict(w)["lam"] for _, w in three - two} == {"0.2"} and two <= three
    assert not any(rule == "lam_sensitivity" for rule, _ in scalar)


def test_the_default_run_answers_a_between_model_and_a_between_attack_question(tmp_path):
    """Issue 31: `make run` (config.yaml) contrasts two models on one attack and two attacks on one model, each
    job reading the maps of its two cells."""
    from tests.conftest import REPO, planned_jobs

    shutil.copy(REPO / "config.yaml", tmp_path / "config.yaml")
    contrasts = [inputs for rule, _, inputs in planned_jobs(tmp_path) if rule == "contrast"]
    cells = set()
    for inputs in contrasts:
        maps = [f for f in inputs if f.endswith(".safetensors")]
        assert len(maps) == 4  # essential and adversarial maps of cell a, then of cell b
        a, b = (tuple(f.split("/")[3:4] + f.split("/")[-1:]) for f in (maps[1], maps[3]))
        cells.add((a, b))
    assert any(a[0] != b[0] and a[1] == b[1] for a, b in cells), cells  # between models, one attack
    assert any(a[0] == b[0] and a[1] != b[1] for a, b in cells), cells  # between attacks, one model
