# Settings and functions of the baselines stage (workflow/rules/baselines.smk).
# Off without a baselines section; a section that leaves out `measures` gets the schema's default list.
BASELINE_MEASURES = list(setting(config, "baselines", "measures")) if "baselines" in config else []


def baseline_targets():
    """The baseline stage's files for the whole config (none when it is off)."""
    if not BASELINE_MEASURES:
        return []
    targets = [BASELINES_TABLE]
    targets += expand_attacks(BASELINE_MEAN_MAPS_FIGURE)
    if "fourier_heat_map" in BASELINE_MEASURES:
        targets += expand_models(HEAT_MAP_FIGURE)
    targets += expand_models(BASELINE_KNOWN_ANSWER, dataset=planted_band_datasets())
    return targets


def heat_map_input(wildcards):
    return {"heat_map": HEAT_MAP} if "fourier_heat_map" in BASELINE_MEASURES else {}
