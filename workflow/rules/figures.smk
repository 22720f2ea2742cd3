rule map_figures:
    """Class-mean maps, example images with their maps, and per-image cosine against its null."""
    input:
        library("figures"),
        essential=RESULTS + "/maps/essential.safetensors",
        adversarial=RESULTS + "/maps/adversarial/{attack}.safetensors",
        attack=RESULTS + "/attacks/{attack}.safetensors",
        per_image=RESULTS + "/stats/{attack}_per_image.csv",
    output:
        class_means=report(
            RESULTS + "/figures/{attack}/class_mean_maps.png",
            caption="../report/class_mean_maps.rst",
            category="Frequency maps",
            subcategory="{dataset} / {model} / seed {seed}",
            labels={"attack": "{attack}", "figure": "class-mean maps"},
        ),
        examples=report(
            RESULTS + "/figures/{attack}/examples.png",
            caption="../report/examples.rst",
            category="Frequency maps",
            subcategory="{dataset} / {model} / seed {seed}",
            labels={"attack": "{attack}", "figure": "examples"},
        ),
        cosine=report(
            RESULTS + "/figures/{attack}/cosine_null.png",
            caption="../report/cosine_null.rst",
            category="Correlation",
            subcategory="{dataset} / {model} / seed {seed}",
            labels={"attack": "{attack}", "figure": "cosine vs null"},
        ),
    params:
        dataset=lambda w: w.dataset,
        seed=lambda w: int(w.seed),
    log:
        LOGS + "/figures_{attack}.log",
    script:
        "../../scripts/map_figures.py"


rule information_imbalance_plane:
    """Both information-imbalance directions of every attack, with the nulls."""
    input:
        library("figures"),
        tables=expand(RESULTS + "/stats/{attack}.csv", attack=config["attacks"], allow_missing=True),
    output:
        report(
            RESULTS + "/figures/information_imbalance_plane.png",
            caption="../report/information_imbalance_plane.rst",
            category="Correlation",
            subcategory="{dataset} / {model} / seed {seed}",
            labels={"attack": "all", "figure": "information-imbalance plane"},
        ),
    params:
        attacks=list(config["attacks"]),
    log:
        LOGS + "/figures_information_imbalance.log",
    script:
        "../../scripts/information_imbalance_plane.py"
