rule train:
    """Train one classifier from scratch and save weights (safetensors) with a metrics sidecar."""
    input:
        library("data", "models", "training", "stages"),
    output:
        weights=RESULTS + "/model.safetensors",
        metrics=RESULTS + "/model.json",
    params:
        dataset=dataset_settings,
        model=model_settings,
        device=config.get("device", "auto"),
    log:
        LOGS + "/train.log",
    benchmark:
        "benchmarks/{dataset}/{model}/seed{seed}/train.tsv"
    threads: 2
    resources:
        gpu=1,
        runtime=120,
        mem_mb=8000,
    script:
        "../../scripts/train.py"
