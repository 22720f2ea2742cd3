"""What a user sees for the bad inputs listed in the README, and the README's config reference."""

import re

import pytest
import torch
import yaml

from freqmaps.data import CIFAR10, FASHION_MNIST
from freqmaps.io import ResultFileError, save_tensors
from freqmaps.maps import ATTACK_FAILED, KEPT, MISCLASSIFIED_CLEAN
from freqmaps.models import build_model
from freqmaps.runtime import resolve_device
from freqmaps.stages import kept_pairs
from freqmaps.training import TrainSettings, load_classifier, save_classifier
from tests.conftest import REPO


def test_readme_configuration_reference_matches_the_schema():
    schema = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Configuration") : readme.index("## The method")]
    documented = set(re.findall(r"`([a-z_0-9]+)", section))  # also the `attacks` of `attacks.<name>`
    props = schema["properties"]
    expected = set(props)
    expected |= set(props["maps"]["properties"]) | set(props["stats"]["properties"])
    expected |= set(props["datasets"]["additionalProperties"]["properties"])
    expected |= set(props["models"]["additionalProperties"]["properties"]["train"]["properties"])
    study = props["frequency_bias"]["properties"]
    expected |= set(study) | set(study["dataset_mask"]["properties"]) | set(study["class_maps"]["properties"])
    assert expected - documented == set(), "keys in the schema but not in the README"


def test_weights_of_another_dataset_are_refused(tmp_path):
    model = build_model("small_cnn", FASHION_MNIST)
    path = tmp_path / "model.safetensors"
    save_classifier(model, path, FASHION_MNIST, TrainSettings(), {}, torch.device("cpu"), 0)
    with pytest.raises(ResultFileError, match="trained on 'fashion_mnist', not 'cifar10'"):
        load_classifier(path, CIFAR10, torch.device("cpu"))
    assert load_classifier(path, FASHION_MNIST, torch.device("cpu")) is not None


def _maps_file(path, ids, outcome):
    n = len(ids)
    save_tensors(
        path,
        {
            "maps": torch.rand(n, 1, 4, 4),
            "ids": torch.tensor(ids),
            "targets": torch.zeros(n, dtype=torch.long),
            "labels": torch.zeros(n, dtype=torch.long),
            "steps": torch.ones(n, dtype=torch.long),
            "outcome": torch.tensor(outcome),
            "final_loss": torch.zeros(n, dtype=torch.float64),
        },
        {},
    )


def test_empty_selection_says_why(tmp_path):
    _maps_file(tmp_path / "e.safetensors", [0, 1, 2], [KEPT, KEPT, MISCLASSIFIED_CLEAN])
    _maps_file(tmp_path / "a.safetensors", [0, 1, 2], [ATTACK_FAILED, ATTACK_FAILED, MISCLASSIFIED_CLEAN])
    with pytest.raises(ResultFileError, match="share no image with both maps kept"):
        kept_pairs(tmp_path / "e.safetensors", tmp_path / "a.safetensors")
    _maps_file(tmp_path / "a.safetensors", [1, 2], [KEPT, KEPT])
    assert kept_pairs(tmp_path / "e.safetensors", tmp_path / "a.safetensors")["ids"].tolist() == [1]


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message shown when no GPU is visible")
def test_missing_gpu_is_a_clear_error():
    with pytest.raises(RuntimeError, match="no CUDA device is visible"):
        resolve_device("cuda")
    assert resolve_device("auto").type == "cpu"
    with pytest.raises(ValueError, match="device: 'tpu'"):
        resolve_device("tpu")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_is_used_when_present():
    assert resolve_device("auto").type == "cuda"
