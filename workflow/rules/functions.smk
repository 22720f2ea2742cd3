# Functions the rules call: targets, settings passed as params, and the library modules a rule depends on.


def library(*modules):
    """The package modules a job runs, and those every job uses, as inputs: editing them reruns the job."""
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


def study_inputs(kind):
    """The file of one kind for every variant and seed of the study."""
    if not STUDY:
        return []
    path = {  # keys: freqmaps.frequency_bias.STUDY_INPUTS
        "model": "results/{dataset}/{model}/seed{seed}/model.json",
        "attack": f"results/{{dataset}}/{{model}}/seed{{seed}}/attacks/{STUDY['attack']}.json",
        "dataset_mask": f"{BIAS}/dataset_mask.safetensors",
        "image_masks": f"{BIAS}/image_masks.safetensors",
        "class_maps": f"{BIAS}/class_maps/{STUDY['attack']}.safetensors",
    }[kind]
    return expand(path, dataset=STUDY["dataset"], model=[MODEL_PREFIX + v for v in STUDY["variants"]], seed=config["seeds"])


def study_settings(key):
    return canonical((STUDY or {}).get(key, {}))


def synthetic_datasets():
    return [name for name, settings in config["datasets"].items() if is_synthetic(name, settings)]
