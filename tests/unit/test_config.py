"""The config schema as the single source of truth, and the config values that used to pass validation and
then crash a job (issue: "config values that pass validation and then crash or mislead")."""

from __future__ import annotations

import copy
import dataclasses
import re
from typing import Any

import numpy as np
import pytest
import torch
import yaml

from freqmaps import config as cfg
from freqmaps.config import ConfigError, read_config, setting, validate_config
from freqmaps.data import CIFAR10, FASHION_MNIST
from tests.conftest import REPO, TINY_CONFIG


def tiny() -> dict[str, Any]:
    return yaml.safe_load(TINY_CONFIG.read_text())


def refused(edit) -> str:
    """The message of the ConfigError the tiny config raises after ``edit``."""
    config = tiny()
    edit(config)
    with pytest.raises(ConfigError) as caught:
        validate_config(config)
    return str(caught.value)


# ------------------------------------------------------------------ the schema
def _walk(node: Any, path: str = ""):
    """(path, property schema) of every declared key, $defs included."""
    if isinstance(node, dict):
        for key, prop in node.get("properties", {}).items():
            yield f"{path}.{key}", prop
            yield from _walk(prop, f"{path}.{key}")
        for name, sub in node.get("$defs", {}).items():
            yield from _walk(sub, f"$defs.{name}")
        if isinstance(node.get("additionalProperties"), dict):
            yield from _walk(node["additionalProperties"], f"{path}.<name>")


def test_every_key_has_a_description():
    missing = [
        path
        for path, prop in _walk(cfg.schema())
        if "description" not in cfg._resolve(prop) and path.rsplit(".", 1)[-1] not in ("objective", "parameterisation")
    ]
    assert missing == []


def test_shared_parts_are_defined_once_and_referenced():
    text = cfg.SCHEMA_PATH.read_text()
    for enum in ("[small_cnn, resnet20, vgg11_bn, resnet18]", "[per_channel, shared, hermitian]"):
        assert text.count(enum) == 1, enum
    assert text.count("[standard, adversarial, scale, translate, rotate, noise]") == 1
    assert text.count('$ref: "#/$defs/train_recipe"') == 3  # models.*.train, frequency_bias.train, .variants.*
    assert text.count('$ref: "#/$defs/map_settings"') == 2  # maps, frequency_bias.image_maps
    unused = [name for name in cfg.schema()["$defs"] if f'"#/$defs/{name}"' not in text]
    assert unused == []  # a part nothing refers to is a second copy of a rule kept elsewhere


def _registries() -> list[tuple[tuple[str, ...], Any]]:
    """(config key, the library registry whose keys are its allowed names): every schema enum that a registry
    defines, in one table (the attack backends' are checked in tests/unit/test_attacks.py, the datasets' in
    tests/unit/test_data.py)."""
    from freqmaps import stats
    from freqmaps.baselines import agreement
    from freqmaps.baselines.measures import BASELINES
    from freqmaps.fourier import PARAMETERISATIONS
    from freqmaps.maps import OBJECTIVES, PRECISIONS
    from freqmaps.models import BUILTIN_ARCHITECTURES, SOURCES
    from freqmaps.training import TRAINING_MODES, TRAINING_VARIANTS

    return [
        (("models", "*", "source"), SOURCES),
        (("models", "*", "train", "mode"), TRAINING_MODES),
        (("models", "*", "train", "variant"), TRAINING_VARIANTS),
        (("frequency_bias", "train", "variant"), TRAINING_VARIANTS),
        (("$defs", "variant"), TRAINING_VARIANTS),  # the study's variant names too
        (("$defs", "arch"), BUILTIN_ARCHITECTURES),
        (("frequency_bias", "arch"), BUILTIN_ARCHITECTURES),
        (("$defs", "parameterisation"), PARAMETERISATIONS),
        (("maps", "precision"), PRECISIONS),
        (("maps", "objective"), OBJECTIVES),
        (("stats", "statistics"), stats.STATISTICS),
        (("baselines", "measures"), BASELINES),
        (("baselines", "levels"), agreement.LEVELS),
        (("baselines", "statistics"), stats.STATISTICS),
    ]


