# Config validation, wildcard constraints and target helpers shared by all rules.
from freqmaps.config import check_pool_fits, setting, validate_config
from freqmaps.data import check_source, dataset_info, is_synthetic
from freqmaps.frequency_bias import MODEL_PREFIX, STUDY_INPUTS, variant_models

# Everything a job would trip over is checked here, before any job: the schema (key path, value, allowed
# values), the bounds between keys, the dataset files, and that the pooling fits the maps.
CONFIG_SOURCE = ", ".join(map(str, getattr(workflow.config_settings, "configfiles", None) or ["config.yaml"]))
validate_config(config, source=CONFIG_SOURCE)
_infos = {}
for _name, _dataset in config["datasets"].items():
    check_source(_name, _dataset.get("root"), setting(config, "datasets", _name, "download"))
    _infos[_name] = dataset_info(_name, _dataset)  # a bad class list or size fails here, before any job
check_pool_fits(config, _infos)

# The main experiment runs on the models the config names; the frequency-bias study adds one model per
# variant (bias_<variant>), built from its shared recipe, reachable through the frequency_bias target.
MAIN_MODELS = list(config["models"])
STUDY = config.get("frequency_bias")
config["models"].update(variant_models(config))
validate_config(config, source=f"{CONFIG_SOURCE} with the frequency_bias models added")  # the study's merged recipes
BIAS = "results/{dataset}/{model}/seed{seed}/frequency_bias"  # the study's files per variant model and seed

wildcard_constraints:
    dataset="|".join(config["datasets"]),
    model="|".join(config["models"]),
    attack="|".join(config["attacks"]),
    seed=r"\d+",
    scatteritem=r"\d+-of-\d+",


scattergather:
    maps=setting(config, "maps", "shards"),
    attacks=setting(config, "attack_shards"),
