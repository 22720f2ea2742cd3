# Config validation, wildcard constraints and target helpers shared by all rules.
import re
from pathlib import Path

from snakemake.utils import validate


from freqmaps.data import check_source, dataset_info, is_synthetic
from freqmaps.frequency_bias import MODEL_PREFIX, STUDY_INPUTS, variant_models

validate(config, schema="../schemas/config.schema.yaml")

# Each experiment (config file) has its own results, logs and benchmarks: the `experiment` key, else the stem
# of the last --configfile, else `default` (config.yaml). The results root is defined here only.
_configfiles = getattr(workflow.config_settings, "configfiles", None) or []
EXPERIMENT = config.get("experiment") or (Path(_configfiles[-1]).stem if _configfiles else "default")
if EXPERIMENT == "config":
    EXPERIMENT = "default"
if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", EXPERIMENT):
    raise ValueError(f"experiment: {EXPERIMENT!r} must be letters, digits, '_', '.' or '-' (it names results/<experiment>)")
RESULTS = f"results/{EXPERIMENT}"
RUN = f"{RESULTS}/{{dataset}}/{{model}}/seed{{seed}}"  # one model and seed of the experiment
LOGS_ROOT = f"logs/{EXPERIMENT}"
LOGS = f"{LOGS_ROOT}/{{dataset}}/{{model}}/seed{{seed}}"
config["experiment"] = EXPERIMENT  # the report's landing page names it
BENCHMARKS = f"benchmarks/{EXPERIMENT}/{{dataset}}/{{model}}/seed{{seed}}"
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
MODELS = {**config["models"], **variant_models(config)}  # config["models"] stays what the config names
BIAS = f"{RUN}/frequency_bias"  # the study's files per variant model and seed

wildcard_constraints:
    dataset="|".join(config["datasets"]),
    model="|".join(MODELS),
    attack="|".join(config["attacks"]),
    seed=r"\d+",
    scatteritem=r"\d+-of-\d+",


scattergather:
    maps=config["maps"].get("shards", 1),
    attacks=config.get("attack_shards", 1),
