"""Class-level maps and dataset-level masks."""

import copy
import dataclasses

import pytest
import torch

from freqmaps.attacks import judge_success
from freqmaps.data import FASHION_MNIST, ImageSet, head
from freqmaps.fourier import apply_mask
from freqmaps.models import build_model, freeze
from freqmaps.shared_masks import (
    ClassMapSettings,
    DatasetMaskSettings,
    FilteredImages,
    class_level_maps,
    dataset_level_mask,
    evaluate_class_maps,
)
from freqmaps.training import accuracy

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def attacked(fixed_cnn):
    import torchattacks

    model, test, _ = fixed_cnn
    x, y = test.floats()[:60].double(), test.labels[:60]
    model = copy.deepcopy(model).double()
    torch.manual_seed(0)
    adv = torchattacks.PGD(model, eps=16 / 255, alpha=4 / 255, steps=5)(x, y)
    with torch.no_grad():
        judged = judge_success(model, x, adv, y, CPU)
    return model, {"clean": x, "labels": y, "adversarial": adv, **judged}


def test_class_maps_are_optimised_independently_per_class(attacked):
    """Batching all classes together gives each class the mask it gets when optimised alone (fp64)."""
    model, attack = attacked
    settings = ClassMapSettings(min_iterations=5, max_iterations=15, window=3)
    together = class_level_maps(model=model, attack=attack, num_classes=10, settings=settings, device=CPU)
    c = int(torch.mode(attack["labels"]).values)
    alone_images = (attack["labels"] == c) | (attack["adversarial_labels"] == c)
    alone_attack = {key: value[alone_images] for key, value in attack.items()}
    alone = class_level_maps(model=model, attack=alone_attack, num_classes=10, settings=settings, device=CPU)
    assert torch.allclose(together["masks"][c], alone["masks"][c], atol=1e-8)
    assert together["iterations"][c] == alone["iterations"][c]
    assert ((together["masks"] >= 0) & (together["masks"] <= 1)).all()
    assert together["n_clean"].sum() == together["n_correct"]


def test_class_map_evaluation_matches_a_direct_count(attacked):
    model, attack = attacked
    x, y, adv, adv_labels = (attack[key] for key in ("clean", "labels", "adversarial", "adversarial_labels"))
    masks = torch.rand(10, 1, 28, 28, dtype=torch.float64)
    result = evaluate_class_maps(model=model, masks=masks, attack=attack, parameterisation="per_channel")
    with torch.no_grad():
        correct = model(x).argmax(1) == y
        reverted = kept = 0
        for i in range(len(x)):
            if attack["success"][i]:
                reverted += int(model(apply_mask(adv[i : i + 1], masks[adv_labels[i]], "per_channel")).argmax() == y[i])
            if correct[i]:
                kept += int(model(apply_mask(x[i : i + 1], masks[y[i]], "per_channel")).argmax() == y[i])
    assert result["attacks_reverted"] == pytest.approx(reverted / result["n_attacked"])
    assert result["clean_accuracy_kept"] == pytest.approx(kept / result["n_correct"])


def test_class_maps_take_the_attack_files_judgement_of_success(attacked):
    """An image the attack file does not mark successful (say, misclassified within the boundary band)
    is no attack to undo, whatever its adversarial label."""
    model, attack = attacked
    doubtful = attack["success"].clone()
    doubtful[int(doubtful.nonzero()[0])] = False
    masks = torch.ones(10, 1, 28, 28, dtype=torch.float64)
    judged = evaluate_class_maps(model=model, masks=masks, attack=attack, parameterisation="per_channel")
    fewer = evaluate_class_maps(
        model=model, masks=masks, attack={**attack, "success": doubtful}, parameterisation="per_channel"
    )
    assert fewer["n_attacked"] == judged["n_attacked"] - 1 and fewer["n_correct"] == judged["n_correct"]


def test_dataset_mask_sparsifies_and_keeps_accuracy(fixed_cnn):
    model, test, _ = fixed_cnn
    images = head(test, 128)
    settings = DatasetMaskSettings(epochs=6, lr=0.2, batch_size=32, patience=50)  # Adam moves ~lr a step
    result = dataset_level_mask(model, images, images, settings, CPU, torch.Generator().manual_seed(0))
    control = dataset_level_mask(
        model, images, images, dataclasses.replace(settings, lam=0.0), CPU, torch.Generator().manual_seed(0)
    )
    # the L1 term removes frequencies: 21% of them after 6 epochs of 4 steps (164 of 784 on one x86-64 machine;
    # the CPU's arithmetic moves this a little), the same optimisation without it a few (14 there)
    assert result["history"][-1]["sparsity"] > 0.03
    assert result["history"][-1]["sparsity"] > 2 * control["history"][-1]["sparsity"]
    if result["saved_epoch"] is not None:
        assert result["masked_accuracy"] >= 0.99 * result["unmasked_accuracy"]
    assert result["mask"].shape == (1, 28, 28) and 0 <= result["mask"].min() and result["mask"].max() <= 1


def test_dataset_mask_stops_when_sparsity_is_stable():
    model = freeze(build_model("small_cnn", FASHION_MNIST))
    generator = torch.Generator().manual_seed(0)
    images = ImageSet(
        torch.randint(0, 256, (64, 1, 28, 28), dtype=torch.uint8, generator=generator),
        torch.randint(0, 10, (64,), generator=generator),
        FASHION_MNIST,
    )
    settings = DatasetMaskSettings(epochs=30, lr=1e-9, patience=3, batch_size=64)  # the mask cannot move
    result = dataset_level_mask(model, images, images, settings, CPU, generator)
    assert len(result["history"]) == 3


def test_accuracy_under_a_mask_is_a_direct_count(fixed_cnn):
    """training.accuracy of FilteredImages equals filtering every image and counting correct predictions."""
    model, test, _ = fixed_cnn
    images = head(test, 600)  # two batches of training.accuracy
    mask = (torch.rand(1, 1, 28, 28, generator=torch.Generator().manual_seed(0)) > 0.3).float()
    masked = FilteredImages.of(images, mask, "shared")
    assert torch.equal(masked.floats(slice(5, 9)), apply_mask(images.floats(slice(5, 9)), mask, "shared"))
    with torch.no_grad():
        correct = sum(
            int(model(apply_mask(images.floats(slice(i, i + 1)), mask, "shared")).argmax() == images.labels[i])
            for i in range(len(images))
        )
    assert accuracy(model, masked, CPU) == correct / len(images)
    assert accuracy(model, FilteredImages.of(images, torch.ones(1, 1, 28, 28), "shared"), CPU) == pytest.approx(
        accuracy(model, images, CPU),
        abs=2 / len(images),  # an all-pass mask changes pixels by float rounding only
    )
