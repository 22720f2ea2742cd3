"""Known answers for any dataset that ships its planted bands (docs/METHOD.md §8): a tensors dataset with planted
wedges and a `bands` file, built here, through training, maps and the known-answer measures; and the errors
that name the key when the bands are missing or malformed."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

from freqmaps.classifier import FrozenClassifier
from freqmaps.data import DatasetInfo, has_planted_bands, load_dataset
from freqmaps.known_answer import NO_BLANK, blank_class, essential_answer, planted_bands
from freqmaps.maps import MapSettings, learn_maps
from freqmaps.models import freeze
from freqmaps.runtime import seed_everything
from freqmaps.synthetic import SyntheticSettings, class_bands, generate
from freqmaps.training import TrainSettings, predict, train_classifier

CPU = torch.device("cpu")


def planted_wedges(root, n_train=1500, n_test=100) -> dict:
    """A tensors dataset of 4 classes, each owning a pair of opposite orientation wedges, and its bands file:
    the config section that names them."""
    settings = SyntheticSettings(layout="wedges", n_classes=4, n_train=n_train, n_test=n_test, seed=5)
    root.mkdir(parents=True, exist_ok=True)
    for split in ("train", "test"):
        images, labels = generate(settings, split)
        save_file({"images": images.contiguous(), "labels": labels.long().contiguous()}, root / f"{split}.safetensors")
    save_file({"bands": class_bands(settings)}, root / "bands.safetensors")
    return {"source": "tensors", "root": str(root), "bands": str(root / "bands.safetensors")}


def test_maps_of_a_tensors_dataset_with_planted_wedges_find_their_bands(tmp_path):
    """Not tuned to any reported number: a small CNN trained on the planted wedges (2 epochs of 1,500 images),
    maps of the first 16 correctly classified test images; the known-answer measure reads the bands file and
    judges non-DC mass (measured once with up to 300 map updates: 0.99998 in band, DC 17% of the mass)."""
    cfg = planted_wedges(tmp_path / "wedges")
    assert has_planted_bands("wedges", cfg) and not has_planted_bands("wedges", {"source": "tensors"})
    train, test = load_dataset("wedges", "train", cfg), load_dataset("wedges", "test", cfg)
    settings = TrainSettings(epochs=2, batch_size=64, lr=0.05)
    model, metrics = train_classifier(train, test, settings, CPU, seed_everything(0))
    assert metrics["test_accuracy"] > 0.9, metrics
    model = freeze(model)
    images, labels = test.floats(), test.labels
    correct = (predict(model, images, CPU) == labels).nonzero().squeeze(1)[:16]
    maps = MapSettings(lam=0.05, min_steps=50, max_steps=200, batch_size=16)
    result = learn_maps(model, images[correct], labels[correct], maps, CPU, 4, progress=False)
    essential = {"maps": result.masks, "labels": labels[correct], "outcome": result.outcome}
    bands = planted_bands("wedges", cfg, 4, 28)
    assert torch.equal(bands, class_bands(SyntheticSettings(layout="wedges", n_classes=4)))
    blank = blank_class(FrozenClassifier(model, train.info, CPU))
    answer = essential_answer(essential, bands, blank)
    assert answer["mass_in_band_mean"] >= 0.9, answer
    assert answer["meets_threshold"] and 0 < answer["dc_share_mean"] < 1


def test_missing_or_malformed_bands_name_the_key(tmp_path):
    with pytest.raises(ValueError, match=r"datasets\.plain\.bands"):
        planted_bands("plain", {"source": "tensors"}, 4, 28)
    path = tmp_path / "bands.safetensors"
    save_file({"bands": torch.zeros(3, 28, 28, dtype=torch.bool)}, path)
    with pytest.raises(ValueError, match=r"datasets\.plain\.bands: `bands` in .* is torch.bool \[3, 28, 28\]"):
        planted_bands("plain", {"source": "tensors", "bands": str(path)}, 4, 28)
    save_file({"masks": torch.zeros(4, 28, 28, dtype=torch.bool)}, path)
    with pytest.raises(ValueError, match="no tensor named `bands`"):
        planted_bands("plain", {"source": "tensors", "bands": str(path)}, 4, 28)
    with pytest.raises(ValueError, match="not found"):
        planted_bands("plain", {"source": "tensors", "bands": str(tmp_path / "none.safetensors")}, 4, 28)


class _Fixed(torch.nn.Module):
    def __init__(self, logits):
        super().__init__()
        self.logits = torch.tensor([logits])

    def forward(self, x):
        return self.logits.expand(len(x), -1)


@pytest.mark.parametrize(("logits", "blank"), [([4.0, 0.0, 0.0], 0), ([0.5, 0.0, 0.0], NO_BLANK)])
def test_the_blank_class_needs_a_confident_model(logits, blank):
    """softmax [0.96, 0.02, 0.02]: class 0 is the blank class; softmax [0.45, 0.27, 0.27]: there is none."""
    info = DatasetInfo("constructed", 3, 1, 8, (0.0,), (1.0,), ("a", "b", "c"))
    assert blank_class(FrozenClassifier(_Fixed(logits), info, CPU), 0.5) == blank


def test_a_model_augmentation_that_overrides_the_dataset_s_is_said():
    """crop_flip (the default config's) on orientation-coded planted data mixes classes: the override is a
    warning in the log and a column of run.csv; the dataset's own augmentation, or none given, says nothing."""
    from freqmaps.training import augmentation_override

    info = DatasetInfo("wedges", 4, 1, 28, (0.0,), (1.0,), ("0", "1", "2", "3"), "crop")
    message = augmentation_override("crop_flip", info)
    assert "base_augmentation: 'crop_flip' overrides dataset 'wedges'" in message and "'crop'" in message
    assert augmentation_override("crop", info) == "" and augmentation_override(None, info) == ""
