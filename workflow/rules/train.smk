rule train:
    """Prepare one classifier as its train.mode says (train it, only its head, or nothing: analyse it as it is)
    and save its weights (safetensors) with a sidecar of metrics, source, weights hash and input resolution."""
    input:
        code_of("train.py"),
        source_weights=model_weights,
    output:
        weights=WEIGHTS,
        metrics=TRAINING_METRICS,
    params:
        dataset=dataset_settings,
        model=model_settings,
        device=setting(config, "device"),
    log:
        f"{LOGS}/train.log",
    benchmark:
        f"{BENCHMARKS}/train.tsv"
    threads: 2
    resources:
        gpu=1,
        runtime=120,
        mem_mb=8000,
    conda:
        "../../envs/freqmaps.yaml"
    script:
        "../../scripts/train.py"
