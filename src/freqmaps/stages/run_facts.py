"""What ran: accuracies, attack success, maps kept and dropped per reason, versions and git commits (workflow
rule `run_facts`)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from freqmaps.fourier import dc_share
from freqmaps.io import atomic_path, load_tensors, read_json, write_csv
from freqmaps.outcomes import KEPT, OUTCOMES, stopped_at_max_steps
from freqmaps.verdict import html_page


def run_facts(
    *,
    runs: list[dict[str, Any]],
    model_sidecars: list[str | Path],
    attack_sidecars: list[str | Path],
    essential_paths: list[str | Path],
    adversarial_paths: list[str | Path],
    table_path: str | Path,
    html_path: str | Path,
) -> None:
    """What ran: per model and attack, clean accuracy, attack success and robust accuracy, how many maps were
    kept or dropped and why, and the versions and git commits the results came from."""
    rows, provenances = [], {}
    for run, model_json, attack_json, e_path, a_path in zip(
        runs, model_sidecars, attack_sidecars, essential_paths, adversarial_paths, strict=True
    ):
        model_meta, attack_meta = read_json(model_json), read_json(attack_json)
        row = {key: run[key] for key in ("dataset", "model", "seed", "attack", "lam") if key in run}
        row.update(
            {
                "arch": model_meta["arch"],
                "test_accuracy": model_meta["test_accuracy"],
                "n_images": attack_meta["n_images"],
                "clean_accuracy": attack_meta["clean_accuracy"],
                "attack_success_rate": attack_meta["success_rate"],
                "attack_on_boundary": attack_meta["n_on_boundary"],
                "robust_accuracy": attack_meta["robust_accuracy"],
                "augmentation_override": model_meta.get("augmentation_override", ""),
                # what is measured depends on these, defaults or not (the train and maps logs say which)
                "augmentation": model_meta.get("settings", {}).get("base_augmentation", ""),
                "selection": attack_meta.get("selection", ""),
                "eps": attack_meta.get("params", {}).get("eps", ""),
            }
        )
        for kind, path in (("essential", e_path), ("adversarial", a_path)):
            row.update(maps_outcomes(kind, path))
        rows.append(row)
        for meta in (model_meta, attack_meta):
            provenances[(meta.get("git_commit"), str(sorted(meta.get("versions", {}).items())))] = meta
    versions = [
        {"git_commit": commit or "unknown", **meta.get("versions", {})} for (commit, _), meta in provenances.items()
    ]
    write_csv(table_path, rows)
    with atomic_path(html_path) as tmp:
        tmp.write_text(
            html_page(
                "What ran",
                RUN_FACTS_DOC,
                [("Models, attacks and maps", rows), ("Versions and git commit of the results", versions)],
            )
        )


RUN_FACTS_DOC = (
    "One row per dataset, model (its architecture), seed, attack and λ (lam: the maps' sparsity weight; a "
    "maps.lam list gives a row per value). test_accuracy: the model on the whole test "
    "set; n_images: the first test images attacked and mapped; clean_accuracy: on those images; "
    "attack_success_rate: share of correctly classified images the attack flipped beyond the boundary band; "
    "attack_on_boundary: correctly classified images left within the boundary band (not counted as flipped); "
    "robust_accuracy: accuracy on the attacked images. Maps per kind (essential, adversarial): kept, and dropped "
    "because the clean image was misclassified, the attack failed, the clean or attacked image sat on the "
    "boundary, the masked image lost its target class, or the loss was NaN; stopped_at_max_steps counts kept maps "
    "whose optimisation hit max_steps before converging; dc_share is the mean share of a kept map's L1 mass at "
    "the zero frequency (DC, docs/METHOD.md §4.1); mean_l1 and share_at_least_half: a kept map's mean entry "
    "and its share of entries at least 0.5 (how sparse the maps are at this λ); augmentation_override warns "
    "when the model's base_augmentation replaced the dataset's own training augmentation. Settings that change "
    "what is measured, whether given or defaults (the train and maps logs say which): augmentation (the training "
    "augmentation used), selection (how the analysed test images were chosen: first or stratified), eps (the "
    "attack's budget, when it has one), maps_lam and maps_max_steps."
)


def maps_outcomes(kind: str, path: str | Path) -> dict[str, int]:
    """How many of the configured images a maps file kept, dropped per reason, and stopped at max_steps."""
    tensors, meta = load_tensors(path)
    counts = {f"{kind}_{name}": int((tensors["selection"] == code).sum()) for code, name in enumerate(OUTCOMES)}
    kept = tensors["outcome"] == KEPT
    max_steps = meta["settings"]["max_steps"]
    counts[f"{kind}_stopped_at_max_steps"] = int((kept & stopped_at_max_steps(tensors["steps"], max_steps)).sum())
    counts[f"{kind}_dc_share"] = float(dc_share(tensors["maps"][kept]).mean()) if kept.any() else math.nan
    if kind == "essential":  # the map settings, the same for both kinds
        counts |= {f"maps_{key}": meta["settings"].get(key, "") for key in ("lam", "max_steps")}
    maps = tensors["maps"][kept].double().flatten(1)
    counts[f"{kind}_mean_l1"] = float(maps.abs().mean()) if kept.any() else math.nan  # per entry, in [0, 1]
    counts[f"{kind}_share_at_least_half"] = float((maps >= 0.5).double().mean()) if kept.any() else math.nan
    return counts
