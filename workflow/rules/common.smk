# Config validation, wildcard constraints and target helpers shared by all rules.
from pathlib import Path

from freqmaps.config import ConfigError, experiment_name, setting
from freqmaps.validation import WORKFLOW_CACHE, check_experiment
from snakemake.logging import logger

# Everything a job would trip over is checked here, before any job, by the one check that `python -m
# freqmaps.config FILE` runs too (freqmaps.validation): the schema (key path, value, allowed values), the bounds
# between keys, the dataset files, the models and their weights, each attack built and run on a stand-in model.
# Its verdict is kept under .snakemake/freqmaps while the config, the library and the files it read are unchanged,
# so that a repeat parse imports no torch. A refusal is the message alone (SystemExit), without a traceback.
_configfiles = getattr(workflow.config_settings, "configfiles", None) or []
CONFIG_SOURCE = ", ".join(map(str, _configfiles or ["config.yaml"]))
try:
    FACTS = check_experiment(config, CONFIG_SOURCE, _configfiles, cache_dir=WORKFLOW_CACHE)
    EXPERIMENT = experiment_name(config, _configfiles)
except ConfigError as _error:
    raise SystemExit(str(_error)) from None
for _warning in FACTS.warnings:
    logger.warning(_warning)

# Each experiment (config file) has its own results, logs and benchmarks: the `experiment` key, else the stem
# of the last --configfile, else `default` (config.yaml), checked above. The results root is defined here only.
RESULTS = f"results/{EXPERIMENT}"
RUN = f"{RESULTS}/{{dataset}}/{{model}}/seed{{seed}}"  # one model and seed of the experiment
LOGS_ROOT = f"logs/{EXPERIMENT}"
LOGS = f"{LOGS_ROOT}/{{dataset}}/{{model}}/seed{{seed}}"
config["experiment"] = EXPERIMENT  # the report's landing page names it
BENCHMARKS = f"benchmarks/{EXPERIMENT}/{{dataset}}/{{model}}/seed{{seed}}"

# Every file that more than one rule (or a rule and a target function) names is defined here once; a file only
# its producing rule names stays in that rule. One model and seed: training, attack, maps, statistics, figures.
WEIGHTS = f"{RUN}/model.safetensors"  # the trained classifier
TRAINING_METRICS = f"{RUN}/model.json"  # its sidecar: training metrics and provenance
ATTACK_SHARD = f"{RUN}/attacks/{{attack}}/shards/{{scatteritem}}.safetensors"
ADVERSARIAL_EXAMPLES = f"{RUN}/attacks/{{attack}}.safetensors"  # the attack's images, gathered
ATTACK_METRICS = f"{RUN}/attacks/{{attack}}.json"  # their sidecar: the attack's metrics over all images
ESSENTIAL_MAPS_SHARD = f"{RUN}/maps/essential/shards/{{scatteritem}}.safetensors"
ESSENTIAL_MAPS = f"{RUN}/maps/essential.safetensors"  # the frequencies each clean image needs
ADVERSARIAL_MAPS_SHARD = f"{RUN}/maps/adversarial/{{attack}}/shards/{{scatteritem}}.safetensors"
ADVERSARIAL_MAPS = f"{RUN}/maps/adversarial/{{attack}}.safetensors"  # the frequencies each attack exploits
MAP_STATISTICS = f"{RUN}/stats/{{attack}}.csv"  # every statistic between essential and adversarial maps
PER_IMAGE_STATISTICS = f"{RUN}/stats/{{attack}}_per_image.csv"
NULL_DRAWS = f"{RUN}/stats/{{attack}}_null_draws.csv"  # the re-pairing nulls' draws
CLASS_MEAN_MAPS_FIGURE = f"{RUN}/figures/{{attack}}/class_mean_maps.png"
EXAMPLES_FIGURE = f"{RUN}/figures/{{attack}}/examples.png"
COSINE_NULL_FIGURE = f"{RUN}/figures/{{attack}}/cosine_null.png"
BAND_PROFILES_FIGURE = f"{RUN}/figures/{{attack}}/band_profiles.png"
NULL_HISTOGRAMS_FIGURE = f"{RUN}/figures/{{attack}}/null_histograms.png"
INFORMATION_IMBALANCE_FIGURE = f"{RUN}/figures/information_imbalance_plane.png"
KNOWN_ANSWER = f"{RUN}/known_answer/known_answer.json"  # planted against learned bands, synthetic datasets
# The baselines stage, per model and seed.
BASE = f"{RUN}/baselines"  # one model's baseline files
HEAT_MAP = f"{BASE}/fourier_heat_map.safetensors"  # error rate per added Fourier basis image
HEAT_MAP_FIGURE = f"{BASE}/fourier_heat_map.png"
ATTACK_BASELINES = f"{BASE}/attacks/{{attack}}.safetensors"  # per-image baselines of one attack's images
BASELINE_AGREEMENT = f"{BASE}/agreement/{{attack}}.json"  # every baseline against the maps (the table's sidecar)
BASELINE_MEAN_MAPS_FIGURE = f"{BASE}/figures/{{attack}}_mean_maps.png"
BASELINE_KNOWN_ANSWER = f"{BASE}/known_answer.csv"
# The whole experiment.
VERDICT = f"{RESULTS}/verdict.csv"  # the experiment's answer
RUN_FACTS = f"{RESULTS}/run.csv"  # what ran
BASELINES_TABLE = f"{RESULTS}/baselines.csv"
BIAS_VARIANTS = f"{RESULTS}/{{dataset}}/frequency_bias/variants.csv"  # the frequency-bias study's answer

# The main experiment runs on the models the config names; the frequency-bias study adds one model per
# variant (bias_<variant>), built from its shared recipe, reachable through the frequency_bias target.
MAIN_MODELS = list(config["models"])
STUDY = config.get("frequency_bias")
MODELS = FACTS.models  # config["models"] stays what the config names
BIAS = f"{RUN}/frequency_bias"  # the study's files per variant model and seed

wildcard_constraints:
    dataset="|".join(config["datasets"]),
    model="|".join(MODELS),
    attack="|".join(config["attacks"]),
    seed=r"\d+",
    scatteritem=r"\d+-of-\d+",


scattergather:
    maps=setting(config, "maps", "shards"),
    attacks=setting(config, "attack_shards"),