@pytest.mark.parametrize(("keys", "registry"), _registries(), ids=[".".join(keys) for keys, _ in _registries()])
def test_schema_names_equal_the_registry_keys(keys, registry):
    """Adding an entry is one place in one file plus its name in the schema: the two lists must agree, in order."""
    node = cfg.schema_at(*keys)
    if "items" in node:  # a list of names
        node = node["items"]
        while "$ref" in node:  # a shared definition, "#/$defs/..."
            reference, node = node["$ref"], cfg.schema()
            for part in reference.removeprefix("#/").split("/"):
                node = node[part]
    assert node["enum"] == list(registry)


def _settings_classes():
    from freqmaps.maps import MapSettings
    from freqmaps.shared_masks import ClassMapSettings, DatasetMaskSettings
    from freqmaps.stats import StatsSettings
    from freqmaps.training import TrainSettings

    return [
        (TrainSettings, ("$defs", "train_recipe")),
        (MapSettings, ("$defs", "map_settings")),
        (ClassMapSettings, ("frequency_bias", "class_maps")),
        (DatasetMaskSettings, ("frequency_bias", "dataset_mask")),
        (StatsSettings, ("stats",)),
    ]


@pytest.mark.parametrize(("settings", "keys"), _settings_classes(), ids=lambda v: getattr(v, "__name__", ""))
def test_settings_defaults_are_the_schemas(settings, keys):
    made = dataclasses.asdict(settings())
    declared = cfg.defaults_at(*keys)
    fields = {f.name for f in dataclasses.fields(settings)}
    assert set(declared) - {"shards"} <= fields, "a schema key the settings class does not take"
    for key, value in declared.items():
        if key in fields:
            got = list(made[key]) if isinstance(made[key], tuple) else made[key]
            assert got == value, key


def test_image_maps_override_the_map_defaults_only_where_declared():
    image = cfg.defaults_at("frequency_bias", "image_maps")
    maps = cfg.defaults_at("maps")
    assert image["objective"] == "invariance" and image["parameterisation"] == "shared"
    assert {k: v for k, v in image.items() if k not in ("objective", "parameterisation")} == {
        k: v for k, v in maps.items() if k not in ("objective", "parameterisation", "shards")
    }


def test_setting_reads_the_config_or_the_schema_default():
    config = tiny()
    assert setting(config, "device") == "cpu"
    del config["device"]
    assert setting(config, "device") == "auto"
    assert setting(config, "maps", "shards") == 2
    assert setting(config, "attack_shards") == 1
    assert setting(config, "frequency_bias", "class_maps", "window") == 20
    assert setting({}, "frequency_bias", "n_bootstrap") == 1000


@pytest.mark.parametrize("path", [TINY_CONFIG, REPO / "config.yaml", *sorted((REPO / "configs").glob("*.yaml"))])
def test_shipped_configs_are_valid(path):
    validate_config(read_config(path), source=str(path))


def test_configuration_reference_lists_every_schema_key():
    """The reference the documentation build renders (docs/guide/configuration.md) names every key; keys of a
    shared part ($defs) at its first use."""
    reference = cfg.configuration_reference()
    for path, _ in _walk(cfg.schema()):
        if not path.startswith("$defs") and ".variants.<name>." not in path and ".image_maps." not in path:
            if not path.startswith(".frequency_bias.train."):
                assert f"| `{path[1:]}` |" in reference, path


