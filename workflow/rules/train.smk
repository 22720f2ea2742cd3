rule train:
    """Train one classifier from scratch and save weights (safetensors) with a metrics sidecar."""
    input:
        library("data", "models", "training", "stages"),
    output:
        weights=f"{RUN}/model.safetensors",
        metrics=f"{RUN}/model.json",
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
