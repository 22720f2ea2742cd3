# Cheap baselines beside the learned maps (docs/METHOD.md §11): the Fourier heat map per model, per-image gradient,
# perturbation and one-step saliency spectra, their agreement with the maps, and planted-band recovery on
# synthetic datasets. Target: `snakemake baselines`; part of `all` when the config has a baselines section
# with measures (an empty list or no section switches the stage off).
rule baseline_heat_map:
    """Error rate per added Fourier basis image (Yin et al. 2019), batched over frequencies and images."""
    input:
        code_of("baseline_heat_map.py"),
        weights=WEIGHTS,
    output:
        heat_map=HEAT_MAP,
        sidecar=f"{BASE}/fourier_heat_map.json",
        figure=report(
            HEAT_MAP_FIGURE,
            caption="../report/baseline_heat_map.rst",
            category="Baselines",
            subcategory="{dataset} / {model} / seed {seed}",
            labels={"figure": "Fourier heat map"},
        ),
    params:
        dataset=dataset_settings,
        heat_map=canonical(setting(config, "baselines", "heat_map")),
        device=setting(config, "device"),
    log:
        f"{LOGS}/baseline_heat_map.log",
    benchmark:
        f"{BENCHMARKS}/baseline_heat_map.tsv"
    threads: 2
    resources:
        gpu=1,
        runtime=60,
        mem_mb=4000,
    conda:
        "../../envs/freqmaps.yaml"
    script:
        "../../scripts/baseline_heat_map.py"


rule baseline_clean_spectra:
    """Per-image baselines of the clean test images (gradient spectrum, one-step saliency), all images."""
    input:
        code_of("baseline_spectra.py"),
        weights=WEIGHTS,
    output:
        baselines=f"{BASE}/clean.safetensors",
        sidecar=f"{BASE}/clean.json",
    params:
        scope="clean",
        measures=FACTS.baselines["clean"],
        dataset=dataset_settings,
        maps=map_settings(),
        device=setting(config, "device"),
    log:
        f"{LOGS}/baseline_clean.log",
    benchmark:
        f"{BENCHMARKS}/baseline_clean.tsv"
    threads: 2
    resources:
        gpu=1,
        runtime=30,
        mem_mb=4000,
    conda:
        "../../envs/freqmaps.yaml"
    script:
        "../../scripts/baseline_spectra.py"


rule baseline_attack_spectra:
    """Per-image baselines of one attack's images (perturbation and adversarial gradient spectra, saliency)."""
    input:
        code_of("baseline_spectra.py"),
        weights=WEIGHTS,
        attack=ADVERSARIAL_EXAMPLES,
    output:
        baselines=ATTACK_BASELINES,
        sidecar=f"{BASE}/attacks/{{attack}}.json",
    params:
        scope="attack",
        measures=FACTS.baselines["attack"],
        dataset=dataset_settings,
        maps=map_settings(),
        device=setting(config, "device"),
    log:
        f"{LOGS}/baseline_attack_{{attack}}.log",
    benchmark:
        f"{BENCHMARKS}/baseline_attack_{{attack}}.tsv"
    threads: 2
    resources:
        gpu=1,
        runtime=30,
        mem_mb=4000,
    conda:
        "../../envs/freqmaps.yaml"
    script:
        "../../scripts/baseline_spectra.py"


rule baseline_agreement:
    """Every baseline against the essential and adversarial maps: per image, class means, matched sparsity."""
    input:
        code_of("baseline_agreement.py"),
        unpack(heat_map_input),
        essential=ESSENTIAL_MAPS,
        adversarial=ADVERSARIAL_MAPS,
        clean=rules.baseline_clean_spectra.output.baselines,
        attack_baselines=rules.baseline_attack_spectra.output.baselines,
    output:
        table=f"{BASE}/agreement/{{attack}}.csv",
        sidecar=BASELINE_AGREEMENT,
        null_draws=f"{BASE}/agreement/{{attack}}_null_draws.csv",
    params:
        stats=statistics_settings(),
        baselines={key: setting(config, "baselines", key) for key in ("statistics", "nulls", "k", "levels")},
        device=setting(config, "device"),
    log:
        f"{LOGS}/baseline_agreement_{{attack}}.log",
    benchmark:
        f"{BENCHMARKS}/baseline_agreement_{{attack}}.tsv"
    threads: 2
    resources:
        gpu=1,
        runtime=60,
        mem_mb=8000,
    conda:
        "../../envs/freqmaps.yaml"
    script:
        "../../scripts/baseline_agreement.py"


rule baseline_mean_maps:
    """Class-mean essential and adversarial maps beside the class means of every baseline on the same images."""
    input:
        code_of("baseline_figures.py"),
        essential=ESSENTIAL_MAPS,
        adversarial=ADVERSARIAL_MAPS,
        clean=rules.baseline_clean_spectra.output.baselines,
        attack_baselines=rules.baseline_attack_spectra.output.baselines,
    output:
        report(
            BASELINE_MEAN_MAPS_FIGURE,
            caption="../report/baseline_mean_maps.rst",
            category="Baselines",
            subcategory="{dataset} / {model} / seed {seed}",
            labels={"attack": "{attack}", "figure": "mean maps and baselines"},
        ),
    params:
        class_names=class_names,
    log:
        f"{LOGS}/baseline_mean_maps_{{attack}}.log",
    conda:
        "../../envs/freqmaps.yaml"
    script:
        "../../scripts/baseline_figures.py"


rule baseline_known_answer:
    """Which measure recovers the planted bands of a dataset: learned maps against every baseline."""
    input:
        code_of("baseline_known_answer.py"),
        unpack(heat_map_input),
        unpack(planted_bands_input),
        weights=WEIGHTS,
        essential=ESSENTIAL_MAPS,
        adversarial=expand(
            ADVERSARIAL_MAPS,
            attack=config["attacks"],
            allow_missing=True,
        ),
        clean=rules.baseline_clean_spectra.output.baselines,
        attack_baselines=expand(ATTACK_BASELINES, attack=config["attacks"], allow_missing=True),
    output:
        table=report(
            BASELINE_KNOWN_ANSWER,
            caption="../report/baseline_known_answer.rst",
            category="Baselines",
            subcategory="{dataset} / {model} / seed {seed}",
            labels={"table": "planted-band recovery"},
        ),
        sidecar=f"{BASE}/known_answer.json",
    params:
        dataset=dataset_settings,
        attacks=list(config["attacks"]),
        device=setting(config, "device"),
        blank_confidence=setting(config, "known_answer", "blank_confidence"),
    wildcard_constraints:
        dataset=PLANTED_BAND_DATASET,
    log:
        f"{LOGS}/baseline_known_answer.log",
    threads: 1
    conda:
        "../../envs/freqmaps.yaml"
    script:
        "../../scripts/baseline_known_answer.py"


rule baseline_summary:
    """Where the learned maps add to each cheap measure, across the config."""
    input:
        code_of("baseline_summary.py"),
        tables=per_run(BASELINE_AGREEMENT),
    output:
        table=report(
            BASELINES_TABLE,
            caption="../report/baseline_summary.rst",
            category="Baselines",
            labels={"table": "agreement readings"},
        ),
    params:
        runs=experiment_runs(),
    log:
        f"{LOGS_ROOT}/baseline_summary.log",
    localrule: True
    conda:
        "../../envs/freqmaps.yaml"
    script:
        "../../scripts/baseline_summary.py"
