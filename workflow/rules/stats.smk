rule correlate:
    """Every statistic between essential and adversarial maps, each against its re-pairing nulls."""
    input:
        library("stats", "stages"),
        essential="results/{dataset}/{model}/seed{seed}/maps/essential.safetensors",
        adversarial="results/{dataset}/{model}/seed{seed}/maps/adversarial/{attack}.safetensors",
    output:
        table="results/{dataset}/{model}/seed{seed}/stats/{attack}.csv",
        sidecar="results/{dataset}/{model}/seed{seed}/stats/{attack}.json",
        per_image="results/{dataset}/{model}/seed{seed}/stats/{attack}_per_image.csv",
        null_draws="results/{dataset}/{model}/seed{seed}/stats/{attack}_null_draws.csv",
    params:
        stats=canonical(config["stats"]),
        device=config.get("device", "auto"),
    log:
        "logs/{dataset}/{model}/seed{seed}/stats_{attack}.log",
    benchmark:
        "benchmarks/{dataset}/{model}/seed{seed}/stats_{attack}.tsv"
    threads: 2
    resources:
        gpu=1,
        runtime=60,
        mem_mb=8000,
    conda:
        "../../envs/freqmaps.yaml"
    script:
        "../../scripts/correlate.py"


rule summary:
    """One table across the whole config: every statistic, with attack success and map counts."""
    input:
        library("stages"),
        tables=expand_attacks("results/{dataset}/{model}/seed{seed}/stats/{attack}.json"),
        attacks=expand_attacks("results/{dataset}/{model}/seed{seed}/attacks/{attack}.json"),
    output:
        table=report(
            "results/summary.csv",
            caption="../report/summary.rst",
            category="Summary",
        ),
        sidecar="results/summary.json",
    log:
        "logs/summary.log",
    localrule: True
    conda:
        "../../envs/freqmaps.yaml"
    script:
        "../../scripts/summarise.py"
