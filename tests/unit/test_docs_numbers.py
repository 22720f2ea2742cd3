"""The documentation's run numbers (freqmaps.docs_numbers): each generated file is exactly what its checked-in
sources render, each was measured with the current config, and the renderers put each number where it belongs
(constructed cases with a fixed answer)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from freqmaps import docs_numbers
from freqmaps.docs_numbers import NUMBERS, NUMBERS_DIR

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", list(NUMBERS))
def test_each_generated_file_is_what_its_checked_in_sources_render(name):
    entry = NUMBERS[name]
    path = REPO / NUMBERS_DIR / f"{name}.md"
    assert path.read_text() == docs_numbers.render(entry, REPO), (
        f"{path} is not what its sources render: a number was typed by hand or the renderer changed; run "
        "`python -m freqmaps.docs_numbers render`"
    )


@pytest.mark.parametrize("name", list(NUMBERS))
def test_each_generated_file_was_measured_with_the_current_config(name):
    assert docs_numbers.stale(NUMBERS[name], REPO) == []


@pytest.mark.parametrize("name", list(NUMBERS))
def test_the_guide_includes_each_generated_file(name):
    guide = "\n".join(p.read_text() for p in (REPO / "docs").rglob("*.md") if "_numbers" not in p.parts)
    assert f"```{{include}} _numbers/{name}.md\n```" in guide


@pytest.mark.parametrize("name", [n for n in NUMBERS if (REPO / NUMBERS_DIR / n / "provenance.json").exists()])
def test_the_claims_of_the_prose_hold_on_the_checked_in_numbers(name):
    claims = NUMBERS[name].claims(REPO / NUMBERS_DIR / name)
    if not claims:
        pytest.skip(f"the prose around {name} makes no claim on its numbers")
    assert all(claims.values()), {text: held for text, held in claims.items() if not held}


def copy_of_repo(tmp_path: Path) -> Path:
    """The files docs_numbers reads: the configs and the generated numbers."""
    shutil.copytree(REPO / NUMBERS_DIR, tmp_path / NUMBERS_DIR)
    shutil.copytree(REPO / "configs", tmp_path / "configs")
    shutil.copyfile(REPO / "config.yaml", tmp_path / "config.yaml")
    return tmp_path


def collected() -> list[str]:
    return [n for n in NUMBERS if (REPO / NUMBERS_DIR / n / "provenance.json").exists()]


def test_a_changed_config_section_fails_naming_the_command_that_regenerates(tmp_path):
    root = copy_of_repo(tmp_path)
    entry = NUMBERS[collected()[0]]
    config = root / entry.config
    text = config.read_text()
    assert "seeds: [0]" in text
    config.write_text(text.replace("seeds: [0]", "seeds: [0, 1]", 1))
    problems = docs_numbers.stale(entry, root)
    assert len(problems) == 1 and entry.command in problems[0] and "changed in" in problems[0]


def test_a_hand_edited_number_fails(tmp_path):
    root = copy_of_repo(tmp_path)
    entry = NUMBERS[collected()[0]]
    path = root / NUMBERS_DIR / f"{entry.name}.md"
    text = path.read_text()
    digit = next(i for i, c in enumerate(text) if c.isdigit() and i > text.index("\n\n"))
    path.write_text(text[:digit] + str((int(text[digit]) + 1) % 10) + text[digit + 1 :])
    problems = docs_numbers.stale(entry, root)
    assert len(problems) == 1 and "not what its sources render" in problems[0]


def test_an_uncollected_entry_renders_a_note_naming_its_command(tmp_path):
    entry = NUMBERS["default_run"]
    text = docs_numbers.render(entry, tmp_path)
    assert entry.command in text and "Not generated yet" in text
    assert docs_numbers.stale(entry, tmp_path)  # the file itself is missing


def test_config_sections_take_the_schema_default_where_the_config_is_silent(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("seeds: [3]\nmaps: {lam: 0.1}\n")
    sections = docs_numbers.config_sections(path, ["seeds", "maps", "known_answer.blank_confidence", "nothing"])
    assert sections == {"seeds": [3], "maps": {"lam": 0.1}, "known_answer.blank_confidence": 0.5, "nothing": None}
    # the hash depends on the values, not on how the YAML writes them
    other = tmp_path / "d.yaml"
    other.write_text("maps:\n  lam: 0.1\nseeds:\n- 3\n")
    assert docs_numbers.sections_hash(sections) == docs_numbers.sections_hash(
        docs_numbers.config_sections(other, ["seeds", "maps", "known_answer.blank_confidence", "nothing"])
    )
    other.write_text("maps:\n  lam: 0.2\nseeds:\n- 3\n")
    assert docs_numbers.sections_hash(sections) != docs_numbers.sections_hash(
        docs_numbers.config_sections(other, ["seeds", "maps", "known_answer.blank_confidence", "nothing"])
    )


def test_timing_summary_sums_wall_and_cpu_time_per_file_and_in_all(tmp_path):
    header = "s\th:m:s\tmax_rss\tcpu_time\n"
    (tmp_path / "a" / "m").mkdir(parents=True)
    (tmp_path / "a" / "m" / "train.tsv").write_text(header + "10.5\t0:00:10\t1\t4.25\n")
    (tmp_path / "a" / "m" / "maps.tsv").write_text(header + "2\t0:00:02\t1\t1\n3\t0:00:03\t1\t1.5\n")  # 2 repeats
    (tmp_path / "b.tsv").write_text(header + "100\t0:01:40\t1\t50\n")
    timing = docs_numbers.timing_summary(tmp_path, "a/")
    assert timing == {
        "jobs": {"a/m/maps.tsv": {"s": 5.0, "cpu_time": 2.5}, "a/m/train.tsv": {"s": 10.5, "cpu_time": 4.25}},
        "total_s": 15.5,
        "total_cpu_time": 6.75,
    }
    assert docs_numbers.timing_summary(tmp_path)["total_s"] == 115.5


def variants_row(**changes):
    row = {
        "variant": "adversarial",
        "clean_accuracy": "0.7481",
        "attacked_accuracy": "0.6064",
        "masked_accuracy": "0.728",
        "accuracy_rule_met": "0.0",
        "complement_accuracy": "0.142",
        "mask_density": "0.3512",
        "dataset_mask_low_frequency_index": "0.7634",
        "image_maps_low_frequency_index": "0.9271",
        "image_maps_lfi_ci_low": "0.9068",
        "image_maps_lfi_ci_high": "0.9444",
        "probe_accuracy": "0.67",
        "probe_scrambled_accuracy": "0.171",
        "class_maps_attacks_reverted": "0.68",
        "class_maps_clean_accuracy_kept": "0.92",
        "lfi_all_pass": "0.19634954",
    }
    return row | changes


def test_the_frequency_bias_table_puts_each_column_of_variants_csv_in_its_place():
    lines = docs_numbers.frequency_bias_table(
        [variants_row(), variants_row(variant="standard", accuracy_rule_met="1.0")]
    )
    assert lines[0].startswith("| variant | clean | attacked | masked (99% rule met) |")
    assert lines[2] == (
        "| adversarial | 0.748 | 0.606 | 0.728 (no) | 0.142 | 0.35 | 0.763 | 0.927 [0.907, 0.944] | 0.67 / 0.17 "
        "| 0.68 / 0.92 |"
    )
    assert "| standard | 0.748 | 0.606 | 0.728 (yes) |" in lines[3]
    assert "(50% of seeds)" in docs_numbers.frequency_bias_table([variants_row(accuracy_rule_met="0.5")])[2]


def known_answer_record():
    classes = [
        {"class": 0, "blank": True, "kept_maps": 54, "band_area": 0.08, "mass_in_band_mean": 0.0, "empty_maps": 54},
        {"class": 1, "blank": False, "kept_maps": 40, "band_area": 0.16, "mass_in_band_mean": 0.934, "empty_maps": 0},
        {"class": 2, "blank": False, "kept_maps": 0, "band_area": 0.24, "mass_in_band_mean": None, "empty_maps": 0},
        {"class": 3, "blank": False, "kept_maps": 50, "band_area": 0.331, "mass_in_band_mean": 0.987, "empty_maps": 0},
    ]
    adversarial = {"kept_maps": 125, "judged_maps": 105}
    for region, (mass, area) in {
        "adversarial_only": (0.5, 0.16),
        "shared": (0.23, 0.03),
        "true_only": (0.1, 0.12),
        "neither": (0.17, 0.69),
    }.items():
        adversarial |= {f"{region}_mass": mass, f"{region}_area": area}
    essential = {
        "blank_class": 0,
        "mass_in_band_mean": 0.9551,
        "band_area_mean": 0.244,
        "layout_recovered": 2,
        "layout_classes": 2,
        "classes": classes,
    }
    return {"essential": essential, "adversarial": {"pgd": adversarial}}


def test_the_known_answer_rows_put_each_measure_in_its_place():
    attacks = {"pgd": {"method": "PGD", "params": {"eps": 0.0627}}}
    rows = dict(docs_numbers.known_answer_rows({"synthetic": known_answer_record()}, {"synthetic": 0.9951}, attacks))
    assert rows["test accuracy"] == ["1.00"]
    assert rows["blank class (the model's answer for the empty image)"] == ["class 0: 54 of its 54 kept maps are empty"]
    # the blank class and a class without kept maps are left out
    assert rows["essential-map mass inside the class's band, per other class (band area)"] == [
        "0.93 (0.16), 0.99 (0.33)"
    ]
    assert rows["mean over those maps (claim: ≥ 0.7)"] == ["0.955 (area 0.24)"]
    assert rows["class-mean map correlates best with its own band"] == ["2 of 2"]
    label = "adversarial maps, `pgd` (PGD at 16/255): mass in adversarial-only / shared / true-only / neither bands"
    assert rows[label] == ["105 of 125 kept maps judged: 0.50 / 0.23 / 0.10 / 0.17 (areas 0.16 / 0.03 / 0.12 / 0.69)"]


def test_structure_reads_each_table_header_and_row_labels():
    text = "intro\n\n| a | b |\n|---|---:|\n| x | 1 |\n| y | 2 |\n\nmore\n\n| c |\n|---|\n| z |\n"
    assert docs_numbers.structure(text) == [(("a", "b"), ("x", "y")), (("c",), ("z",))]


def test_main_check_exits_1_naming_the_problem(tmp_path, capsys):
    root = copy_of_repo(tmp_path)
    name = collected()[0]
    (root / NUMBERS_DIR / f"{name}.md").write_text("typed by hand\n")
    assert docs_numbers.main(["check", name, "--root", str(root)]) == 1
    assert "not what its sources render" in capsys.readouterr().out
    assert docs_numbers.main(["render", name, "--root", str(root)]) == 0
    assert docs_numbers.main(["check", name, "--root", str(root)]) == 0


def test_provenance_names_config_hash_commit_date_machine_and_command():
    for name in collected():
        provenance = json.loads((REPO / NUMBERS_DIR / name / "provenance.json").read_text())
        assert set(provenance) == {"config", "sections", "config_hash", "commit", "date", "machine", "command"}
        head = (REPO / NUMBERS_DIR / f"{name}.md").read_text().split("\n\n")[0]
        for key in ("config", "config_hash", "commit", "date", "machine", "command"):
            assert str(provenance[key]) in head


def test_suggest_sentence_reports_what_and_how_long(tmp_path):
    found = {"where": "synthetic / cnn / seed 0", "n_images": 16, "threads": 1, "max_steps": 150}
    found |= {"wall_s": 31.46, "cpu_s": 29.5, "eps_linf": 0.031234, "eps_l2": 0.8765, "lam": 0.05}
    (tmp_path / "suggest.json").write_text(json.dumps(found))
    provenance = {"config": "c.yaml", "machine": "a 2-core x86_64 machine"}
    assert docs_numbers.render_suggest(tmp_path, provenance) == [
        "On the model `synthetic / cnn / seed 0` of `c.yaml` (16 test images, 1 thread, 150 steps per map in the "
        "λ sweep) it took 31 s (30 s of CPU time) on a 2-core x86_64 machine, and suggested eps 0.0312 (L-inf) "
        "or 0.876 (L2) and λ 0.05."
    ]


def test_the_default_run_headline_shows_what_ran_and_the_first_views_verdict(tmp_path):
    (tmp_path / "run.csv").write_text(
        "dataset,model,seed,attack,test_accuracy,clean_accuracy,attack_success_rate,robust_accuracy,"
        "essential_kept,adversarial_kept,eps\nfm,cnn,0,pgd,0.81234,0.8,0.9,0.08,480,400,0.0627\n"
    )
    (tmp_path / "verdict.csv").write_text(
        "dataset,model,seed,attack,view,statistic,direction,k,value,ci_low,ci_high,random_null_mean,"
        "random_p_adjusted,reading\n"
        "fm,cnn,0,pgd,maps,cosine,,,0.2001,0.19,0.21,0.1,0.0123,more related than the random null\n"
        "fm,cnn,0,pgd,radial,cosine,,,0.5,0.4,0.6,0.1,0.5,not shown\n"
    )
    timing = {"jobs": {"fm/cnn/seed0/train.tsv": {"s": 60.0, "cpu_time": 50.0}}}
    timing["jobs"]["fm/cnn/seed0/baseline_clean.tsv"] = {"s": 30.0, "cpu_time": 20.0}
    (tmp_path / "timing.json").write_text(json.dumps(timing | {"total_s": 90.0, "total_cpu_time": 70.0}))
    lines = docs_numbers.render_default_run(tmp_path, {"config": "config.yaml", "machine": "a 2-core machine"})
    assert lines[0] == (
        "Measured with `config.yaml`: its 2 jobs took 1.5 min in all (the sum of their benchmark wall times; 1.2 "
        "min of CPU time) on a 2-core machine, of which 0.5 min in the baselines stage."
    )
    assert "| fm | cnn | 0 | pgd | 0.812 | 0.800 | 0.900 | 0.080 | 480 | 400 |" in lines
    assert (
        "| fm | cnn | 0 | pgd | cosine |  |  | 0.200 [0.190, 0.210] | 0.012 | more related than the random null |"
        in (lines)
    )
    assert not any("not shown" in line for line in lines)  # only the first view


def test_the_default_run_headline_carries_the_verdicts_headline_and_the_contrasts(tmp_path):
    """Issues 28 and 31: the guide shows the plain-words headline per model and attack and the contrasts
    between models and between attacks, with their paired intervals and adjusted p."""
    (tmp_path / "run.csv").write_text("dataset,model,seed,attack\nfm,cnn,0,pgd\n")
    (tmp_path / "verdict.csv").write_text("dataset,model,view,statistic,value,ci_low,ci_high,reading\n")
    (tmp_path / "timing.json").write_text(json.dumps({"jobs": {}, "total_s": 0.0, "total_cpu_time": 0.0}))
    (tmp_path / "verdict.md").write_text(
        "# Verdict\n\n## Headline\n\n**fm / cnn / pgd**: more related than chance.\n\n## Every statistic\n\n| x |\n"
    )
    (tmp_path / "contrasts.csv").write_text(
        "contrast,statistic,direction,k,n_pairs,model_a,attack_a,model_b,attack_b,difference,ci_low,ci_high,"
        "p_adjusted,reading\n"
        "models,cosine,,,400,cnn,pgd,cnn_adv,pgd,0.05,0.02,0.08,0.001,a (cnn / pgd) more related than b\n"
    )
    lines = docs_numbers.render_default_run(tmp_path, {"config": "config.yaml", "machine": "a 2-core machine"})
    assert "**fm / cnn / pgd**: more related than chance." in lines
    assert not any("| x |" in line for line in lines)  # the headline section only
    assert (
        "| models | cosine |  |  | 400 | cnn / pgd | cnn_adv / pgd | 0.050 [0.020, 0.080] | 0.001 "
        "| a (cnn / pgd) more related than b |" in lines
    )
    header = next(i for i, line in enumerate(lines) if line.startswith("| contrast |"))
    assert lines[header].count("|") == lines[header + 1].count("|")  # a table Markdown can read


def baseline_row(measure, chosen, attack="", band="true"):
    return {"measure": measure, "attack": attack, "band": band, "n_images": "146", "band_area": "0.24"} | {
        "mass_in_band": "0.5",
        "chosen_in_band": str(chosen),
        "chosen_mean": "40.2",
        "recall_image": "0.18",
        "recall_class": "0.82",
    }


def test_the_baselines_table_puts_each_column_of_known_answer_csv_in_its_place():
    lines = docs_numbers.baselines_table([baseline_row("adversarial_maps", 0.744, attack="pgd", band="adversarial")])
    assert lines[0] == (
        "| measure | attack | band | images | band area | mass in band | chosen in band | entries chosen | "
        "recall / image | recall / class |"
    )
    assert lines[2] == "| `adversarial_maps` | pgd | adversarial | 146 | 0.24 | 0.50 | 0.74 | 40.2 | 0.18 | 0.82 |"
    assert docs_numbers.baselines_table([baseline_row("essential_maps", 0.9)])[2].startswith("| `essential_maps` | – |")


def test_known_answer_claims_are_checked_on_the_sources_present(tmp_path):
    config = {"datasets": {"synthetic": {"layout": "rings"}, "other": {"layout": "scales"}}, "attacks": {"pgd": {}}}
    (tmp_path / "config.json").write_text(json.dumps(config))
    (tmp_path / "synthetic").mkdir()
    record = known_answer_record()
    record["essential"]["meets_threshold"] = True
    record["essential"]["mass_in_band_mean"] = 0.991
    (tmp_path / "synthetic" / "known_answer.json").write_text(json.dumps(record))
    claims = docs_numbers.known_answer_claims(tmp_path)
    assert len(claims) == 8 and all(claims.values())  # nothing of `other`, nor of the study: no files
    assert len(docs_numbers.known_answer_claims(tmp_path, defended_only=True)) == 6  # not what it reports
    record["adversarial"]["pgd"]["adversarial_only_mass"] = 0.3  # under twice its area share, 0.16
    record["essential"]["classes"][0]["empty_maps"] = 53
    (tmp_path / "synthetic" / "known_answer.json").write_text(json.dumps(record))
    failed = [text for text, held in docs_numbers.known_answer_claims(tmp_path).items() if not held]
    assert failed == [
        "synthetic: the blank class's kept maps are all empty",
        "synthetic: the adversarial maps hold over twice the adversarial-only area share",
    ]
    (tmp_path / "frequency_bias").mkdir()
    rows = [variants_row(variant="standard", attacked_accuracy="0.3"), variants_row(attacked_accuracy="0.2")]
    (tmp_path / "frequency_bias" / "variants.csv").write_text(
        ",".join(rows[0]) + "\n" + "\n".join(",".join(r.values()) for r in rows) + "\n"
    )
    assert (
        docs_numbers.known_answer_claims(tmp_path)["study: adversarial training gives robustness to the study's attack"]
        is False
    )
