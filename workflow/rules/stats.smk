rule correlate:
    """Every statistic between essential and adversarial maps, each against its re-pairing nulls."""
    input:
        library("stats", "stages"),
        essential=RESULTS + "/maps/essential.safetensors",
        adversarial=RESULTS + "/maps/adversarial/{attack}.safetensors",
    output:
        table=RESULTS + "/stats/{attack}.csv",
        sidecar=RESULTS + "/stats/{attack}.json",
        per_image=RESULTS + "/stats/{attack}_per_image.csv",
    params:
        stats=canonical(config["stats"]),
        device=config.get("device", "auto"),
    log:
        LOGS + "/stats_{attack}.log",
    benchmark:
        "benchmarks/{dataset}/{model}/seed{seed}/stats_{attack}.tsv"
    threads: 2
    resources:
        gpu=1,
        runtime=60,
        mem_mb=8000,
    script:
        "../../scripts/correlate.py"


rule summary:
    """One table across the whole config: every statistic, with attack success and map counts."""
    input:
        library("stages"),
        tables=expand_attacks(RESULTS + "/stats/{attack}.json"),
        attacks=expand_attacks(RESULTS + "/attacks/{attack}.json"),
    output:
        report(
            "results/summary.csv",
            caption="../report/summary.rst",
            category="Summary",
        ),
    log:
        "logs/summary.log",
    localrule: True
    script:
        "../../scripts/summarise.py"
