rule correlate:
    """Every statistic between essential and adversarial maps, each against its re-pairing nulls."""
    input:
        library("stats", "stages"),
        essential=f"{RUN}/maps/essential.safetensors",
        adversarial=f"{RUN}/maps/adversarial/{{attack}}.safetensors",
    output:
        table=f"{RUN}/stats/{{attack}}.csv",
        sidecar=f"{RUN}/stats/{{attack}}.json",
        per_image=f"{RUN}/stats/{{attack}}_per_image.csv",
        null_draws=f"{RUN}/stats/{{attack}}_null_draws.csv",
    params:
        stats=canonical(config["stats"]),
        device=setting(config, "device"),
    log:
        f"{LOGS}/stats_{{attack}}.log",
    benchmark:
        f"{BENCHMARKS}/stats_{{attack}}.tsv"
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
    """The experiment's answer: every statistic, every null draw, and the verdict (BH-adjusted over the run)."""
    input:
        library("stages", "verdict"),
        tables=per_run(f"{RUN}/stats/{{attack}}.csv"),
        null_draws=per_run(f"{RUN}/stats/{{attack}}_null_draws.csv"),
    output:
        table=f"{RESULTS}/summary.csv",
        null_draws=f"{RESULTS}/null_draws.csv",
        verdict=f"{RESULTS}/verdict.csv",
        verdict_html=report(
            f"{RESULTS}/verdict.html",
            caption="../report/verdict.rst",
            category="1 Verdict",
            labels={"table": "verdict and every statistic"},
        ),
        sidecar=f"{RESULTS}/summary.json",
    params:
        runs=experiment_runs(),
    log:
        f"{LOGS_ROOT}/summary.log",
    localrule: True
    conda:
        "../../envs/freqmaps.yaml"
    script:
        "../../scripts/summarise.py"


rule run_facts:
    """What ran: accuracy, attack success, maps kept and dropped per reason, versions and git commit."""
    input:
        library("stages", "verdict"),
        models=per_run(f"{RUN}/model.json"),
        attacks=per_run(f"{RUN}/attacks/{{attack}}.json"),
        essential=per_run(f"{RUN}/maps/essential.safetensors"),
        adversarial=per_run(f"{RUN}/maps/adversarial/{{attack}}.safetensors"),
    output:
        table=f"{RESULTS}/run.csv",
        html=report(
            f"{RESULTS}/run.html",
            caption="../report/run.rst",
            category="2 What ran",
            labels={"table": "models, attacks and maps"},
        ),
    params:
        runs=experiment_runs(),
    log:
        f"{LOGS_ROOT}/run_facts.log",
    localrule: True
    conda:
        "../../envs/freqmaps.yaml"
    script:
        "../../scripts/run_facts.py"
