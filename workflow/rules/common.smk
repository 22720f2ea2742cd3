# Config validation, wildcard constraints and target helpers shared by all rules.
from pathlib import Path

from freqmaps.attacks import check_attack
from freqmaps.config import check_pool_fits, experiment_name, setting, validate_config
from freqmaps.data import check_source, dataset_info, is_synthetic
from freqmaps.frequency_bias.variants import MODEL_PREFIX, variant_models
from freqmaps.models import weights_inputs
from freqmaps.training import check_model_config

# Everything a job would trip over is checked here, before any job: the schema (key path, value, allowed
# values), the bounds between keys, the dataset files, and that the pooling fits the maps.
_configfiles = getattr(workflow.config_settings, "configfiles", None) or []
CONFIG_SOURCE = ", ".join(map(str, _configfiles or ["config.yaml"]))
validate_config(config, source=CONFIG_SOURCE)

# Each experiment (config file) has its own results, logs and benchmarks: the `experiment` key, else the stem
# of the last --configfile, else `default` (config.yaml). The results root is defined here only.
EXPERIMENT = experiment_name(config, _configfiles)
RESULTS = f"results/{EXPERIMENT}"
RUN = f"{RESULTS}/{{dataset}}/{{model}}/seed{{seed}}"  # one model and seed of the experiment
LOGS_ROOT = f"logs/{EXPERIMENT}"
LOGS = f"{LOGS_ROOT}/{{dataset}}/{{model}}/seed{{seed}}"
config["experiment"] = EXPERIMENT  # the report's landing page names it
BENCHMARKS = f"benchmarks/{EXPERIMENT}/{{dataset}}/{{model}}/seed{{seed}}"
_infos = {}
for _name, _dataset in config["datasets"].items():
    check_source(_name, _dataset)  # missing or damaged files, a bad class list or size fail here, before any job
    _infos[_name] = dataset_info(_name, _dataset)
check_pool_fits(config, _infos)
for _name, _model in config["models"].items():
    check_model_config(_name, _model)  # unknown architecture, absent weights file, impossible training mode
for _name, _attack in config["attacks"].items():
    check_attack(_name, _attack)  # an unknown method or parameter fails here, naming the key and the valid ones

# The main experiment runs on the models the config names; the frequency-bias study adds one model per
# variant (bias_<variant>), built from its shared recipe, reachable through the frequency_bias target.
MAIN_MODELS = list(config["models"])
STUDY = config.get("frequency_bias")
MODELS = {**config["models"], **variant_models(config)}  # config["models"] stays what the config names
validate_config(  # the study's merged recipes
    {**config, "models": MODELS}, source=f"{CONFIG_SOURCE} with the frequency_bias models added"
)
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
