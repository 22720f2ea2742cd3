# Settings and functions of the baselines stage (workflow/rules/baselines.smk).
import re

from freqmaps.baselines.measures import of_scope

# Off without a baselines section; a section that leaves out `measures` gets the schema's default list.
BASELINE_MEASURES = list(setting(config, "baselines", "measures")) if "baselines" in config else []
BASE = f"{RUN}/baselines"  # one model's baseline files
# The configured datasets that freqmaps.data.is_synthetic calls synthetic, as a wildcard constraint; (?!) matches
# nothing, so with no synthetic dataset there is no known-answer job.
SYNTHETIC_DATASET = "|".join(map(re.escape, synthetic_datasets())) or "(?!)"


def baseline_targets():
    """The baseline stage's files for the whole config (none when it is off)."""
    if not BASELINE_MEASURES:
        return []
    targets = [f"{RESULTS}/baselines.csv"]
    targets += expand_attacks(f"{BASE}/figures/{{attack}}_mean_maps.png")
    if "fourier_heat_map" in BASELINE_MEASURES:
        targets += expand_models(f"{BASE}/fourier_heat_map.png")
    targets += expand_models(f"{BASE}/known_answer.csv", dataset=synthetic_datasets())
    return targets


def heat_map_input(wildcards):
    return {"heat_map": f"{BASE}/fourier_heat_map.safetensors"} if "fourier_heat_map" in BASELINE_MEASURES else {}


def baseline_library():
    return library("baselines", "maps", "fourier")