# ------------------------------------------------------------------ issue 17, defect by defect
@pytest.mark.parametrize(
    ("edit", "expected"),
    [  # 2: integer-valued floats are refused naming the key (not coerced)
        (lambda c: c["models"]["cnn"]["train"].update(epochs=1.0), "models.cnn.train.epochs: 1.0"),
        (lambda c: c["models"]["cnn"]["train"].update(batch_size=64.0), "models.cnn.train.batch_size: 64.0"),
        (lambda c: c["datasets"]["fashion_mnist"].update(n_test_images=24.0), "fashion_mnist.n_test_images: 24.0"),
        (lambda c: c["attacks"]["pgd"]["params"].update(steps=5.0), "attacks.pgd.params.steps: 5.0"),
        (lambda c: c["stats"].update(k=[1.0]), "stats.k.0: 1.0"),
        (lambda c: c["stats"].update(n_null=20.0), "stats.n_null: 20.0"),
        (lambda c: c["maps"].update(shards=2.0), "maps.shards: 2.0"),
        (lambda c: c.update(seeds=[0.0]), "seeds.0: 0.0"),
        (lambda c: c["maps"].update(require_target=1), "maps.require_target: 1"),
        # 3: the study's recipes and single-image maps are validated
        (lambda c: c["frequency_bias"]["train"].update(epoch=2), "frequency_bias.train: unknown key(s) ['epoch']"),
        (lambda c: c["frequency_bias"]["variants"]["adversarial"].update(adv_epz=0.1), "['adv_epz']"),
        (lambda c: c["frequency_bias"]["image_maps"].update(max_step=9), "frequency_bias.image_maps: unknown"),
        (lambda c: c["frequency_bias"]["variants"]["standard"].update(epochs=-1), "variants.standard.epochs: -1"),
        # 5: no view; 10: a name must match in full
        (lambda c: c["stats"].update(views=[]), "stats.views: []"),
        # issue 29.2 and 29.5: a repeated entry is no replicate, an empty list computes nothing
        (lambda c: c.update(seeds=[0, 0]), "seeds: [0, 0] repeats 0; list each once"),
        (lambda c: c["stats"].update(statistics=["cosine", "cosine"]), "statistics: ['cosine', 'cosine'] repeats"),
        (lambda c: c["stats"].update(k=[1, 2, 1]), "stats.k: [1, 2, 1] repeats 1;"),
        (lambda c: c["stats"].update(views=["maps", "maps"]), "stats.views: ['maps', 'maps'] repeats"),
        (lambda c: c["stats"].update(nulls=["random", "random"]), "stats.nulls: ['random', 'random'] repeats"),
        (lambda c: c["stats"].update(statistics=[]), "stats.statistics: [] has too few"),
        (lambda c: c["stats"].update(nulls=[]), "stats.nulls: [] has too few"),
        (lambda c: c["models"].update({"cnn\n": c["models"]["cnn"]}), "'cnn\\n' is not allowed"),
        (lambda c: c["attacks"].update({"pgd\n": c["attacks"]["pgd"]}), "'pgd\\n' is not allowed"),
        # also: max below min, dangling study references
        (lambda c: c["maps"].update(min_steps=50, max_steps=20), "maps.max_steps: 20 is below maps.min_steps (50)"),
        (lambda c: c["frequency_bias"]["image_maps"].update(min_steps=30), "image_maps.max_steps: 20 is below"),
        (lambda c: c["frequency_bias"]["class_maps"].update(min_iterations=99), "class_maps.max_iterations: 15"),
        (lambda c: c["frequency_bias"].update(attack="cw"), "frequency_bias.attack: 'cw' is not under attacks"),
        (lambda c: c["frequency_bias"].update(dataset="mnist"), "frequency_bias.dataset: 'mnist' is not under"),
    ],
)
def test_values_that_used_to_crash_a_job_are_refused_naming_the_key(edit, expected):
    assert expected in refused(edit)


def test_attack_names_that_would_share_output_files_are_refused():
    """Issue 29.8: attacks ``pgd`` and ``pgd_per_image`` made Snakemake raise AmbiguousRuleException, naming no
    key. Every ``{attack}_<suffix>`` file name the workflow writes is covered by the check."""
    written = set()
    for rules in (REPO / "workflow" / "rules").glob("*.smk"):
        written |= set(re.findall(r"\{\{attack\}\}(_[a-z_]+)", rules.read_text()))
    assert written and written <= set(cfg.ATTACK_FILE_SUFFIXES)
    for suffix in sorted(written):
        message = refused(lambda c, s=suffix: c["attacks"].update({f"pgd{s}": c["attacks"]["pgd"]}))
        assert f"attacks.pgd{suffix}: is attack 'pgd' plus {suffix!r}" in message
    config = tiny()
    config["attacks"]["pgd_strong"] = config["attacks"]["pgd"]
    validate_config(config)  # a shared prefix alone is fine


