# Per-image maps, sharded: each shard is one job (resumable: finished shards are kept), and a cheap
# local gather merges them. The shard count is maps.shards, or --set-scatter maps=N.


rule essential_maps_shard:
    """Essential frequency maps of correctly classified clean images (target: the true label)."""
    input:
        code_of("learn_maps.py"),
        weights=WEIGHTS,
    output:
        ESSENTIAL_MAPS_SHARD,
    params:
        dataset=dataset_settings,
        maps=map_settings(),
        device=setting(config, "device"),
    log:
        f"{LOGS}/maps_essential_{{scatteritem}}.log",
    benchmark:
        f"{BENCHMARKS}/maps_essential_{{scatteritem}}.tsv"
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
        code_of("learn_maps.py"),
        weights=WEIGHTS,
        attack=ADVERSARIAL_EXAMPLES,
    output:
        ADVERSARIAL_MAPS_SHARD,
    params:
        dataset=dataset_settings,
        maps=map_settings(),
        device=setting(config, "device"),
    log:
        f"{LOGS}/maps_adversarial_{{attack}}_{{scatteritem}}.log",
    benchmark:
        f"{BENCHMARKS}/maps_adversarial_{{attack}}_{{scatteritem}}.tsv"
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
        code_of("gather_maps.py"),
        shards=gather.maps(ESSENTIAL_MAPS_SHARD, allow_missing=True),
    output:
        maps=ESSENTIAL_MAPS,
        summary=f"{RUN}/maps/essential.json",
    log:
        f"{LOGS}/maps_essential_gather.log",
    localrule: True
    conda:
        "../../envs/freqmaps.yaml"
    script:
        "../../scripts/gather_maps.py"


rule gather_adversarial_maps:
    input:
        code_of("gather_maps.py"),
        shards=gather.maps(ADVERSARIAL_MAPS_SHARD, allow_missing=True),
    output:
        maps=ADVERSARIAL_MAPS,
        summary=f"{RUN}/maps/adversarial/{{attack}}.json",
    log:
        f"{LOGS}/maps_adversarial_{{attack}}_gather.log",
    localrule: True
    conda:
        "../../envs/freqmaps.yaml"
    script:
        "../../scripts/gather_maps.py"


# λ sensitivity: the same jobs for each further λ of a maps.lam list, under lam<λ>/ (the first λ uses the rules
# above and their paths, so turning a single λ into a list recomputes nothing that exists).
use rule essential_maps_shard as essential_maps_shard_lam with:
    output:
        LAM_ESSENTIAL_MAPS_SHARD,
    params:
        dataset=dataset_settings,
        maps=lam_map_settings,
        device=setting(config, "device"),
    log:
        f"{LAM_LOGS}/maps_essential_{{scatteritem}}.log",
    benchmark:
        f"{LAM_BENCHMARKS}/maps_essential_{{scatteritem}}.tsv"


use rule adversarial_maps_shard as adversarial_maps_shard_lam with:
    output:
        LAM_ADVERSARIAL_MAPS_SHARD,
    params:
        dataset=dataset_settings,
        maps=lam_map_settings,
        device=setting(config, "device"),
    log:
        f"{LAM_LOGS}/maps_adversarial_{{attack}}_{{scatteritem}}.log",
    benchmark:
        f"{LAM_BENCHMARKS}/maps_adversarial_{{attack}}_{{scatteritem}}.tsv"


use rule gather_essential_maps as gather_essential_maps_lam with:
    input:
        code_of("gather_maps.py"),
        shards=gather.maps(LAM_ESSENTIAL_MAPS_SHARD, allow_missing=True),
    output:
        maps=LAM_ESSENTIAL_MAPS,
        summary=f"{LAM_RUN}/maps/essential.json",
    log:
        f"{LAM_LOGS}/maps_essential_gather.log",


use rule gather_adversarial_maps as gather_adversarial_maps_lam with:
    input:
        code_of("gather_maps.py"),
        shards=gather.maps(LAM_ADVERSARIAL_MAPS_SHARD, allow_missing=True),
    output:
        maps=LAM_ADVERSARIAL_MAPS,
        summary=f"{LAM_RUN}/maps/adversarial/{{attack}}.json",
    log:
        f"{LAM_LOGS}/maps_adversarial_{{attack}}_gather.log",
