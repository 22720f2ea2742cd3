# Config validation, wildcard constraints and target helpers shared by all rules.
from snakemake.utils import validate


from freqmaps.attacks import check_attack
from freqmaps.data import check_source, dataset_info, is_synthetic
from freqmaps.frequency_bias import MODEL_PREFIX, STUDY_INPUTS, variant_models

validate(config, schema="../schemas/config.schema.yaml")
for _name, _dataset in config["datasets"].items():
    check_source(_name, _dataset)  # missing or damaged files, a bad class list or size fail here, before any job
for _name, _attack in config["attacks"].items():
    check_attack(_name, _attack)  # an unknown method or parameter fails here, naming the key and the valid ones

# The main experiment runs on the models the config names; the frequency-bias study adds one model per
# variant (bias_<variant>), built from its shared recipe, reachable through the frequency_bias target.
MAIN_MODELS = list(config["models"])
STUDY = config.get("frequency_bias")
if STUDY and STUDY["dataset"] not in config["datasets"]:
    raise ValueError(f"frequency_bias.dataset: {STUDY['dataset']!r} is not under datasets: {list(config['datasets'])}")
if STUDY and STUDY["attack"] not in config["attacks"]:
    raise ValueError(f"frequency_bias.attack: {STUDY['attack']!r} is not under attacks: {list(config['attacks'])}")
config["models"].update(variant_models(config))
BIAS = "results/{dataset}/{model}/seed{seed}/frequency_bias"  # the study's files per variant model and seed

wildcard_constraints:
    dataset="|".join(config["datasets"]),
    model="|".join(config["models"]),
    attack="|".join(config["attacks"]),
    seed=r"\d+",
    scatteritem=r"\d+-of-\d+",


scattergather:
    maps=config["maps"].get("shards", 1),
    attacks=config.get("attack_shards", 1),
