# freqmaps: which Fourier frequencies a classifier needs, which an attack exploits, and how they relate.
# This file only wires: rules per stage live in workflow/rules/, all logic in src/freqmaps.
from pathlib import Path

from snakemake.utils import min_version

from freqmaps.config import ConfigError, read_config

min_version("9.0")

# Snakemake's own YAML reading names neither file nor line and keeps the last of two equal keys: read the
# config files in use again, strictly (a --configfile that is not YAML at all fails inside Snakemake before
# this line; `python -m freqmaps.config FILE` then names the line).
for _path in getattr(workflow.config_settings, "configfiles", None) or ["config.yaml"]:
    if Path(_path).exists():
        try:
            read_config(_path)
        except ConfigError as _error:  # the message alone, without a traceback
            raise SystemExit(str(_error)) from None


# config.yaml is the default experiment; a --configfile replaces it rather than being merged into it (a merge
# would add the default dataset and models to every other experiment).
if not getattr(workflow.config_settings, "configfiles", None):

    configfile: "config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/functions.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/attack.smk"
include: "workflow/rules/maps.smk"
include: "workflow/rules/stats.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/frequency_bias.smk"
include: "workflow/rules/known_answer.smk"
include: "workflow/rules/baseline_functions.smk"
include: "workflow/rules/baselines.smk"


rule all:
    input:
        VERDICT,
        RUN_FACTS,
        result_targets(),
        figure_targets(),
        expand_models(KNOWN_ANSWER, dataset=planted_band_datasets()),
        baseline_targets(),


rule train_all:
    input:
        expand_models(WEIGHTS),


rule attacks_all:
    input:
        expand_attacks(ADVERSARIAL_EXAMPLES),


rule maps_all:
    input:
        expand_models(ESSENTIAL_MAPS),
        expand_attacks(ADVERSARIAL_MAPS),


rule stats_all:
    input:
        VERDICT,


rule figures:
    input:
        figure_targets(),


rule frequency_bias:
    """The frequency-bias study ([P1]): needs a frequency_bias section in the config."""
    input:
        expand(BIAS_VARIANTS, dataset=[STUDY["dataset"]] if STUDY else []),


rule known_answer:
    """Known-answer validation of every model on every dataset with planted bands (synthetic, or a bands file)."""
    input:
        known_answer_targets,


rule baselines:
    """Cheap baselines beside the learned maps: needs a baselines section with measures in the config."""
    input:
        baseline_targets(),
