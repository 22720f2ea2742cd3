rule map_figures:
    """Class-mean maps, example images with their maps, and per-image cosine against its null."""
    input:
        library("figures"),
        essential=f"{RUN}/maps/essential.safetensors",
        adversarial=f"{RUN}/maps/adversarial/{{attack}}.safetensors",
        attack=f"{RUN}/attacks/{{attack}}.safetensors",
        per_image=f"{RUN}/stats/{{attack}}_per_image.csv",
    output:
        class_means=report(
            f"{RUN}/figures/{{attack}}/class_mean_maps.png",
            caption="../report/class_mean_maps.rst",
            category="Frequency maps",
            subcategory="{dataset} / {model} / seed {seed}",
            labels={"attack": "{attack}", "figure": "class-mean maps"},
        ),
        examples=report(
            f"{RUN}/figures/{{attack}}/examples.png",
            caption="../report/examples.rst",
            category="Frequency maps",
            subcategory="{dataset} / {model} / seed {seed}",
            labels={"attack": "{attack}", "figure": "examples"},
        ),
        cosine=report(
            f"{RUN}/figures/{{attack}}/cosine_null.png",
            caption="../report/cosine_null.rst",
            category="Correlation",
            subcategory="{dataset} / {model} / seed {seed}",
            labels={"attack": "{attack}", "figure": "cosine vs null"},
        ),
        bands=report(
            f"{RUN}/figures/{{attack}}/band_profiles.png",
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
        library("figures", "verdict"),
        tables=expand(f"{RUN}/stats/{{attack}}.csv", attack=config["attacks"], allow_missing=True),
    output:
        report(
            f"{RUN}/figures/information_imbalance_plane.png",
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
        library("figures", "verdict"),
        table=f"{RUN}/stats/{{attack}}.csv",
        null_draws=f"{RUN}/stats/{{attack}}_null_draws.csv",
    output:
        report(
            f"{RUN}/figures/{{attack}}/null_histograms.png",
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