def test_a_renamed_key_is_refused_naming_its_new_name():
    """frequency_bias.image_masks is image_maps now (the same per-image maps as the main pipeline's)."""
    message = refused(lambda c: c["frequency_bias"].update(image_masks=c["frequency_bias"].pop("image_maps")))
    assert "frequency_bias: unknown key(s) ['image_masks']" in message
    assert "('image_masks' is now called 'image_maps')" in message


def test_an_error_names_key_value_and_allowed_values_not_the_schema():
    message = refused(lambda c: (c.update(device="gpu"), c["maps"].update(lamda=0.1)))
    lines = message.splitlines()
    assert len(lines) == 3, message  # the heading and one line per problem
    assert "device: 'gpu' is not one of ['auto', 'cpu', 'cuda']" in message
    assert "maps: unknown key(s) ['lamda']; allowed: ['lam'," in message
    assert "$defs" not in message and "description" not in message


def test_the_study_is_validated_again_once_its_models_are_added():
    """The workflow validates the config after adding the study's bias_<variant> models (common.smk)."""
    from freqmaps.frequency_bias.variants import variant_models

    config = tiny()
    config["models"].update(variant_models(config))
    validate_config(config)
    assert config["models"]["bias_adversarial"]["train"]["adv_steps"] == 2
    config["models"]["bias_adversarial"]["train"]["epoch"] = 2
    with pytest.raises(ConfigError, match=r"models.bias_adversarial.train: unknown key\(s\) \['epoch'\]"):
        validate_config(config)


def test_pool_must_fit_the_maps():
    """Defect 5: stats.pool larger than the map stops before any job, naming the key and the limit."""
    config = tiny()
    config["stats"]["pool"] = 28
    cfg.check_pool_fits(config, {"fashion_mnist": FASHION_MNIST})
    config["stats"]["pool"] = 100
    with pytest.raises(ConfigError, match=r"stats.pool: 100 .* at most 28"):
        cfg.check_pool_fits(config, {"fashion_mnist": FASHION_MNIST})
    config["stats"]["pool"] = 20  # hermitian maps of 32 px images are 17 wide
    config["maps"]["parameterisation"] = "hermitian"
    with pytest.raises(ConfigError, match="at most 17"):
        cfg.check_pool_fits(config, {"cifar10": CIFAR10})


def test_pooling_as_large_as_the_check_allows_runs():
    """The bound of check_pool_fits is the real one: the largest pool allowed works, one more fails."""
    from freqmaps.stats import features

    maps = torch.rand(3, 1, 28, 28)
    assert features(maps, pool=28).shape == (3, 1)
    with pytest.raises(RuntimeError):
        features(maps, pool=29)


# ------------------------------------------------------------------ 8, 9: reading config files
def test_malformed_yaml_names_file_line_and_column(tmp_path):
    path = tmp_path / "experiment.yaml"
    path.write_text("seeds: [0]\nmaps: {lam: 0.1\nstats: {}\n")
    with pytest.raises(ConfigError, match=r"experiment.yaml: line \d+, column \d+: not valid YAML"):
        read_config(path)


def test_duplicate_keys_are_refused_naming_file_line_and_key(tmp_path):
    text = TINY_CONFIG.read_text() + "maps:\n  lam: 0.1\n"
    path = tmp_path / "twice.yaml"
    path.write_text(text)
    first = TINY_CONFIG.read_text().splitlines().index("maps:") + 1
    again = len(text.splitlines()) - 1
    with pytest.raises(
        ConfigError, match=rf"twice.yaml: line {again}: key 'maps' appears twice \(first on line {first}\)"
    ):
        read_config(path)
    path.write_text("seeds: [0]\nmodels:\n  cnn: {arch: small_cnn, arch: resnet20}\n")
    with pytest.raises(ConfigError, match="line 3: key 'arch' appears twice"):
        read_config(path)


