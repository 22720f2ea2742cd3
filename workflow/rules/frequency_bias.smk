# The frequency-bias study of [P1] (docs/METHOD.md §6) and the class-level maps of [P2] (§5): one model per
# training variant (bias_<variant>, trained by the ordinary train rule), a dataset-level mask, single-image
# maps and class-level maps per variant and seed, then tables and figures across the variants.
# Target: `snakemake frequency_bias` (or `make frequency_bias`).
rule dataset_mask:
    """One invariance-loss mask shared by every image, with masked and complement accuracy."""
    input:
        code_of("dataset_mask.py"),
        weights=WEIGHTS,
    output:
        mask=f"{BIAS}/dataset_mask.safetensors",
        sidecar=f"{BIAS}/dataset_mask.json",
    params:
        dataset=dataset_settings,
        mask=study_settings("dataset_mask"),
        device=setting(config, "device"),
    log:
        f"{LOGS}/dataset_mask.log",
    benchmark:
        f"{BENCHMARKS}/dataset_mask.tsv"
    threads: 2
    resources:
        gpu=1,
        runtime=120,
        mem_mb=8000,
    conda:
        "../../envs/freqmaps.yaml"
    script:
        "../../scripts/dataset_mask.py"


rule image_maps:
    """[P1] single-image maps of the first test images (invariance loss, the model's prediction as target)."""
    input:
        code_of("image_maps.py"),
        weights=WEIGHTS,
    output:
        maps=f"{BIAS}/image_maps.safetensors",
        sidecar=f"{BIAS}/image_maps.json",
    params:
        dataset=dataset_settings,
        maps=study_settings("image_maps"),
        device=setting(config, "device"),
    log:
        f"{LOGS}/image_maps.log",
    benchmark:
        f"{BENCHMARKS}/image_maps.tsv"
    threads: 2
    resources:
        gpu=1,
        runtime=240,
        mem_mb=4000,
    conda:
        "../../envs/freqmaps.yaml"
    script:
        "../../scripts/image_maps.py"


rule class_maps:
    """[P2] one map per class from an attack's images; how many attacks the predicted class's map undoes."""
    input:
        code_of("class_maps.py"),
        weights=WEIGHTS,
        attack=ADVERSARIAL_EXAMPLES,
    output:
        maps=f"{BIAS}/class_maps/{{attack}}.safetensors",
        sidecar=f"{BIAS}/class_maps/{{attack}}.json",
    params:
        dataset=dataset_settings,
        class_maps=study_settings("class_maps"),
        device=setting(config, "device"),
    log:
        f"{LOGS}/class_maps_{{attack}}.log",
    benchmark:
        f"{BENCHMARKS}/class_maps_{{attack}}.tsv"
    threads: 2
    resources:
        gpu=1,
        runtime=240,
        mem_mb=4000,
    conda:
        "../../envs/freqmaps.yaml"
    script:
        "../../scripts/class_maps.py"


rule frequency_bias_study:
    """Accuracy, mask and band tables across the variants, with the study's figures."""
    input:
        code_of("frequency_bias_study.py"),
        unpack(study_files),
    output:
        variants=report(
            BIAS_VARIANTS,
            caption="../report/frequency_bias_variants.rst",
            category="Frequency bias",
            labels={"table": "variants"},
        ),
        per_seed=f"{RESULTS}/{{dataset}}/frequency_bias/per_seed.csv",
        bands=f"{RESULTS}/{{dataset}}/frequency_bias/bands.csv",
        sidecar=f"{RESULTS}/{{dataset}}/frequency_bias/study.json",
        masks_png=report(
            f"{RESULTS}/{{dataset}}/frequency_bias/masks.png",
            caption="../report/frequency_bias_masks.rst",
            category="Frequency bias",
            labels={"figure": "dataset masks"},
        ),
        bands_png=report(
            f"{RESULTS}/{{dataset}}/frequency_bias/band_differences.png",
            caption="../report/frequency_bias_bands.rst",
            category="Frequency bias",
            labels={"figure": "band differences"},
        ),
        gallery_png=report(
            f"{RESULTS}/{{dataset}}/frequency_bias/complement_gallery.png",
            caption="../report/frequency_bias_gallery.rst",
            category="Frequency bias",
            labels={"figure": "complement gallery"},
        ),
        lfi_png=report(
            f"{RESULTS}/{{dataset}}/frequency_bias/low_frequency_index.png",
            caption="../report/frequency_bias_lfi.rst",
            category="Frequency bias",
            labels={"figure": "low-frequency index"},
        ),
    params:
        variants=list((STUDY or {}).get("variants", [])),
        seeds=config["seeds"],
        settings={key: setting(config, "frequency_bias", key) for key in ("n_bands", "n_bootstrap")},
    log:
        f"{LOGS_ROOT}/{{dataset}}/frequency_bias_study.log",
    localrule: True
    conda:
        "../../envs/freqmaps.yaml"
    script:
        "../../scripts/frequency_bias_study.py"
