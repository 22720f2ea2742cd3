"""The one check of an experiment (freqmaps.validation): its verdict is kept while nothing it read changed, so a
repeat parse of the workflow imports no torch, and a changed file is checked again. The bad configs it refuses
are in tests/unit/test_user_errors.py (BAD_CONFIGS), each through the command and the workflow."""

import json
import os
import subprocess
import sys

import pytest
import yaml

from freqmaps.config import ConfigError
from freqmaps.validation import CACHE_FILE, check_experiment
from tests.conftest import FASHION_MNIST_ROOT, REPO, TINY_CONFIG, require_fashion_mnist


def _config_with_own_root(tmp_path):
    """The tiny config reading Fashion-MNIST through a folder of links that the test can change."""
    require_fashion_mnist()
    root = tmp_path / "fmnist"
    root.mkdir()
    for path in FASHION_MNIST_ROOT.glob("*-ubyte.gz"):
        (root / path.name).symlink_to(path)
    config = yaml.safe_load(TINY_CONFIG.read_text())
    config["datasets"]["fashion_mnist"]["root"] = str(root)
    return config, root


def test_a_repeat_check_of_an_unchanged_experiment_imports_no_torch(tmp_path):
    config, _ = _config_with_own_root(tmp_path)
    facts = check_experiment(config, cache_dir=tmp_path / "cache")
    assert facts.datasets["fashion_mnist"]["class_names"][0] == "T-shirt/top"
    assert set(facts.models) == {"cnn", "bias_standard", "bias_adversarial"}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    again = (
        "import sys, yaml; from freqmaps.validation import check_experiment; "
        f"facts = check_experiment(yaml.safe_load(open({str(tmp_path / 'config.yaml')!r})), "
        f"cache_dir={str(tmp_path / 'cache')!r}); "
        "print(sorted(facts.models), 'torch' in sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    ran = subprocess.run([sys.executable, "-c", again], capture_output=True, text=True, env=env, check=True)
    assert ran.stdout.split() == ["['bias_adversarial',", "'bias_standard',", "'cnn']", "False"], ran.stderr


def test_a_changed_file_or_config_is_checked_again(tmp_path):
    config, root = _config_with_own_root(tmp_path)
    cache = tmp_path / "cache"
    check_experiment(config, cache_dir=cache)
    entries = json.loads((cache / CACHE_FILE).read_text())
    assert len(entries) == 1
    watched = next(iter(entries.values()))["watched"]
    assert str(root) in watched  # the dataset's folder, as the config names it
    (root / "t10k-images-idx3-ubyte.gz").unlink()  # the test images go: the cached verdict no longer holds
    with pytest.raises(ConfigError, match="t10k-images-idx3-ubyte"):
        check_experiment(config, cache_dir=cache)
    (root / "t10k-images-idx3-ubyte.gz").symlink_to(FASHION_MNIST_ROOT / "t10k-images-idx3-ubyte.gz")
    check_experiment(config, cache_dir=cache)
    config["attacks"]["pgd"]["params"]["loss"] = "foo"  # an edited config is a new key
    with pytest.raises(ConfigError, match="attacks.pgd.params.loss"):
        check_experiment(config, cache_dir=cache)


def test_the_null_draws_warning_counts_every_lambda_and_the_contrasts_under_the_permutation_p(tmp_path):
    """The tiny experiment: 2 attacks x 3 views x 7 rows x 2 nulls = 84 verdict tests per λ, and its contrast
    21 more (3 views x 7 rows). Under stats.p_value: permutation its 20 draws warn with every one counted;
    under normal_tail (the default) they do not."""
    config, _ = _config_with_own_root(tmp_path)
    assert not any("stats.n_null" in w for w in check_experiment(config).warnings)
    config["stats"]["p_value"] = "permutation"
    config["maps"]["lam"] = [0.05, 0.1]
    (warning,) = [w for w in check_experiment(config).warnings if w.startswith("stats.n_null")]
    assert "over the verdict's 189 tests" in warning and "stats.n_null >= 7559" in warning
