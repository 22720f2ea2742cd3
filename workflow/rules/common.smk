# Config validation, wildcard constraints and target helpers shared by all rules.
import re
from pathlib import Path

from freqmaps.config import ConfigError, contrasts, experiment_name, lam_label, lam_values, setting
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
ALIGNMENT_TABLE = f"{RUN}/alignment/{{attack}}.csv"  # per frequency: rho of E and A across images, p-values
ALIGNMENT_FIGURE = f"{RUN}/figures/{{attack}}/alignment_map.png"
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
# λ sensitivity (maps.lam a list): the first λ keeps the paths above; each other λ has its own maps and statistics
# under lam<λ>/ (docs/METHOD.md §2.1), the rest of the chain (figures, baselines, contrasts) uses the first.
LAMS = lam_values(config)
EXTRA_LAMS = {lam_label(value): value for value in LAMS[1:]}
LAM_RUN = f"{RUN}/lam{{lam}}"
LAM_ESSENTIAL_MAPS_SHARD = f"{LAM_RUN}/maps/essential/shards/{{scatteritem}}.safetensors"
LAM_ESSENTIAL_MAPS = f"{LAM_RUN}/maps/essential.safetensors"
LAM_ADVERSARIAL_MAPS_SHARD = f"{LAM_RUN}/maps/adversarial/{{attack}}/shards/{{scatteritem}}.safetensors"
LAM_ADVERSARIAL_MAPS = f"{LAM_RUN}/maps/adversarial/{{attack}}.safetensors"
LAM_MAP_STATISTICS = f"{LAM_RUN}/stats/{{attack}}.csv"
LAM_NULL_DRAWS = f"{LAM_RUN}/stats/{{attack}}_null_draws.csv"
LAM_LOGS = f"{LOGS}/lam{{lam}}"
LAM_BENCHMARKS = f"{BENCHMARKS}/lam{{lam}}"
# The whole experiment.
VERDICT = f"{RESULTS}/verdict.csv"  # the experiment's answer
RUN_FACTS = f"{RESULTS}/run.csv"  # what ran
BASELINES_TABLE = f"{RESULTS}/baselines.csv"
BIAS_VARIANTS = f"{RESULTS}/{{dataset}}/frequency_bias/variants.csv"  # the frequency-bias study's answer
CONTRAST_TABLE = f"{RESULTS}/contrasts/{{dataset}}/seed{{seed}}/{{contrast}}.csv"  # one contrast, unadjusted
CONTRASTS_TABLE = f"{RESULTS}/contrasts.csv"  # every contrast, adjusted with the verdict and read
CONTRAST_FOREST_FIGURE = f"{RESULTS}/figures/contrasts_forest.png"
LAM_SENSITIVITY_FIGURE = f"{RESULTS}/figures/lam_sensitivity.png"  # with maps.lam a list

# The main experiment runs on the models the config names; the frequency-bias study adds one model per
# variant (bias_<variant>), built from its shared recipe, reachable through the frequency_bias target.
MAIN_MODELS = list(config["models"])
STUDY = config.get("frequency_bias")
MODELS = FACTS.models  # config["models"] stays what the config names
BIAS = f"{RUN}/frequency_bias"  # the study's files per variant model and seed
# Contrasts between (model, attack) cells, by name; a cell may be any model, the study's included.
CONTRASTS = {entry["name"]: entry for entry in contrasts(config, MODELS)}

wildcard_constraints:
    dataset="|".join(config["datasets"]),
    model="|".join(MODELS),
    attack="|".join(config["attacks"]),
    contrast="|".join(CONTRASTS) or "(?!)",
    lam="|".join(re.escape(label) for label in EXTRA_LAMS) or "(?!)",
    seed=r"\d+",
    scatteritem=r"\d+-of-\d+",


scattergather:
    maps=setting(config, "maps", "shards"),
    attacks=setting(config, "attack_shards"),
