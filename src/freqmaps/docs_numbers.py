"""The documentation's numbers that describe a run, rendered from that run's own files.

Every table or sentence of the guide that reports what a run measured (accuracies, masses, intervals, job
times) is a file ``docs/guide/_numbers/<name>.md`` that the guide includes, rendered by this module; nothing of
it is typed by hand. Beside it, ``docs/guide/_numbers/<name>/`` holds the small files it was rendered from,
copied from the run's results (``variants.csv``, ``known_answer.json``, ...), the config sections that
determine them (``config.json``), a summary of the run's benchmark files (``timing.json``) and
``provenance.json`` (config file, hash of those sections, commit, date, machine, the command that regenerates
it). So the text can be rendered again offline, and the tests check that

- rendering each file from its checked-in sources gives exactly the checked-in text (no number is hand-typed);
- the config hash recorded in its provenance equals the hash of the same sections of the current config (a
  changed default without regenerated numbers fails, naming the command to run);
- a fresh tiny run renders to tables of the same structure, on which the claims the prose makes hold.

Commands (from the repository root)::

    python -m freqmaps.docs_numbers collect NAME   # after the run NAME's command: copy its sources, render
    python -m freqmaps.docs_numbers render         # re-render every file from its checked-in sources
    python -m freqmaps.docs_numbers check          # what the tests check: text and config hash up to date

A file whose run has not been collected yet renders as a short note that says so and names the command.
This module never imports Snakemake or torch.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import hashlib
import json
import math
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from freqmaps.config import read_config, schema_at
from freqmaps.io import read_csv, read_json

NUMBERS_DIR = Path("docs/guide/_numbers")  # relative to the repository root
PROVENANCE = "provenance.json"
CONFIG_SECTIONS = "config.json"
TIMING = "timing.json"
HASH_LENGTH = 16


# ------------------------------------------------------------------ reading the small source files
def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def fmt(value: Any, digits: int = 2) -> str:
    """A number as the docs print it: fixed decimals, an en dash for a missing or non-finite value."""
    number = _float(value)
    return "–" if not math.isfinite(number) else f"{number:.{digits}f}"


def fmt_p(value: Any) -> str:
    """A p-value as the docs print it: three decimals, "< 0.001" below that, an en dash when missing."""
    number = _float(value)
    return "–" if not math.isfinite(number) else "< 0.001" if number < 0.0005 else f"{number:.3f}"


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]], align: Sequence[str] = ()) -> list[str]:
    """A Markdown table; ``align`` gives ``l`` or ``r`` per column (default: first left, the rest right)."""
    align = list(align) or ["l"] + ["r"] * (len(header) - 1)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" if a == "l" else "---:" for a in align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


# ------------------------------------------------------------------ config sections and their hash
def config_sections(config_path: Path, sections: Sequence[str]) -> dict[str, Any]:
    """The config's value of each dotted key in ``sections``, the schema's default where the config leaves it
    out (None where the schema has none): what the numbers depend on."""
    config = read_config(config_path)
    out: dict[str, Any] = {}
    for dotted in sections:
        keys = dotted.split(".")
        node: Any = config
        for key in keys:
            if not isinstance(node, Mapping) or key not in node:
                try:
                    node = schema_at(*keys).get("default")
                except (KeyError, TypeError):
                    node = None
                break
            node = node[key]
        out[dotted] = node
    return out


def sections_hash(values: Mapping[str, Any]) -> str:
    """A short hash of config values, independent of key order and YAML formatting."""
    text = json.dumps(values, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:HASH_LENGTH]


# ------------------------------------------------------------------ run timings (Snakemake benchmark files)
def timing_summary(benchmarks: Path, prefix: str = "") -> dict[str, Any]:
    """Per benchmark file under ``benchmarks`` whose path relative to it starts with ``prefix`` (Snakemake's
    ``s`` and ``cpu_time`` columns, summed over repeats), keyed by that path, and the totals."""
    jobs: dict[str, dict[str, float]] = {}
    for path in sorted(benchmarks.rglob("*.tsv")):
        if not path.relative_to(benchmarks).as_posix().startswith(prefix):
            continue
        rows = _read_csv_tsv(path)
        jobs[path.relative_to(benchmarks).as_posix()] = {
            "s": round(sum(_float(r.get("s")) for r in rows), 2),
            "cpu_time": round(sum(_float(r.get("cpu_time")) for r in rows), 2),
        }
    return {
        "jobs": jobs,
        "total_s": round(sum(j["s"] for j in jobs.values()), 2),
        "total_cpu_time": round(sum(j["cpu_time"] for j in jobs.values()), 2),
    }


def _read_csv_tsv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def _timing_sentence(timing: Mapping[str, Any], provenance: Mapping[str, Any]) -> str:
    return (
        f"its {len(timing['jobs'])} jobs took {_minutes(timing['total_s'])} in all (the sum of their benchmark "
        f"wall times; {_minutes(timing['total_cpu_time'])} of CPU time) on {provenance['machine']}"
    )


def _jobs_matching(timing: Mapping[str, Any], prefix: str, *parts: str) -> float:
    """Summed wall time of the benchmark files whose path starts with ``prefix`` and contains every one of
    ``parts``."""
    return sum(
        job["s"] for name, job in timing["jobs"].items() if name.startswith(prefix) and all(p in name for p in parts)
    )


# ------------------------------------------------------------------ what the configs say, in words
def _attack_words(name: str, attack: Mapping[str, Any]) -> str:
    params = attack.get("params", {})
    eps = params.get("eps")
    budget = f" at {round(float(eps) * 255)}/255" if eps is not None else ""
    return f"`{name}` ({attack.get('method', name)}{budget})"


def _variants_words(study: Mapping[str, Any]) -> str:
    """The study's variants and their settings, as the config gives them."""
    return "; ".join(
        name + (" (" + ", ".join(f"{k} {v}" for k, v in settings.items()) + ")" if settings else "")
        for name, settings in study.get("variants", {}).items()
    )


