import re
from pathlib import Path

from freqmaps._dependencies import library_files

# Functions the rules call: targets, settings passed as params, and the library files a rule's script runs.


def code_of(script):
    """The package files the rule's ``script`` (in scripts/) runs, as inputs: editing one reruns the job, and
    editing any other reruns nothing. They are the script's ``freqmaps`` imports followed transitively
    (freqmaps._dependencies), never a hand-kept list, plus the schema whose defaults fill what the config leaves
    out.

    Inside the working directory they are given relative to it, so a finished run copied or moved with its
    workflow (scratch to project storage) reruns nothing; a workflow elsewhere is named by its absolute path.
    """
    root = Path(workflow.basedir).resolve()  # the checkout holding the Snakefile
    package = root / "src" / "freqmaps"
    files = library_files(root / "scripts" / script, package_dir=package)
    sources = [package / f for f in files] + [package / "schemas" / "config.schema.yaml"]
    here = Path.cwd().resolve()
    return [str(s.relative_to(here)) if s.is_relative_to(here) else str(s) for s in sources]


def expand_models(pattern, **extra):
    extra.setdefault("dataset", list(config["datasets"]))
    return expand(pattern, model=MAIN_MODELS, seed=config["seeds"], **extra)


def expand_attacks(pattern):
    return expand_models(pattern, attack=config["attacks"])


def result_targets():
    """Every per-model result a user reads, so that a plain rerun restores one that was deleted (only requested
    files are rebuilt when missing; their downstream files alone would not bring them back)."""
    return (
        expand_models(WEIGHTS)
        + expand_models(ESSENTIAL_MAPS)
        + [
            path
            for pattern in (
                ADVERSARIAL_EXAMPLES,
                ADVERSARIAL_MAPS,
                MAP_STATISTICS,
                PER_IMAGE_STATISTICS,
                NULL_DRAWS,
                ALIGNMENT_TABLE,
            )
            for path in expand_attacks(pattern)
        ]
    )


def figure_targets():
    per_attack = (
        CLASS_MEAN_MAPS_FIGURE,
        EXAMPLES_FIGURE,
        COSINE_NULL_FIGURE,
        BAND_PROFILES_FIGURE,
        NULL_HISTOGRAMS_FIGURE,
        ALIGNMENT_FIGURE,
    )
    return (
        [path for figure in per_attack for path in expand_attacks(figure)]
        + expand_models(INFORMATION_IMBALANCE_FIGURE)
        + ([CONTRAST_FOREST_FIGURE] if CONTRASTS else [])
        + ([LAM_SENSITIVITY_FIGURE] if EXTRA_LAMS else [])
    )


def canonical(settings):
    """Settings with keys sorted at every level: Snakemake compares params by their printed form, so
    reordering keys in config.yaml must not look like a change."""
    if isinstance(settings, dict):
        return {key: canonical(settings[key]) for key in sorted(settings)}
    if isinstance(settings, list):
        return [canonical(item) for item in settings]
    return settings


def statistics_settings():
    """``stats`` as the statistics jobs see it (canonical): without ``p_value``, which only the summary uses, so
    choosing how the verdict computes its p-values reruns the summary and not the statistics."""
    return canonical({key: value for key, value in config["stats"].items() if key != "p_value"})


def class_names(wildcards):
    return FACTS.datasets[wildcards.dataset]["class_names"]


def dataset_settings(wildcards):
    return canonical(config["datasets"][wildcards.dataset])


def model_settings(wildcards):
    return canonical(MODELS[wildcards.model])


def model_weights(wildcards):
    """The weights files a model is built from (local, cached or RobustBench's), unless still to be downloaded."""
    return FACTS.weights[wildcards.model]


def attack_settings(wildcards):
    return canonical(config["attacks"][wildcards.attack])


def map_settings():
    """Map settings of the engine with the first λ of a list (a single λ stays as written, so its params and its
    jobs do not change). The shard count is not one; it names the shard files, so another count makes the maps
    again: docs/METHOD.md §2."""
    settings = {k: v for k, v in config["maps"].items() if k != "shards"}
    if isinstance(settings.get("lam"), list):
        settings["lam"] = LAMS[0]
    return canonical(settings)


def lam_map_settings(wildcards):
    """The map settings of one further λ of a list."""
    return canonical({**map_settings(), "lam": EXTRA_LAMS[wildcards.lam]})


def study_settings(key):
    return canonical((STUDY or {}).get(key, {}))


def planted_band_datasets():
    """The configured datasets whose planted bands are known: synthetic ones, and any with a `bands` file."""
    return [name for name, facts in FACTS.datasets.items() if facts["planted_bands"]]