def test_check_command_reports_each_file(tmp_path, capsys):
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(TINY_CONFIG.read_text())
    bad.write_text(TINY_CONFIG.read_text().replace("epochs: 1,", "epochs: 1.0,"))
    assert cfg.main([str(good)]) == 0
    assert cfg.main([str(good), str(bad)]) == 1
    assert "models.cnn.train.epochs: 1.0" in capsys.readouterr().err


# ------------------------------------------------------------------ 1: seeds of any size
@pytest.mark.parametrize("seed", [42949 * 100_003 + 1, 4294967296, 2**64 - 1, 2**64 + 5, 10**30])
def test_every_admitted_seed_seeds_every_generator(seed):
    from freqmaps.runtime import seed_everything

    generator = seed_everything(seed)
    first = (np.random.rand(), torch.rand(1).item(), torch.rand(1, generator=generator).item())
    generator = seed_everything(seed)
    assert (np.random.rand(), torch.rand(1).item(), torch.rand(1, generator=generator).item()) == first


def test_seeds_below_two_to_the_32_keep_their_streams():
    """Today's default run (seed 0, attack shard 1 -> stream seed 1) draws exactly what it drew before."""
    from freqmaps.runtime import fitted_seed, seed_everything, stream_seed

    assert stream_seed(0, 1) == 1 and stream_seed(3, 2) == 3 * 100_003 + 2
    for seed in (0, 1, 300_011, 2**32 - 1):
        assert fitted_seed(seed, 32) == seed
        generator = seed_everything(seed)
        np.random.seed(seed)
        expected_np = np.random.rand(4)
        seed_everything(seed)
        assert np.array_equal(np.random.rand(4), expected_np)
        assert torch.equal(
            torch.rand(4, generator=generator), torch.rand(4, generator=torch.Generator().manual_seed(seed))
        )
    assert fitted_seed(2**32, 32) != fitted_seed(0, 32), "2**32 must not share seed 0's stream"
    assert fitted_seed(2**32, 32) < 2**32


def test_stream_seeds_of_large_run_seeds_differ_per_shard():
    from freqmaps.runtime import fitted_seed, stream_seed

    seeds = {fitted_seed(stream_seed(4294967296, shard), 32) for shard in range(1, 9)}
    assert len(seeds) == 8


def test_validation_does_not_change_the_config():
    config = tiny()
    before = copy.deepcopy(config)
    validate_config(config)
    assert config == before


def test_map_settings_refuse_max_steps_below_min_steps():
    """Also for library users: every image would stop at max_steps + 1 and min_steps would be ignored."""
    from freqmaps.maps import MapSettings

    assert MapSettings(min_steps=5, max_steps=5).max_steps == 5
    with pytest.raises(ValueError, match=r"maps.max_steps: 4 is below maps.min_steps \(5\)"):
        MapSettings(min_steps=5, max_steps=4)


def test_experiment_name_follows_the_key_then_the_file_then_default():
    assert cfg.experiment_name({}, []) == "default"
    assert cfg.experiment_name({}, ["config.yaml"]) == "default"
    assert cfg.experiment_name({}, ["configs/cifar10_resnet20.yaml"]) == "cifar10_resnet20"
    assert cfg.experiment_name({"experiment": "mine"}, ["configs/cifar10_resnet20.yaml"]) == "mine"
    with pytest.raises(ConfigError, match="experiment: '../up'"):
        cfg.experiment_name({"experiment": "../up"}, [])


def test_make_run_names_the_line_of_a_malformed_config_before_snakemake_reads_it(tmp_path):
    """Snakemake reads a --configfile before any workflow code and names neither file nor line when it is not
    YAML; `make run CONFIG=FILE` checks the file first."""
    import subprocess

    bad = tmp_path / "broken.yaml"
    bad.write_text("seeds: [0\nmaps:\n  shards: 2\n")
    ran = subprocess.run(["make", "run", f"CONFIG={bad}"], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert ran.returncode != 0
    assert f"{bad}: line 2, column 5: not valid YAML" in ran.stderr
    assert "snakemake" not in ran.stdout.split("freqmaps.config")[-1]  # stopped before the run