def _train_words(train: Mapping[str, Any], n_train: Any) -> str:
    epochs = train.get("epochs")
    return f"{epochs} epochs on {int(n_train):,} images" if n_train else f"{epochs} epochs"


# ------------------------------------------------------------------ the frequency-bias study ([P1])
BIAS_HEADER = (
    "variant",
    "clean",
    "attacked",
    "masked (99% rule met)",
    "complement",
    "mask density",
    "LFI dataset mask",
    "LFI image maps [95% CI]",
    "probe / scrambled",
    "attacks reverted / clean kept (class maps)",
)


def _rule_met(value: Any) -> str:
    share = _float(value)
    return "yes" if share == 1 else "no" if share == 0 else f"{share:.0%} of seeds"


def frequency_bias_table(variants: Sequence[Mapping[str, str]]) -> list[str]:
    """The study's table, one row per variant of ``variants.csv``."""
    rows = [
        (
            row["variant"],
            fmt(row["clean_accuracy"], 3),
            fmt(row["attacked_accuracy"], 3),
            f"{fmt(row['masked_accuracy'], 3)} ({_rule_met(row['accuracy_rule_met'])})",
            fmt(row["complement_accuracy"], 3),
            fmt(row["mask_density"]),
            fmt(row["dataset_mask_low_frequency_index"], 3),
            f"{fmt(row['image_maps_low_frequency_index'], 3)} "
            f"[{fmt(row['image_maps_lfi_ci_low'], 3)}, {fmt(row['image_maps_lfi_ci_high'], 3)}]",
            f"{fmt(row['probe_accuracy'])} / {fmt(row['probe_scrambled_accuracy'])}",
            f"{fmt(row['class_maps_attacks_reverted'])} / {fmt(row['class_maps_clean_accuracy_kept'])}",
        )
        for row in variants
    ]
    return _table(BIAS_HEADER, rows)


def render_frequency_bias(folder: Path, provenance: Mapping[str, Any]) -> list[str]:
    """The default config's frequency-bias study (``make frequency_bias``)."""
    config = read_json(folder / CONFIG_SECTIONS)
    study = config["frequency_bias"]
    dataset = study["dataset"]
    data = config["datasets"].get(dataset, {})
    variants = read_csv(folder / "variants.csv")
    attack = study["attack"]
    timing = read_json(folder / TIMING)
    seeds = config["seeds"]
    lines = [
        f"Measured with `{provenance['config']}` (`{dataset}`, {study.get('arch', 'the configured model')}, "
        f"{_train_words(study.get('train', {}), data.get('n_train'))}, "
        f"{_attack_words(attack, config['attacks'][attack])}, {len(seeds)} seed{'s' if len(seeds) > 1 else ''}; "
        f"{_timing_sentence(timing, provenance)}). All-pass LFI = {fmt(variants[0]['lfi_all_pass'], 3)}.",
        "",
        *frequency_bias_table(variants),
    ]
    return lines


