rule attack:
    """Attack the first n_test_images test images; store clean/adversarial images, labels and norms."""
    input:
        library("attacks", "stages"),
        weights="results/{dataset}/{model}/seed{seed}/model.safetensors",
    output:
        adversarial="results/{dataset}/{model}/seed{seed}/attacks/{attack}.safetensors",
        metrics="results/{dataset}/{model}/seed{seed}/attacks/{attack}.json",
    params:
        dataset=dataset_settings,
        attack=attack_settings,
        device=config.get("device", "auto"),
    log:
        "logs/{dataset}/{model}/seed{seed}/attack_{attack}.log",
    benchmark:
        "benchmarks/{dataset}/{model}/seed{seed}/attack_{attack}.tsv"
    threads: 2
    resources:
        gpu=1,
        runtime=60,
        mem_mb=4000,
    conda:
        "../../envs/freqmaps.yaml"
    script:
        "../../scripts/attack.py"
