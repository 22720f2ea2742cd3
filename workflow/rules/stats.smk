rule correlate:
    """Every statistic between essential and adversarial maps, each against its re-pairing nulls."""
    input:
        code_of("correlate.py"),
        essential=ESSENTIAL_MAPS,
        adversarial=ADVERSARIAL_MAPS,
    output:
        table=MAP_STATISTICS,
        sidecar=f"{RUN}/stats/{{attack}}.json",
        per_image=PER_IMAGE_STATISTICS,
        null_draws=NULL_DRAWS,
    params:
        stats=statistics_settings(),
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


use rule correlate as correlate_lam with:
    input:
        code_of("correlate.py"),
        essential=LAM_ESSENTIAL_MAPS,
        adversarial=LAM_ADVERSARIAL_MAPS,
    output:
        table=LAM_MAP_STATISTICS,
        sidecar=f"{LAM_RUN}/stats/{{attack}}.json",
        per_image=f"{LAM_RUN}/stats/{{attack}}_per_image.csv",
        null_draws=LAM_NULL_DRAWS,
    log:
        f"{LAM_LOGS}/stats_{{attack}}.log",
    benchmark:
        f"{LAM_BENCHMARKS}/stats_{{attack}}.tsv"


rule alignment_map:
    """Where in the spectrum E and A co-vary across images: rho per frequency, permutation p-values, BH."""
    input:
        code_of("alignment_map.py"),
        essential=ESSENTIAL_MAPS,
        adversarial=ADVERSARIAL_MAPS,
    output:
        table=ALIGNMENT_TABLE,
        sidecar=f"{RUN}/alignment/{{attack}}.json",
        figure=report(
            ALIGNMENT_FIGURE,
            caption="../report/alignment_map.rst",
            category="Correlation",
            subcategory="{dataset} / {model} / seed {seed}",
            labels={"attack": "{attack}", "figure": "alignment map"},
        ),
    params:
        alignment=canonical(setting(config, "alignment")),
        dc=setting(config, "stats", "dc"),
    log:
        f"{LOGS}/alignment_{{attack}}.log",
    conda:
        "../../envs/freqmaps.yaml"
    script:
        "../../scripts/alignment_map.py"


rule contrast:
    """One contrast between two (model, attack) cells: each statistic's paired difference, interval and p-value."""
    input:
        code_of("contrast.py"),
        unpack(contrast_maps),
    output:
        table=CONTRAST_TABLE,
        sidecar=f"{RESULTS}/contrasts/{{dataset}}/seed{{seed}}/{{contrast}}.json",
    params:
        stats=statistics_settings(),
        contrast=contrast_settings,
        device=setting(config, "device"),
    log:
        f"{LOGS_ROOT}/contrasts/{{dataset}}/seed{{seed}}/{{contrast}}.log",
    benchmark:
        f"benchmarks/{EXPERIMENT}/contrasts/{{dataset}}/seed{{seed}}/{{contrast}}.tsv"
    threads: 2
    resources:
        gpu=1,
        runtime=60,
        mem_mb=8000,
    conda:
        "../../envs/freqmaps.yaml"
    script:
        "../../scripts/contrast.py"


rule summary:
    """The experiment's answer: every statistic, every null draw, and the verdict (BH-adjusted over the run)."""
    input:
        code_of("summarise.py"),
        tables=per_statistics_run(MAP_STATISTICS, LAM_MAP_STATISTICS),
        null_draws=per_statistics_run(NULL_DRAWS, LAM_NULL_DRAWS),
        contrasts=contrast_tables(),
    output:
        table=f"{RESULTS}/summary.csv",
        contrasts=CONTRASTS_TABLE,
        contrasts_sidecar=f"{RESULTS}/contrasts.json",
        null_draws=f"{RESULTS}/null_draws.csv",
        verdict=VERDICT,
        verdict_md=f"{RESULTS}/verdict.md",
        verdict_html=report(
            f"{RESULTS}/verdict.html",
            caption="../report/verdict.rst",
            category="1 Verdict",
            labels={"table": "verdict and every statistic"},
        ),
        sidecar=f"{RESULTS}/summary.json",
    params:
        runs=statistics_runs(),
        contrasts=contrast_runs(),
        min_pairs=setting(config, "stats", "min_pairs"),
        p_value=setting(config, "stats", "p_value"),
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
        code_of("run_facts.py"),
        models=per_statistics_run(TRAINING_METRICS, TRAINING_METRICS),
        attacks=per_statistics_run(ATTACK_METRICS, ATTACK_METRICS),
        essential=per_statistics_run(ESSENTIAL_MAPS, LAM_ESSENTIAL_MAPS),
        adversarial=per_statistics_run(ADVERSARIAL_MAPS, LAM_ADVERSARIAL_MAPS),
    output:
        table=RUN_FACTS,
        html=report(
            f"{RESULTS}/run.html",
            caption="../report/run.rst",
            category="2 What ran",
            labels={"table": "models, attacks and maps"},
        ),
    params:
        runs=statistics_runs(),
    log:
        f"{LOGS_ROOT}/run_facts.log",
    localrule: True
    conda:
        "../../envs/freqmaps.yaml"
    script:
        "../../scripts/run_facts.py"