# ------------------------------------------------------------------ known-answer validation
def _blank_words(record: Mapping[str, Any]) -> str:
    blank = record["essential"]["blank_class"]
    if blank is None:
        return "none (no class keeps the empty image confidently)"
    row = record["essential"]["classes"][blank]
    return f"class {blank}: {row['empty_maps']} of its {row['kept_maps']} kept maps are empty"


def _judged_classes(record: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [row for row in record["essential"]["classes"] if not row["blank"] and row["kept_maps"]]


REGIONS = ("adversarial_only", "shared", "true_only", "neither")


def known_answer_rows(
    records: Mapping[str, Mapping[str, Any]], accuracies: Mapping[str, float], attacks: Mapping[str, Any]
) -> list[tuple[str, list[str]]]:
    """Row label and one cell per dataset of the known-answer table."""
    datasets = list(records)
    rows: list[tuple[str, list[str]]] = [
        ("test accuracy", [fmt(accuracies[d]) for d in datasets]),
        ("blank class (the model's answer for the empty image)", [_blank_words(records[d]) for d in datasets]),
        (
            "essential-map mass inside the class's band, per other class (band area)",
            [
                ", ".join(f"{fmt(r['mass_in_band_mean'])} ({fmt(r['band_area'])})" for r in _judged_classes(records[d]))
                for d in datasets
            ],
        ),
        (
            "mean over those maps (claim: ≥ 0.7)",
            [
                f"{fmt(records[d]['essential']['mass_in_band_mean'], 3)} "
                f"(area {fmt(records[d]['essential']['band_area_mean'])})"
                for d in datasets
            ],
        ),
        (
            "class-mean map correlates best with its own band",
            [
                f"{records[d]['essential']['layout_recovered']} of {records[d]['essential']['layout_classes']}"
                for d in datasets
            ],
        ),
    ]
    for attack in attacks:
        cells = []
        for d in datasets:
            a = records[d]["adversarial"][attack]
            masses = " / ".join(fmt(a[f"{r}_mass"]) for r in REGIONS)
            areas = " / ".join(fmt(a[f"{r}_area"]) for r in REGIONS)
            cells.append(f"{a['judged_maps']} of {a['kept_maps']} kept maps judged: {masses} (areas {areas})")
        rows.append(
            (
                f"adversarial maps, {_attack_words(attack, attacks[attack])}: mass in adversarial-only / shared / "
                "true-only / neither bands",
                cells,
            )
        )
    return rows


def render_known_answer(folder: Path, provenance: Mapping[str, Any]) -> list[str]:
    """Known-answer validation (``make known_answer``): per synthetic dataset, then the two-scale study."""
    config = read_json(folder / CONFIG_SECTIONS)
    datasets = [d for d in config["datasets"] if (folder / d / "known_answer.json").exists()]
    records = {d: read_json(folder / d / "known_answer.json") for d in datasets}
    accuracies = {d: read_json(folder / d / "model.json")["test_accuracy"] for d in datasets}
    timing = read_json(folder / TIMING)
    model = next(iter(config["models"].values()))
    first = config["datasets"][datasets[0]]
    header = [
        "",
        *(
            f"`{d}` ({config['datasets'][d].get('layout', '')}, {config['datasets'][d].get('n_classes', '')} classes)"
            for d in datasets
        ),
    ]
    rows = known_answer_rows(records, accuracies, config["attacks"])
    lines = [
        f"Measured with `{provenance['config']}` ({model.get('arch', 'the model')}, "
        f"{_train_words(model.get('train', {}), first.get('n_train'))}, {first.get('n_test_images')} test images "
        f"mapped, maps.max_steps {config['maps'].get('max_steps')}; {_timing_sentence(timing, provenance)}):",
        "",
        *_table(header, ([label, *cells] for label, cells in rows), ["l"] * len(header)),
    ]
    study = config.get("frequency_bias") or {}
    if (folder / "frequency_bias" / "variants.csv").exists():
        attack = study["attack"]
        lines += [
            "",
            f"The frequency-bias study on `{study['dataset']}` ({_variants_words(study)}), attacked with "
            f"{_attack_words(attack, config['attacks'][attack])}; all-pass LFI = "
            f"{fmt(read_csv(folder / 'frequency_bias' / 'variants.csv')[0]['lfi_all_pass'], 3)}:",
            "",
            *frequency_bias_table(read_csv(folder / "frequency_bias" / "variants.csv")),
        ]
    return lines


def known_answer_claims(folder: Path, defended_only: bool = False) -> dict[str, bool]:
    """What the guide's prose says of the known-answer tables, checked on whichever sources ``folder`` holds.

    ``defended_only``: only what the guide defends as a property of the method (it must hold on any run of
    the config, the test suite's smaller one included), not what it reports of this run."""
    config = read_json(folder / CONFIG_SECTIONS)
    first_attack = next(iter(config["attacks"]))
    defended: dict[str, bool] = {}
    reported: dict[str, bool] = {}
    for dataset in config["datasets"]:
        if not (folder / dataset / "known_answer.json").exists():
            continue
        record = read_json(folder / dataset / "known_answer.json")
        essential = record["essential"]
        first = record["adversarial"][first_attack]
        defended[f"{dataset}: each class-mean map correlates best with its own band"] = (
            essential["layout_recovered"] == essential["layout_classes"] >= 2
        )
        reported[f"{dataset}: the kept essential maps put at least 99% of their mass in the class band"] = (
            essential["mass_in_band_mean"] >= 0.99
        )
        if essential["blank_class"] is not None:
            blank = essential["classes"][essential["blank_class"]]
            defended[f"{dataset}: the blank class's kept maps are all empty"] = (
                blank["empty_maps"] == blank["kept_maps"]
            )
        if config["datasets"][dataset].get("layout") == "rings":  # one band per class
            defended[f"{dataset}: the essential maps' mean mass in the class band is at least 0.7"] = essential[
                "meets_threshold"
            ]
            defended[f"{dataset}: every class's maps hold over twice its band's area share"] = all(
                row["mass_in_band_mean"] > 2 * row["band_area"] for row in _judged_classes(record)
            )
            defended[f"{dataset}: the adversarial maps hold over twice the adversarial-only area share"] = (
                first["adversarial_only_mass"] > 2 * first["adversarial_only_area"]
            )
            defended[f"{dataset}: the adversarial maps hold more than the shared bands' area share"] = (
                first["shared_mass"] > first["shared_area"]
            )
            reported[f"{dataset}: the true class's own band holds less than its area share"] = (
                first["true_only_mass"] < first["true_only_area"]
            )
        else:  # two rings per class
            reported[f"{dataset}: the adversarial maps hold over twice the true class's own area share"] = (
                first["true_only_mass"] > 2 * first["true_only_area"]
            )
            reported[f"{dataset}: the adversarial class's own band holds less than the true class's"] = (
                first["adversarial_only_mass"] < first["true_only_mass"]
            )
    if (folder / "frequency_bias" / "variants.csv").exists():
        rows = {r["variant"]: r for r in read_csv(folder / "frequency_bias" / "variants.csv")}
        standard, adversarial = rows["standard"], rows["adversarial"]
        defended["study: adversarial training gives robustness to the study's attack"] = _float(
            adversarial["attacked_accuracy"]
        ) > _float(standard["attacked_accuracy"])
        reported["study: the adversarial model's single-image maps sit at higher radii, intervals apart"] = _float(
            adversarial["image_maps_lfi_ci_high"]
        ) < _float(standard["image_maps_lfi_ci_low"])
        reported["study: both dataset masks keep nearly the whole spectrum (density at least 0.95)"] = all(
            _float(row["mask_density"]) >= 0.95 for row in (standard, adversarial)
        )
    return defended if defended_only else defended | reported


# ------------------------------------------------------------------ baselines against the planted bands
BASELINE_HEADER = (
    "measure",
    "attack",
    "band",
    "images",
    "band area",
    "mass in band",
    "chosen in band",
    "entries chosen",
    "recall / image",
    "recall / class",
)


def baselines_table(rows: Sequence[Mapping[str, str]]) -> list[str]:
    cells = [
        (
            f"`{r['measure']}`",
            r.get("attack") or "–",
            r["band"],
            str(r["n_images"]),
            fmt(r["band_area"]),
            fmt(r["mass_in_band"]),
            fmt(r["chosen_in_band"]),
            fmt(r["chosen_mean"], 1),
            fmt(r["recall_image"]),
            fmt(r["recall_class"]),
        )
        for r in rows
    ]
    return _table(BASELINE_HEADER, cells, ["l", "l", "l"] + ["r"] * 7)


def known_answer_baselines_claims(folder: Path, defended_only: bool = False) -> dict[str, bool]:
    """What the guide's prose says of the planted-band table of maps and baselines."""
    rows = read_csv(folder / "known_answer.csv")
    clean = [r for r in rows if r["band"] == "true"]
    chosen = {r["measure"]: _float(r["chosen_in_band"]) for r in clean}
    essential = next(r for r in clean if r["measure"] == "essential_maps")
    defended = {
        "the essential maps hold over twice the band's area share of their mass": _float(essential["mass_in_band"])
        > 2 * _float(essential["band_area"]),
        "the one-step saliency of the full objective chooses fewer band entries than its data term alone": chosen[
            "saliency"
        ]
        < chosen["data_saliency"],
    }
    reported = {
        "the essential maps choose band entries at least as precisely as every clean-image baseline": all(
            chosen["essential_maps"] >= value for value in chosen.values()
        ),
        "the gradient spectrum chooses at least 80% of its entries in the band": chosen["gradient_spectrum"] >= 0.8,
        "the heat map chooses under 20% of its entries in the band": chosen["fourier_heat_map"] < 0.2,
    }
    attacks = list(dict.fromkeys(r["attack"] for r in rows if r["band"] == "adversarial"))
    if attacks:
        attacked = {r["measure"]: _float(r["chosen_in_band"]) for r in rows if r["attack"] == attacks[0]}
        reported[f"{attacks[0]}: the adversarial maps choose band entries more precisely than every baseline"] = all(
            attacked["adversarial_maps"] > value for name, value in attacked.items() if name != "adversarial_maps"
        )
    return defended if defended_only else defended | reported


BASELINE_JOBS = (  # what the guide compares, and the parts of the benchmark files' names (workflow/rules)
    ("the heat map", ("/baseline_heat_map",)),
    ("the clean-image baselines", ("/baseline_clean",)),
    ("the attacked-image baselines (every attack)", ("/baseline_attack_",)),
    ("the essential and adversarial maps (every attack)", ("/maps_",)),
)


def render_known_answer_baselines(folder: Path, provenance: Mapping[str, Any]) -> list[str]:
    """Planted-band recovery of the learned maps and every baseline (``…/baselines/known_answer.csv``)."""
    config = read_json(folder / CONFIG_SECTIONS)
    dataset = config["dataset"]
    rows = read_csv(folder / "known_answer.csv")
    timing = read_json(folder / TIMING)
    times = ", ".join(f"{what} {_jobs_matching(timing, f'{dataset}/', *parts):.0f} s" for what, parts in BASELINE_JOBS)
    return [
        f"Measured on `{dataset}` with `{provenance['config']}` ({len(config['baselines'].get('measures', []))} "
        f"measures; the heat map on {config['baselines'].get('heat_map', {}).get('n_images', 100)} images), "
        f"`…/baselines/known_answer.csv`:",
        "",
        *baselines_table(rows),
        "",
        f"Job times of this model (benchmark wall times on {provenance['machine']}): {times}.",
    ]


# ------------------------------------------------------------------ the default experiment (make run)
RUN_COLUMNS = (  # run.csv's columns the headline shows (docs/guide/workflow.md describes them all)
    "dataset",
    "model",
    "seed",
    "attack",
    "test_accuracy",
    "clean_accuracy",
    "attack_success_rate",
    "robust_accuracy",
    "essential_kept",
    "adversarial_kept",
)
VERDICT_KEYS = ("dataset", "model", "seed", "attack", "statistic", "direction", "k")


CONTRAST_KEYS = ("contrast", "statistic", "direction", "k", "n_pairs")


def verdict_headline(text: str) -> list[str]:
    """The paragraphs of verdict.md's "Headline" section (one per model and attack)."""
    lines = text.splitlines()
    if "## Headline" not in lines:
        return []
    start = lines.index("## Headline") + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("## ")), len(lines))
    section = lines[start:end]
    while section and not section[0].strip():
        section.pop(0)
    while section and not section[-1].strip():
        section.pop()
    return section


