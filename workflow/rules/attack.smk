# Attacks, sharded like the maps: each shard attacks a slice of the test images (its own seeded random
# stream), a cheap local gather merges them. The shard count is attack_shards, or --set-scatter attacks=N.


rule attack:
    """Attack one shard of the n_test_images test images chosen by the dataset's selection."""
    input:
        code_of("attack.py"),
        weights=WEIGHTS,
    output:
        ATTACK_SHARD,
    params:
        dataset=dataset_settings,
        attack=attack_settings,
        device=setting(config, "device"),
    log:
        f"{LOGS}/attack_{{attack}}_{{scatteritem}}.log",
    benchmark:
        f"{BENCHMARKS}/attack_{{attack}}_{{scatteritem}}.tsv"
    threads: 2
    resources:
        gpu=1,
        runtime=60,
        mem_mb=4000,
    conda:
        "../../envs/freqmaps.yaml"
    script:
        "../../scripts/attack.py"


rule gather_attack:
    """Merge attack shards; the sidecar has success rate, accuracies and perturbation norms of all images."""
    input:
        code_of("gather_attack.py"),
        shards=gather.attacks(ATTACK_SHARD, allow_missing=True),
    output:
        adversarial=ADVERSARIAL_EXAMPLES,
        metrics=ATTACK_METRICS,
    log:
        f"{LOGS}/attack_{{attack}}_gather.log",
    localrule: True
    conda:
        "../../envs/freqmaps.yaml"
    script:
        "../../scripts/gather_attack.py"
