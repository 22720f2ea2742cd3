"""Attacks stay in their budget, DeepFool matches torchattacks, and bad parameters are refused."""

import pytest
import torch
import torchattacks

from freqmaps.attacks import BatchedDeepFool, build_attack, run_attack
from freqmaps.data import FASHION_MNIST, ImageSet

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def model_and_data(trained_cnn):
    model, test, _ = trained_cnn
    return model, ImageSet(test.images[:40], test.labels[:40], test.info)


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("PGD", {"eps": 8 / 255, "alpha": 2 / 255, "steps": 10}),
        ("FGSM", {"eps": 8 / 255}),
    ],
)
def test_linf_attacks_stay_in_their_eps_ball_and_pixel_range(model_and_data, method, params):
    model, data = model_and_data
    torch.manual_seed(0)
    tensors, metrics = run_attack(model, data, method, params, CPU)
    delta = tensors["adversarial"] - tensors["clean"]
    assert delta.abs().max() <= params["eps"] + 1e-6
    assert tensors["adversarial"].min() >= 0 and tensors["adversarial"].max() <= 1
    # the summary agrees with the stored labels
    correct = tensors["clean_predictions"] == tensors["labels"]
    success = correct & (tensors["adversarial_labels"] != tensors["labels"])
    assert metrics["n_success"] == int(success.sum())
    assert metrics["success_rate"] == pytest.approx(success.sum().item() / correct.sum().item())
    assert metrics["n_success"] > 0, "a PGD/FGSM attack at 8/255 should flip some Fashion-MNIST images"


def test_batched_deepfool_matches_torchattacks(model_and_data):
    model, data = model_and_data
    x, y = data.floats()[:12], data.labels[:12]
    ours = BatchedDeepFool(model, steps=10, overshoot=0.02)(x, y)
    theirs = torchattacks.DeepFool(model, steps=10, overshoot=0.02)(x, y)
    assert torch.allclose(ours, theirs, atol=1e-5)
    # DeepFool stops just past the decision boundary (overshoot 0.02), so 1e-7 differences can flip a
    # label there; most images must still get the same adversarial label.
    assert (model(ours).argmax(1) == model(theirs).argmax(1)).float().mean() >= 0.75


def test_unknown_attack_and_parameters_are_refused(model_and_data):
    model, _ = model_and_data
    with pytest.raises(ValueError, match="unknown attack 'PDG'"):
        build_attack(model, "PDG", {}, 10)
    with pytest.raises(ValueError, match="epsilon"):
        build_attack(model, "PGD", {"epsilon": 0.1}, 10)
    with pytest.raises(ValueError, match="eps must be positive"):
        build_attack(model, "PGD", {"eps": -0.1}, 10)


def test_fab_gets_the_dataset_class_count(model_and_data):
    model, _ = model_and_data
    assert build_attack(model, "FAB", {"eps": 0.1, "steps": 5}, FASHION_MNIST.num_classes).n_target_classes == 9
    assert build_attack(model, "FAB", {"eps": 0.1, "steps": 5}, 5).n_target_classes == 4