def render_default_run(folder: Path, provenance: Mapping[str, Any]) -> list[str]:
    """The default experiment's headline: what ran (run.csv), the verdict's headline per model and attack
    (verdict.md), the contrasts between models and between attacks (contrasts.csv), the verdict on the first
    view (verdict.csv) and its job times, the baselines' share apart."""
    headline = verdict_headline((folder / "verdict.md").read_text()) if (folder / "verdict.md").exists() else []
    contrasts = read_csv(folder / "contrasts.csv") if (folder / "contrasts.csv").exists() else []
    contrast_lines: list[str] = []
    if contrasts:
        keys = [k for k in CONTRAST_KEYS if k in contrasts[0]]
        contrast_lines = [
            "",
            "The contrasts (`contrasts.csv`: cell a minus cell b on the images kept in both, paired 95% interval, "
            "Benjamini-Hochberg adjusted p in the verdict's family):",
            "",
            *_table(
                [*keys, "a", "b", "difference [95% CI]", "p adj.", "reading"],
                (
                    [
                        *(r[k] for k in keys),
                        f"{r['model_a']} / {r['attack_a']}",
                        f"{r['model_b']} / {r['attack_b']}",
                        f"{fmt(r['difference'], 3)} [{fmt(r['ci_low'], 3)}, {fmt(r['ci_high'], 3)}]",
                        fmt_p(r.get("p_adjusted")),
                        r.get("reading", ""),
                    ]
                    for r in contrasts
                ),
                ["l"] * (len(keys) + 5),
            ),
        ]
    run = read_csv(folder / "run.csv")
    verdict = read_csv(folder / "verdict.csv")
    timing = read_json(folder / TIMING)
    columns = [c for c in RUN_COLUMNS if run and c in run[0]]
    view = verdict[0].get("view", "") if verdict else ""
    shown = [r for r in verdict if r.get("view", "") == view]
    nulls = [c.removesuffix("_null_mean") for c in (verdict[0] if verdict else {}) if c.endswith("_null_mean")]
    keys = [k for k in VERDICT_KEYS if verdict and k in verdict[0]]
    header = [*keys, "value [95% CI]", *(f"p adj. ({n})" for n in nulls), "reading"]
    baselines = _jobs_matching(timing, "", "/baseline_")
    return [
        f"Measured with `{provenance['config']}`: {_timing_sentence(timing, provenance)}, of which "
        f"{_minutes(baselines)} in the baselines stage.",
        "",
        *_table(
            columns, ([fmt(r[c], 3) if _is_number(r[c]) else r[c] for c in columns] for r in run), ["l"] * len(columns)
        ),
        *(["", "The headline (`verdict.md`):", "", *headline] if headline else []),
        *contrast_lines,
        "",
        f"The verdict on the view `{view}` (`verdict.csv`; the other views in the file):",
        "",
        *_table(
            header,
            (
                [
                    *(r[k] for k in keys),
                    f"{fmt(r['value'], 3)} [{fmt(r['ci_low'], 3)}, {fmt(r['ci_high'], 3)}]",
                    *(fmt_p(r.get(f"{n}_p_adjusted")) for n in nulls),
                    r.get("reading", ""),
                ]
                for r in shown
            ),
            ["l"] * len(header),
        ),
    ]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return "." in text


