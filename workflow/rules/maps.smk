# Per-image maps, sharded: each shard is one job (resumable: finished shards are kept), and a cheap
# local gather merges them. The shard count is maps.shards, or --set-scatter maps=N.


rule essential_maps_shard:
    """Essential frequency maps of correctly classified clean images (target: the true label)."""
    input:
        library("maps", "fourier", "stages"),
        weights=RESULTS + "/model.safetensors",
    output:
        RESULTS + "/maps/essential/shards/{scatteritem}.safetensors",
    params:
        dataset=dataset_settings,
        maps=map_settings(),
        device=config.get("device", "auto"),
    log:
        LOGS + "/maps_essential_{scatteritem}.log",
    benchmark:
        "benchmarks/{dataset}/{model}/seed{seed}/maps_essential_{scatteritem}.tsv"
    threads: 2
    resources:
        gpu=1,
        runtime=240,
        mem_mb=4000,
    script:
        "../../scripts/learn_maps.py"


rule adversarial_maps_shard:
    """Adversarial frequency maps of successfully attacked images (target: the adversarial label)."""
    input:
        library("maps", "fourier", "stages"),
        weights=RESULTS + "/model.safetensors",
        attack=RESULTS + "/attacks/{attack}.safetensors",
    output:
        RESULTS + "/maps/adversarial/{attack}/shards/{scatteritem}.safetensors",
    params:
        dataset=dataset_settings,
        maps=map_settings(),
        device=config.get("device", "auto"),
    log:
        LOGS + "/maps_adversarial_{attack}_{scatteritem}.log",
    benchmark:
        "benchmarks/{dataset}/{model}/seed{seed}/maps_adversarial_{attack}_{scatteritem}.tsv"
    threads: 2
    resources:
        gpu=1,
        runtime=240,
        mem_mb=4000,
    script:
        "../../scripts/learn_maps.py"


rule gather_essential_maps:
    input:
        gather.maps(RESULTS + "/maps/essential/shards/{scatteritem}.safetensors", allow_missing=True),
    output:
        maps=RESULTS + "/maps/essential.safetensors",
        summary=RESULTS + "/maps/essential.json",
    log:
        LOGS + "/maps_essential_gather.log",
    localrule: True
    script:
        "../../scripts/gather_maps.py"


rule gather_adversarial_maps:
    input:
        gather.maps(RESULTS + "/maps/adversarial/{attack}/shards/{scatteritem}.safetensors", allow_missing=True),
    output:
        maps=RESULTS + "/maps/adversarial/{attack}.safetensors",
        summary=RESULTS + "/maps/adversarial/{attack}.json",
    log:
        LOGS + "/maps_adversarial_{attack}_gather.log",
    localrule: True
    script:
        "../../scripts/gather_maps.py"
