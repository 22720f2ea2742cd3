# Known-answer validation on datasets with planted bands (synthetic ones, and tensors or image folders with a
# `bands` file): do the essential maps find the planted bands, and where do the adversarial maps put their mass?
# Target: `snakemake known_answer`.
import re


rule known_answer_model:
    """Planted bands against learned essential and adversarial maps of one model."""
    input:
        code_of("known_answer.py"),
        unpack(planted_bands_input),
        weights=WEIGHTS,
        essential=ESSENTIAL_MAPS,
        adversarial=expand(
            ADVERSARIAL_MAPS,
            attack=config["attacks"],
            allow_missing=True,
        ),
    output:
        sidecar=KNOWN_ANSWER,
        classes=f"{RUN}/known_answer/classes.csv",
        figure=report(
            f"{RUN}/known_answer/planted_and_learned.png",
            caption="../report/known_answer.rst",
            category="Known answer",
            subcategory="{dataset} / {model} / seed {seed}",
            labels={"figure": "planted vs learned"},
        ),
    params:
        dataset=dataset_settings,
        attacks=list(config["attacks"]),
        device=setting(config, "device"),
        blank_confidence=setting(config, "known_answer", "blank_confidence"),
    wildcard_constraints:
        dataset=PLANTED_BAND_DATASET,
    log:
        f"{LOGS}/known_answer.log",
    threads: 1
    conda:
        "../../envs/freqmaps.yaml"
    script:
        "../../scripts/known_answer.py"