def known_answer_targets(wildcards=None):
    """The known-answer files of every model on every dataset with planted bands (and the baselines' table of the
    bands when the config has baselines); none is an error naming the key."""
    datasets = planted_band_datasets()
    if not datasets:
        raise ValueError(
            f"known_answer: no dataset of {CONFIG_SOURCE} has planted bands ({', '.join(config['datasets'])}); "
            "set datasets.<name>.bands to a safetensors file holding bool `bands` [classes, H, W], or add a "
            "synthetic dataset"
        )
    # with baselines configured, their planted-band table too: which cheap measure recovers the bands
    baselines = expand_models(BASELINE_KNOWN_ANSWER, dataset=datasets) if BASELINE_MEASURES else []
    return expand_models(KNOWN_ANSWER, dataset=datasets) + baselines


def planted_bands_input(wildcards):
    """A dataset's bands file, when it has one (synthetic bands are generated from the settings)."""
    bands = config["datasets"][wildcards.dataset].get("bands")
    return {"bands": bands} if bands else {}


# The configured datasets with planted bands, as a wildcard constraint; (?!) matches nothing, so with none there
# is no known-answer job.
PLANTED_BAND_DATASET = "|".join(map(re.escape, planted_band_datasets())) or "(?!)"


def experiment_runs():
    """Every dataset, model, seed and attack of the main experiment, in one fixed order (the summary's)."""
    return [
        {"dataset": dataset, "model": model, "seed": seed, "attack": attack}
        for dataset in config["datasets"]
        for model in MAIN_MODELS
        for seed in config["seeds"]
        for attack in config["attacks"]
    ]


def per_run(pattern):
    """``pattern`` filled in for each of :func:`experiment_runs`, in the same order."""
    return [pattern.format(**run) for run in experiment_runs()]


def statistics_runs():
    """Every run of :func:`experiment_runs` at every λ (the first λ first), with its ``lam``: the summary's order."""
    return [{**run, "lam": LAMS[0]} for run in experiment_runs()] + [
        {**run, "lam": value} for value in EXTRA_LAMS.values() for run in experiment_runs()
    ]


def per_statistics_run(first, further):
    """``first`` filled in for each run at the first λ, ``further`` for each at every other λ, in the order of
    :func:`statistics_runs`."""
    runs = experiment_runs()
    return [first.format(**run) for run in runs] + [
        further.format(**run, lam=label) for label in EXTRA_LAMS for run in runs
    ]


def study_files(wildcards):
    """Every file the study reads, per variant and seed, named by freqmaps.frequency_bias.study.input_name."""
    from freqmaps.frequency_bias import study as bias_study  # here: it imports torch, which a parse need not
    from freqmaps.frequency_bias.variants import MODEL_PREFIX

    produced_by = {  # kinds: bias_study.STUDY_INPUTS
        "attack": rules.gather_attack.output.metrics,
        "dataset_mask": rules.dataset_mask.output.mask,
        "dataset_mask_sidecar": rules.dataset_mask.output.sidecar,
        "image_maps": rules.image_maps.output.maps,
        "class_maps_sidecar": rules.class_maps.output.sidecar,
    }
    return {
        bias_study.input_name(kind, variant, seed): expand(
            produced_by[kind], dataset=wildcards.dataset, model=MODEL_PREFIX + variant, seed=seed, attack=STUDY["attack"]
        )[0]
        for variant in STUDY["variants"]
        for seed in config["seeds"]
        for kind in bias_study.STUDY_INPUTS
    }


def contrast_runs():
    """Every contrast on every dataset and seed, with its cells (the summary's order of the contrast tables)."""
    return [
        {
            "contrast": name,
            "dataset": dataset,
            "seed": seed,
            "model_a": entry["a"]["model"],
            "attack_a": entry["a"]["attack"],
            "model_b": entry["b"]["model"],
            "attack_b": entry["b"]["attack"],
        }
        for dataset in config["datasets"]
        for seed in config["seeds"]
        for name, entry in CONTRASTS.items()
    ]


def contrast_tables():
    return [CONTRAST_TABLE.format(**run) for run in contrast_runs()]


def contrast_maps(wildcards):
    """The maps files of a contrast's two cells: the files the statistics already read (no second maps pass)."""
    entry = CONTRASTS[wildcards.contrast]
    files = {}
    for side in ("a", "b"):
        cell = {"dataset": wildcards.dataset, "seed": wildcards.seed, **entry[side]}
        files[f"essential_{side}"] = ESSENTIAL_MAPS.format(**cell)
        files[f"adversarial_{side}"] = ADVERSARIAL_MAPS.format(**cell)
    return files


def contrast_settings(wildcards):
    return canonical({key: CONTRASTS[wildcards.contrast][key] for key in ("statistics", "views")})
