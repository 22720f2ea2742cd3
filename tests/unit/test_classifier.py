"""Loading a trained classifier to explain it: freqmaps.classifier."""

import pytest
import torch

from freqmaps.classifier import load_frozen_classifier
from freqmaps.data import FASHION_MNIST, dataset_info
from freqmaps.models import build_model
from freqmaps.training import TrainSettings, save_classifier


def test_frozen_classifier_is_the_saved_model_without_gradients(tmp_path):
    torch.manual_seed(0)
    model = build_model("small_cnn", FASHION_MNIST)
    path = tmp_path / "model.safetensors"
    save_classifier(model, path, FASHION_MNIST, TrainSettings(), {}, torch.device("cpu"), 0)
    loaded = load_frozen_classifier(dataset="fashion_mnist", data_cfg={}, weights_path=path, device="cpu")
    assert loaded.info == dataset_info("fashion_mnist") and loaded.device == torch.device("cpu")
    assert not loaded.model.training and not any(p.requires_grad for p in loaded.model.parameters())
    x = torch.rand(3, 1, 28, 28)
    with torch.no_grad():
        assert torch.equal(loaded.model(x), model.eval()(x))
    with pytest.raises(ValueError, match="device: 'gpu'"):
        load_frozen_classifier(dataset="fashion_mnist", data_cfg={}, weights_path=path, device="gpu")