# ------------------------------------------------------------------ suggest's time
def render_suggest(folder: Path, provenance: Mapping[str, Any]) -> list[str]:
    """What ``python -m freqmaps.suggest`` measured on one trained model, and how long it took."""
    found = read_json(folder / "suggest.json")
    threads = found["threads"]
    return [
        f"On the model `{found['where']}` of `{provenance['config']}` ({found['n_images']} test images, "
        f"{threads} thread{'s' if threads > 1 else ''}, {found['max_steps']} steps per map in the λ sweep) it "
        f"took {found['wall_s']:.0f} s ({found['cpu_s']:.0f} s of CPU time) on {provenance['machine']}, and "
        f"suggested eps {found['eps_linf']:.3g} (L-inf) or {found['eps_l2']:.3g} (L2) and λ {found['lam']:g}."
    ]


# ------------------------------------------------------------------ the structure of a rendered file
def structure(text: str) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """Per Markdown table of ``text``: its header cells and the first cell of each row (variant, measure,
    quantity): what a fresh run must reproduce whatever its numbers."""
    tables: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("|") and i + 1 < len(lines) and lines[i + 1].startswith("|-"):
            header = tuple(cell.strip() for cell in lines[i].strip("|").split("|"))
            i += 2
            labels = []
            while i < len(lines) and lines[i].startswith("|"):
                labels.append(lines[i].strip("|").split("|")[0].strip())
                i += 1
            tables.append((header, tuple(labels)))
        else:
            i += 1
    return tables


