# Config validation, wildcard constraints and target helpers shared by all rules.
from snakemake.utils import validate


from freqmaps.data import check_source, dataset_info, is_synthetic
from freqmaps.frequency_bias import MODEL_PREFIX, STUDY_INPUTS, variant_models

validate(config, schema="../schemas/config.schema.yaml")
for _name, _dataset in config["datasets"].items():
    check_source(_name, _dataset.get("root"), _dataset.get("download", False))
    dataset_info(_name, _dataset)  # a bad class list or size fails here, before any job

# The main experiment runs on the models the config names; the frequency-bias study adds one model per
# variant (bias_<variant>), built from its shared recipe, reachable through the frequency_bias target.
MAIN_MODELS = list(config["models"])
STUDY = config.get("frequency_bias")
if STUDY and STUDY["dataset"] not in config["datasets"]:
    raise ValueError(f"frequency_bias.dataset: {STUDY['dataset']!r} is not under datasets: {list(config['datasets'])}")
if STUDY and STUDY["attack"] not in config["attacks"]:
    raise ValueError(f"frequency_bias.attack: {STUDY['attack']!r} is not under attacks: {list(config['attacks'])}")
config["models"].update(variant_models(config))

wildcard_constraints:
    dataset="|".join(config["datasets"]),
    model="|".join(config["models"]),
    attack="|".join(config["attacks"]),
    seed=r"\d+",
    scatteritem=r"\d+-of-\d+",


scattergather:
    maps=config["maps"].get("shards", 1),
    attacks=config.get("attack_shards", 1),


def library(*modules):
    """The package modules a rule runs (and those every rule uses): inputs, so editing them reruns the rule."""
    shared = ("io", "runtime")
    return [workflow.source_path(f"../../src/freqmaps/{m}.py") for m in (*modules, *shared)]


def expand_models(pattern, **extra):
    extra.setdefault("dataset", list(config["datasets"]))
    return expand(pattern, model=MAIN_MODELS, seed=config["seeds"], **extra)


def expand_attacks(pattern):
    return expand_models(pattern, attack=config["attacks"])


def figure_targets():
    return expand_attacks("results/{dataset}/{model}/seed{seed}/figures/{attack}/class_mean_maps.png") + expand_attacks(
        "results/{dataset}/{model}/seed{seed}/figures/{attack}/examples.png"
    ) + expand_attacks("results/{dataset}/{model}/seed{seed}/figures/{attack}/cosine_null.png") + expand_attacks(
        "results/{dataset}/{model}/seed{seed}/figures/{attack}/band_profiles.png"
    ) + expand_attacks("results/{dataset}/{model}/seed{seed}/figures/{attack}/null_histograms.png") + expand_models(
        "results/{dataset}/{model}/seed{seed}/figures/information_imbalance_plane.png"
    )


def canonical(settings):
    """Settings with keys sorted at every level: Snakemake compares params by their printed form, so
    reordering keys in config.yaml must not look like a change."""
    if isinstance(settings, dict):
        return {key: canonical(settings[key]) for key in sorted(settings)}
    if isinstance(settings, list):
        return [canonical(item) for item in settings]
    return settings


def class_names(wildcards):
    return list(dataset_info(wildcards.dataset, config["datasets"][wildcards.dataset]).class_names)


def dataset_settings(wildcards):
    return canonical(config["datasets"][wildcards.dataset])


def model_settings(wildcards):
    return canonical(config["models"][wildcards.model])


def attack_settings(wildcards):
    return canonical(config["attacks"][wildcards.attack])


def map_settings():
    """Map settings that change the maps (the shard count only splits the work)."""
    return canonical({k: v for k, v in config["maps"].items() if k != "shards"})
