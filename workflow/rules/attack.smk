rule attack:
    """Attack the first n_test_images test images; store clean/adversarial images, labels and norms."""
    input:
        library("attacks", "stages"),
        weights=RESULTS + "/model.safetensors",
    output:
        adversarial=RESULTS + "/attacks/{attack}.safetensors",
        metrics=RESULTS + "/attacks/{attack}.json",
    params:
        dataset=dataset_settings,
        attack=attack_settings,
        device=config.get("device", "auto"),
    log:
        LOGS + "/attack_{attack}.log",
    benchmark:
        "benchmarks/{dataset}/{model}/seed{seed}/attack_{attack}.tsv"
    threads: 2
    resources:
        gpu=1,
        runtime=60,
        mem_mb=4000,
    script:
        "../../scripts/attack.py"