# ------------------------------------------------------------------ the registry
@dataclass(frozen=True)
class Numbers:
    """One generated file of the docs: which run it comes from and how it is rendered.

    ``sources`` maps a checked-in file name to its path under ``results/<experiment>/``; ``sections`` are the
    dotted config keys its numbers depend on (hashed into the provenance); ``benchmarks`` the path prefix,
    under ``benchmarks/<experiment>/``, of the benchmark files whose timings it reports (empty: all); ``run``
    the command that makes the run (``collect`` follows it)."""

    name: str
    config: str
    experiment: str
    run: str
    sections: tuple[str, ...]
    sources: Mapping[str, str]
    render: Callable[[Path, Mapping[str, Any]], list[str]]
    benchmarks: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)
    # the prose's claims, checked on the sources (``defended_only``: those any run of the config must meet)
    claims: Callable[..., dict[str, bool]] = lambda folder, defended_only=False: {}

    @property
    def command(self) -> str:
        return f"{self.run} && python -m freqmaps.docs_numbers collect {self.name}"


KNOWN_ANSWER_SECTIONS = ("seeds", "datasets", "models", "attacks", "maps", "known_answer", "frequency_bias")
RUN_PATH = "{dataset}/cnn/seed0"

NUMBERS: dict[str, Numbers] = {
    entry.name: entry
    for entry in (
        Numbers(
            name="known_answer",
            config="configs/synthetic_known_answer.yaml",
            experiment="synthetic_known_answer",
            run="make known_answer",
            sections=KNOWN_ANSWER_SECTIONS,
            sources={
                "synthetic/known_answer.json": "synthetic/cnn/seed0/known_answer/known_answer.json",
                "synthetic/model.json": "synthetic/cnn/seed0/model.json",
                "synthetic_scales/known_answer.json": "synthetic_scales/cnn/seed0/known_answer/known_answer.json",
                "synthetic_scales/model.json": "synthetic_scales/cnn/seed0/model.json",
                "frequency_bias/variants.csv": "synthetic_scales/frequency_bias/variants.csv",
            },
            render=render_known_answer,
            claims=known_answer_claims,
        ),
        Numbers(
            name="known_answer_baselines",
            config="configs/synthetic_known_answer.yaml",
            experiment="synthetic_known_answer",
            run="make known_answer",
            sections=("seeds", "datasets.synthetic", "models", "attacks", "maps", "known_answer", "baselines"),
            sources={"known_answer.csv": "synthetic/cnn/seed0/baselines/known_answer.csv"},
            render=render_known_answer_baselines,
            claims=known_answer_baselines_claims,
            benchmarks="synthetic/",
            extra={"dataset": "synthetic"},
        ),
        Numbers(
            name="suggest",
            config="configs/synthetic_known_answer.yaml",
            experiment="synthetic_known_answer",
            run="make known_answer && python -m freqmaps.suggest configs/synthetic_known_answer.yaml "
            "--json results/synthetic_known_answer/suggest.json",
            sections=("seeds", "datasets.synthetic", "models"),
            sources={"suggest.json": "suggest.json"},
            render=render_suggest,
            benchmarks="suggest/",  # no job of the workflow: the time is in suggest.json
        ),
        Numbers(
            name="frequency_bias",
            config="config.yaml",
            experiment="default",
            run="make frequency_bias",
            sections=("seeds", "datasets", "attacks", "frequency_bias"),
            sources={"variants.csv": "fashion_mnist/frequency_bias/variants.csv"},
            render=render_frequency_bias,
            benchmarks="fashion_mnist/bias_",
        ),
        Numbers(
            name="default_run",
            config="config.yaml",
            experiment="default",
            run="make run",
            sections=("seeds", "datasets", "models", "attacks", "maps", "stats", "baselines", "contrasts"),
            sources={
                "run.csv": "run.csv",
                "verdict.csv": "verdict.csv",
                "verdict.md": "verdict.md",
                "contrasts.csv": "contrasts.csv",
            },
            render=render_default_run,
        ),
    )
}


