rule map_figures:
    """Class-mean maps, example images with their maps, and per-image cosine against its null."""
    input:
        library("figures"),
        essential="results/{dataset}/{model}/seed{seed}/maps/essential.safetensors",
        adversarial="results/{dataset}/{model}/seed{seed}/maps/adversarial/{attack}.safetensors",
        attack="results/{dataset}/{model}/seed{seed}/attacks/{attack}.safetensors",
        per_image="results/{dataset}/{model}/seed{seed}/stats/{attack}_per_image.csv",
    output:
        class_means=report(
            "results/{dataset}/{model}/seed{seed}/figures/{attack}/class_mean_maps.png",
            caption="../report/class_mean_maps.rst",
            category="Frequency maps",
            subcategory="{dataset} / {model} / seed {seed}",
            labels={"attack": "{attack}", "figure": "class-mean maps"},
        ),
        examples=report(
            "results/{dataset}/{model}/seed{seed}/figures/{attack}/examples.png",
            caption="../report/examples.rst",
            category="Frequency maps",
            subcategory="{dataset} / {model} / seed {seed}",
            labels={"attack": "{attack}", "figure": "examples"},
        ),
        cosine=report(
            "results/{dataset}/{model}/seed{seed}/figures/{attack}/cosine_null.png",
            caption="../report/cosine_null.rst",
            category="Correlation",
            subcategory="{dataset} / {model} / seed {seed}",
            labels={"attack": "{attack}", "figure": "cosine vs null"},
        ),
        bands=report(
            "results/{dataset}/{model}/seed{seed}/figures/{attack}/band_profiles.png",
            caption="../report/band_profiles.rst",
            category="Frequency maps",
            subcategory="{dataset} / {model} / seed {seed}",
            labels={"attack": "{attack}", "figure": "band energies"},
        ),
    params:
        class_names=class_names,
        seed=lambda w: int(w.seed),
        n_bands=config["stats"].get("n_bands", 64),
    log:
        "logs/{dataset}/{model}/seed{seed}/figures_{attack}.log",
    conda:
        "../../envs/freqmaps.yaml"
    script:
        "../../scripts/map_figures.py"


rule information_imbalance_plane:
    """Both information-imbalance directions of every attack, with the nulls."""
    input:
        library("figures"),
        tables=expand("results/{dataset}/{model}/seed{seed}/stats/{attack}.csv", attack=config["attacks"], allow_missing=True),
    output:
        report(
            "results/{dataset}/{model}/seed{seed}/figures/information_imbalance_plane.png",
            caption="../report/information_imbalance_plane.rst",
            category="Correlation",
            subcategory="{dataset} / {model} / seed {seed}",
            labels={"attack": "all", "figure": "information-imbalance plane"},
        ),
    params:
        attacks=list(config["attacks"]),
    log:
        "logs/{dataset}/{model}/seed{seed}/figures_information_imbalance.log",
    conda:
        "../../envs/freqmaps.yaml"
    script:
        "../../scripts/information_imbalance_plane.py"


rule null_histograms:
    """Headline statistics against the histograms of their null draws (IdCor permutation test included)."""
    input:
        library("figures"),
        table="results/{dataset}/{model}/seed{seed}/stats/{attack}.csv",
        null_draws="results/{dataset}/{model}/seed{seed}/stats/{attack}_null_draws.csv",
    output:
        report(
            "results/{dataset}/{model}/seed{seed}/figures/{attack}/null_histograms.png",
            caption="../report/null_histograms.rst",
            category="Correlation",
            subcategory="{dataset} / {model} / seed {seed}",
            labels={"attack": "{attack}", "figure": "nulls"},
        ),
    log:
        "logs/{dataset}/{model}/seed{seed}/figures_nulls_{attack}.log",
    conda:
        "../../envs/freqmaps.yaml"
    script:
        "../../scripts/null_histograms.py"
