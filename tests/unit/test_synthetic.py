"""The synthetic known-answer dataset: deterministic, class signal only inside the planted bands, a background
without class information; and the measures the known-answer check uses."""

import pytest
import torch

from freqmaps.data import DatasetError, dataset_info, load_dataset
from freqmaps.fourier import shifted
from freqmaps.synthetic import SyntheticSettings, attack_regions, band_mass, class_bands, generate


def _spectral_energy(images: torch.Tensor) -> torch.Tensor:
    x = images.double() / 255
    x = x - x.mean(dim=(-2, -1), keepdim=True)
    return shifted(torch.fft.fft2(x)).abs().pow(2).sum(1)  # [N, H, W]


def test_same_settings_same_images_and_balanced_classes():
    settings = SyntheticSettings(n_train=40, n_test=20)
    a, la = generate(settings, "train")
    b, lb = generate(settings, "train")
    assert torch.equal(a, b) and torch.equal(la, lb)
    assert a.dtype == torch.uint8 and a.shape == (40, 1, 28, 28)
    assert torch.bincount(la).tolist() == [10, 10, 10, 10]
    test, _ = generate(settings, "test")
    assert not torch.equal(test, a[:20])  # the splits are different draws
    other, _ = generate(SyntheticSettings(n_train=40, n_test=20, seed=1), "train")
    assert not torch.equal(other, a)


@pytest.mark.parametrize("layout", ["rings", "wedges", "scales"])
def test_class_signal_lies_in_its_band(layout):
    settings = SyntheticSettings(layout=layout, n_train=64, background=0.0, signal=0.1)
    images, labels = generate(settings, "train")
    bands = class_bands(settings)
    energy = _spectral_energy(images)
    inside = (energy * bands[labels]).flatten(1).sum(1) / energy.flatten(1).sum(1)
    assert inside.min() > 0.97  # uint8 rounding is the only leak
    assert torch.equal(bands, bands.flip(-1).flip(-2).roll((1, 1), (-2, -1)))  # symmetric under k -> -k


def test_background_carries_no_class_information():
    settings = SyntheticSettings(n_train=4000, signal=0.0)
    images, labels = generate(settings, "train")
    energy = _spectral_energy(images)
    per_class = torch.stack([energy[labels == c].mean(0) for c in range(4)])
    spread = (per_class.max(0).values - per_class.min(0).values) / per_class.mean(0).clamp(min=1e-12)
    assert spread[energy.mean(0) > energy.mean() * 0.1].max() < 0.25  # class means agree within sampling noise


def test_band_layouts():
    rings = class_bands(SyntheticSettings(layout="rings"))
    assert rings.shape == (4, 28, 28) and not (rings.sum(0) > 1).any()  # no overlap by default
    overlapping = class_bands(SyntheticSettings(layout="rings", overlap=0.5))
    assert (overlapping[0] & overlapping[1]).any() and not (overlapping[0] & overlapping[2]).any()
    scales = class_bands(SyntheticSettings(layout="scales"))
    radius = torch.cdist(
        torch.stack(torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij"), -1).view(-1, 2),
        torch.tensor([[14.0, 14.0]]),
    ).view(28, 28)
    middle = sum(SyntheticSettings().radius_range) / 2
    for band in scales:
        assert (band & (radius < middle)).any() and (band & (radius > middle)).any()
    with_background = class_bands(SyntheticSettings(background_class=True))
    assert with_background.shape[0] == 5 and not with_background[4].any()


def test_band_mass_and_attack_regions():
    bands = class_bands(SyntheticSettings(layout="rings", overlap=0.5))
    maps = bands[[0, 1]].double()[:, None]  # each map exactly its class's band
    assert band_mass(maps, bands[[0, 1]]).tolist() == [1.0, 1.0]
    assert band_mass(maps, bands[[2, 3]]).tolist() == [0.0, 0.0]
    regions = attack_regions(bands, torch.tensor([0]), torch.tensor([1]))
    total = sum(r.long() for r in regions.values())
    assert torch.equal(total, torch.ones_like(total))  # the four regions tile the spectrum
    assert regions["shared"].any() and not (regions["shared"] & ~bands[0]).any()


def test_synthetic_is_a_dataset_like_any_other():
    cfg = {"n_train": 20, "n_test": 10, "n_classes": 3, "channels": 3, "size": 16, "radius_range": [2, 7]}
    train = load_dataset("synthetic_small", "train", cfg)
    assert train.images.shape == (20, 3, 16, 16) and train.info.num_classes == 3
    assert dataset_info("synthetic_small", cfg).channels == 3
    with pytest.raises(DatasetError, match="datasets.synthetic_small.layout"):
        dataset_info("synthetic_small", {"layout": "spirals"})
    with pytest.raises(DatasetError, match="datasets.synthetic.radius_range"):
        dataset_info("synthetic", {"radius_range": [5, 40]})


def test_known_answer_measures_on_constructed_maps():
    """Maps that are exactly their class's band meet the threshold and recover the layout; the blank class is
    reported apart; adversarial maps on the adversarial class's band put their mass where it owns frequencies."""
    from freqmaps.known_answer import adversarial_answer, essential_answer
    from freqmaps.outcomes import KEPT

    bands = class_bands(SyntheticSettings(layout="rings", overlap=0.5))
    labels = torch.tensor([0, 1, 2, 3, 1, 2])
    essential = {"maps": bands[labels].double()[:, None], "labels": labels, "outcome": torch.full((6,), KEPT)}
    essential["maps"][labels == 0] = 0.0  # class 0 is the blank class: its maps are empty
    answer = essential_answer(essential, bands, blank=0)
    assert answer["meets_threshold"] and answer["mass_in_band_mean"] == 1.0
    assert answer["layout_recovered"] == answer["layout_classes"] == 3
    assert answer["classes"][0]["blank"] and answer["classes"][0]["empty_maps"] == 1
    targets = torch.tensor([2, 3, 0])
    adversarial = {
        "maps": bands[targets].double()[:, None],
        "labels": torch.tensor([1, 2, 1]),
        "targets": targets,
        "outcome": torch.full((3,), KEPT),
    }
    result = adversarial_answer(adversarial, bands, blank=0)
    assert result["judged_maps"] == 2 and result["to_blank_class"] == 1
    assert result["adversarial_only_mass"] + result["shared_mass"] == pytest.approx(1.0)
    assert result["true_only_mass"] == 0.0 and result["neither_mass"] == 0.0


def test_known_answer_refuses_a_dataset_without_planted_bands(tmp_path):
    """A dataset without planted bands (not synthetic, no bands file) stops before a model or map is read,
    naming the key that would give it bands."""
    from freqmaps.known_answer import known_answer

    absent = tmp_path / "absent.safetensors"
    with pytest.raises(ValueError, match=r"'fashion_mnist' has no planted bands; set datasets\.fashion_mnist\.bands"):
        known_answer(
            dataset="fashion_mnist",
            data_cfg={},
            weights_path=absent,
            essential_path=absent,
            adversarial_paths={},
            device="cpu",
            out={},
        )
