# Per-image maps, sharded: each shard is one job (resumable: finished shards are kept), and a cheap
# local gather merges them. The shard count is maps.shards, or --set-scatter maps=N.


rule essential_maps_shard:
    """Essential frequency maps of correctly classified clean images (target: the true label)."""
    input:
        library("maps", "fourier", "stages"),
        weights="results/{dataset}/{model}/seed{seed}/model.safetensors",
    output:
        "results/{dataset}/{model}/seed{seed}/maps/essential/shards/{scatteritem}.safetensors",
    params:
        dataset=dataset_settings,
        maps=map_settings(),
        device=setting(config, "device"),
    log:
        "logs/{dataset}/{model}/seed{seed}/maps_essential_{scatteritem}.log",
    benchmark:
        "benchmarks/{dataset}/{model}/seed{seed}/maps_essential_{scatteritem}.tsv"
    threads: 2
    resources:
        gpu=1,
        runtime=240,
        mem_mb=4000,
    conda:
        "../../envs/freqmaps.yaml"
    script:
        "../../scripts/learn_maps.py"


rule adversarial_maps_shard:
    """Adversarial frequency maps of successfully attacked images (target: the adversarial label)."""
    input:
        library("maps", "fourier", "stages"),
        weights="results/{dataset}/{model}/seed{seed}/model.safetensors",
        attack="results/{dataset}/{model}/seed{seed}/attacks/{attack}.safetensors",
    output:
        "results/{dataset}/{model}/seed{seed}/maps/adversarial/{attack}/shards/{scatteritem}.safetensors",
    params:
        dataset=dataset_settings,
        maps=map_settings(),
        device=setting(config, "device"),
    log:
        "logs/{dataset}/{model}/seed{seed}/maps_adversarial_{attack}_{scatteritem}.log",
    benchmark:
        "benchmarks/{dataset}/{model}/seed{seed}/maps_adversarial_{attack}_{scatteritem}.tsv"
    threads: 2
    resources:
        gpu=1,
        runtime=240,
        mem_mb=4000,
    conda:
        "../../envs/freqmaps.yaml"
    script:
        "../../scripts/learn_maps.py"


rule gather_essential_maps:
    input:
        library("stages"),
        shards=gather.maps("results/{dataset}/{model}/seed{seed}/maps/essential/shards/{scatteritem}.safetensors", allow_missing=True),
    output:
        maps="results/{dataset}/{model}/seed{seed}/maps/essential.safetensors",
        summary="results/{dataset}/{model}/seed{seed}/maps/essential.json",
    log:
        "logs/{dataset}/{model}/seed{seed}/maps_essential_gather.log",
    localrule: True
    conda:
        "../../envs/freqmaps.yaml"
    script:
        "../../scripts/gather_maps.py"


rule gather_adversarial_maps:
    input:
        library("stages"),
        shards=gather.maps("results/{dataset}/{model}/seed{seed}/maps/adversarial/{attack}/shards/{scatteritem}.safetensors", allow_missing=True),
    output:
        maps="results/{dataset}/{model}/seed{seed}/maps/adversarial/{attack}.safetensors",
        summary="results/{dataset}/{model}/seed{seed}/maps/adversarial/{attack}.json",
    log:
        "logs/{dataset}/{model}/seed{seed}/maps_adversarial_{attack}_gather.log",
    localrule: True
    conda:
        "../../envs/freqmaps.yaml"
    script:
        "../../scripts/gather_maps.py"