# ------------------------------------------------------------------ rendering, collecting, checking
def numbers_dir(root: Path) -> Path:
    return root / NUMBERS_DIR


def header_lines(entry: Numbers, provenance: Mapping[str, Any] | None) -> list[str]:
    """The provenance comment (MyST ``%`` comments: not shown on the page)."""
    lines = [f"% Generated by `python -m freqmaps.docs_numbers render` from {NUMBERS_DIR / entry.name}/: do not edit."]
    if provenance is None:
        return lines + [f"% Regenerate: {entry.command}"]
    return lines + [
        f"% Config: {provenance['config']}, sections {', '.join(provenance['sections'])}: "
        f"hash {provenance['config_hash']}",
        f"% Run: commit {provenance['commit']}, {provenance['date']}, {provenance['machine']}",
        f"% Regenerate: {provenance['command']}",
    ]


def render(entry: Numbers, root: Path) -> str:
    """The text of ``docs/guide/_numbers/<name>.md`` from its checked-in sources."""
    folder = numbers_dir(root) / entry.name
    if not (folder / PROVENANCE).exists():
        body = [
            f"Not generated yet in this checkout: `{entry.command}` renders these numbers from a run of "
            f"`{entry.config}`."
        ]
        return "\n".join([*header_lines(entry, None), "", *body]) + "\n"
    provenance = read_json(folder / PROVENANCE)
    return "\n".join([*header_lines(entry, provenance), "", *entry.render(folder, provenance)]) + "\n"


