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
    save_classifier(
        model, path, info=FASHION_MNIST, settings=TrainSettings(), metrics={}, device=torch.device("cpu"), seed=0
    )
    loaded = load_frozen_classifier(dataset="fashion_mnist", data_cfg={}, weights_path=path, device="cpu")
    assert loaded.info == dataset_info("fashion_mnist") and loaded.device == torch.device("cpu")
    assert not loaded.model.training and not any(p.requires_grad for p in loaded.model.parameters())
    x = torch.rand(3, 1, 28, 28)
    with torch.no_grad():
        assert torch.equal(loaded.model(x), model.eval()(x))
    with pytest.raises(ValueError, match="device: 'gpu'"):
        load_frozen_classifier(dataset="fashion_mnist", data_cfg={}, weights_path=path, device="gpu")


@pytest.mark.parametrize("size", [None, 32])
def test_analysed_images_come_at_the_saved_classifiers_resolution(idx_root, tmp_path, size):
    """Attacks, maps and baselines read the test images at the resolution the classifier expects, so the mask
    acts on exactly the image the model sees (issue 15: each model carries its own resolution)."""
    from freqmaps.data import load_dataset
    from freqmaps.models import ModelSpec, build_architecture, model_input_spec
    from freqmaps.stages import analysed_images

    data_cfg = {"root": str(idx_root), "n_test_images": 6}
    info = dataset_info("fashion_mnist", data_cfg)
    spec = ModelSpec.from_config({"arch": "small_cnn", **({"input": {"size": size}} if size else {})})
    model = build_architecture(spec, info)
    path = tmp_path / "model.safetensors"
    save_classifier(
        model, path, info=info, settings=TrainSettings(), metrics={}, device=torch.device("cpu"), seed=0, spec=spec
    )
    images, ids = analysed_images("fashion_mnist", data_cfg, path)
    side = model_input_spec(spec, info).size or 28
    assert images.floats().shape == (6, 1, side, side) and ids.tolist() == list(range(6))
    native = load_dataset("fashion_mnist", "test", data_cfg, side).floats()[:6]
    assert torch.equal(images.floats(), native)
