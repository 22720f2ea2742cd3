rule map_figures:
    """Class-mean maps, example images with their maps, and per-image cosine against its null."""
    input:
        code_of("map_figures.py"),
        essential=ESSENTIAL_MAPS,
        adversarial=ADVERSARIAL_MAPS,
        attack=ADVERSARIAL_EXAMPLES,
        per_image=PER_IMAGE_STATISTICS,
    output:
        class_means=report(
            CLASS_MEAN_MAPS_FIGURE,
            caption="../report/class_mean_maps.rst",
            category="Frequency maps",
            subcategory="{dataset} / {model} / seed {seed}",
            labels={"attack": "{attack}", "figure": "class-mean maps"},
        ),
        examples=report(
            EXAMPLES_FIGURE,
            caption="../report/examples.rst",
            category="Frequency maps",
            subcategory="{dataset} / {model} / seed {seed}",
            labels={"attack": "{attack}", "figure": "examples"},
        ),
        cosine=report(
            COSINE_NULL_FIGURE,
            caption="../report/cosine_null.rst",
            category="Correlation",
            subcategory="{dataset} / {model} / seed {seed}",
            labels={"attack": "{attack}", "figure": "cosine vs null"},
        ),
        bands=report(
            BAND_PROFILES_FIGURE,
            caption="../report/band_profiles.rst",
            category="Frequency maps",
            subcategory="{dataset} / {model} / seed {seed}",
            labels={"attack": "{attack}", "figure": "band energies"},
        ),
    params:
        class_names=class_names,
        seed=lambda w: int(w.seed),
        n_bands=setting(config, "stats", "n_bands"),
    log:
        f"{LOGS}/figures_{{attack}}.log",
    conda:
        "../../envs/freqmaps.yaml"
    script:
        "../../scripts/map_figures.py"


rule information_imbalance_plane:
    """Both information-imbalance directions of every attack, with the nulls."""
    input:
        code_of("information_imbalance_plane.py"),
        tables=expand(MAP_STATISTICS, attack=config["attacks"], allow_missing=True),
    output:
        report(
            INFORMATION_IMBALANCE_FIGURE,
            caption="../report/information_imbalance_plane.rst",
            category="Correlation",
            subcategory="{dataset} / {model} / seed {seed}",
            labels={"attack": "all", "figure": "information-imbalance plane"},
        ),
    params:
        attacks=list(config["attacks"]),
    log:
        f"{LOGS}/figures_information_imbalance.log",
    conda:
        "../../envs/freqmaps.yaml"
    script:
        "../../scripts/information_imbalance_plane.py"


rule null_histograms:
    """Headline statistics of every view against the histograms of their null draws."""
    input:
        code_of("null_histograms.py"),
        table=MAP_STATISTICS,
        null_draws=NULL_DRAWS,
    output:
        report(
            NULL_HISTOGRAMS_FIGURE,
            caption="../report/null_histograms.rst",
            category="Correlation",
            subcategory="{dataset} / {model} / seed {seed}",
            labels={"attack": "{attack}", "figure": "nulls"},
        ),
    log:
        f"{LOGS}/figures_nulls_{{attack}}.log",
    conda:
        "../../envs/freqmaps.yaml"
    script:
        "../../scripts/null_histograms.py"


rule contrast_forest:
    """Forest plot of every contrast's paired difference, interval and BH reading."""
    input:
        code_of("contrast_forest.py"),
        table=CONTRASTS_TABLE,
    output:
        report(
            CONTRAST_FOREST_FIGURE,
            caption="../report/contrast_forest.rst",
            category="1 Verdict",
            labels={"figure": "contrasts between cells"},
        ),
    log:
        f"{LOGS_ROOT}/figures_contrasts.log",
    conda:
        "../../envs/freqmaps.yaml"
    script:
        "../../scripts/contrast_forest.py"


rule lam_sensitivity:
    """Each statistic and the maps' sparsity against λ (maps.lam a list)."""
    input:
        code_of("lam_sensitivity.py"),
        summary=f"{RESULTS}/summary.csv",
        run_facts=RUN_FACTS,
    output:
        report(
            LAM_SENSITIVITY_FIGURE,
            caption="../report/lam_sensitivity.rst",
            category="1 Verdict",
            labels={"figure": "sensitivity to λ"},
        ),
    log:
        f"{LOGS_ROOT}/figures_lam_sensitivity.log",
    conda:
        "../../envs/freqmaps.yaml"
    script:
        "../../scripts/lam_sensitivity.py"