def _run_commit(folder: Path, root: Path) -> str:
    """The commit the run's models were trained at (their sidecars' provenance), else the checkout's."""
    for path in sorted(folder.rglob("model.json")):
        record = read_json(path)
        commit = record.get("git_commit") or record.get("provenance", {}).get("git_commit")
        if commit:
            return str(commit)
    try:
        out = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=root, capture_output=True, text=True)
        return out.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def machine() -> str:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"a {cores}-core {platform.machine()} machine"


def collect(
    entry: Numbers, root: Path, results: Path | None = None, benchmarks: Path | None = None, partial: bool = False
) -> Path:
    """Copy the run's source files into ``docs/guide/_numbers/<name>/`` with the config sections, a timing
    summary and the provenance, and render the Markdown file; returns it. ``partial``: a run that made only
    some of the sources (the test suite's smaller runs) renders what they hold."""
    results = results or root / "results" / entry.experiment
    benchmarks = benchmarks or root / "benchmarks" / entry.experiment
    folder = numbers_dir(root) / entry.name
    missing = [str(results / path) for path in entry.sources.values() if not (results / path).exists()]
    if missing and not (partial and len(missing) < len(entry.sources)):
        raise FileNotFoundError(f"{entry.name}: run `{entry.run}` first; missing {', '.join(missing)}")
    if folder.exists():
        shutil.rmtree(folder)
    for name, path in entry.sources.items():
        if not (results / path).exists():
            continue
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(results / path, folder / name)
    sections = config_sections(root / entry.config, entry.sections)
    (folder / CONFIG_SECTIONS).write_text(json.dumps({**sections, **entry.extra}, indent=1) + "\n")  # config order
    timing = timing_summary(benchmarks, entry.benchmarks)
    (folder / TIMING).write_text(json.dumps(timing, indent=1, sort_keys=True) + "\n")
    provenance = {
        "config": entry.config,
        "sections": list(entry.sections),
        "config_hash": sections_hash(sections),
        "commit": _run_commit(results, root),
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d"),
        "machine": machine(),
        "command": entry.command,
    }
    (folder / PROVENANCE).write_text(json.dumps(provenance, indent=1) + "\n")
    out = numbers_dir(root) / f"{entry.name}.md"
    out.write_text(render(entry, root))
    return out


def stale(entry: Numbers, root: Path) -> list[str]:
    """Why the checked-in file of ``entry`` is out of date (empty: up to date)."""
    problems = []
    path = numbers_dir(root) / f"{entry.name}.md"
    text = path.read_text() if path.exists() else None
    if text != render(entry, root):
        problems.append(
            f"{path.relative_to(root)} is not what its sources render: run `python -m freqmaps.docs_numbers "
            f"render` (never edit it by hand)"
        )
    provenance_path = numbers_dir(root) / entry.name / PROVENANCE
    if provenance_path.exists():
        provenance = read_json(provenance_path)
        current = sections_hash(config_sections(root / entry.config, provenance["sections"]))
        if list(provenance["sections"]) != list(entry.sections) or current != provenance["config_hash"]:
            problems.append(
                f"{entry.name}: {entry.config} changed in {', '.join(entry.sections)} since these numbers were "
                f"measured (hash {current}, recorded {provenance['config_hash']}): run `{entry.command}`"
            )
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m freqmaps.docs_numbers", description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=("collect", "render", "check"))
    parser.add_argument("names", nargs="*", help=f"default: all of {', '.join(NUMBERS)} (collect: one or more)")
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the repository root (default: here)")
    parser.add_argument("--results", type=Path, help="the run's results/<experiment> folder, if elsewhere")
    parser.add_argument("--benchmarks", type=Path, help="the run's benchmarks/<experiment> folder, if elsewhere")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in NUMBERS]
    if unknown:
        parser.error(f"unknown {', '.join(unknown)}; choose from {', '.join(NUMBERS)}")
    if args.action == "collect" and not args.names:
        parser.error("collect: name the numbers to collect")
    entries = [NUMBERS[n] for n in args.names or NUMBERS]
    if args.action == "collect":
        for entry in entries:
            print(f"freqmaps: wrote {collect(entry, args.root, args.results, args.benchmarks)}")
        return 0
    if args.action == "render":
        for entry in entries:
            (numbers_dir(args.root) / f"{entry.name}.md").write_text(render(entry, args.root))
        return 0
    problems = [p for entry in entries for p in stale(entry, args.root)]
    print("\n".join(problems) if problems else "freqmaps: the documentation's run numbers are up to date")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
