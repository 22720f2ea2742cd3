"""Attacks stay in their budget, DeepFool matches [P2]'s reference, success does not depend on rounding,
every backend and method of the registry is reachable, and bad parameters are refused before any job."""

import foolbox
import pytest
import torch
import torchattacks
import yaml

from freqmaps.attacks import (
    ATTACK_BACKENDS,
    SUCCESS_MARGIN,
    AttackConfigError,
    BatchedDeepFool,
    build_attack,
    check_attack,
    decisions,
    run_attack,
    torchattacks_methods,
)
from freqmaps.data import CIFAR10, FASHION_MNIST, ImageSet
from freqmaps.models import build_model, freeze
from tests.conftest import REPO

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def model_and_data(trained_cnn):
    model, test, _ = trained_cnn
    return model, ImageSet(test.images[:40], test.labels[:40], test.info)


def _check_summary(tensors, metrics):
    """The summary agrees with the stored tensors, and robust accuracy is RobustBench's."""
    correct = tensors["clean_predictions"] == tensors["labels"]
    success = correct & (tensors["adversarial_labels"] != tensors["labels"])
    assert bool((tensors["success"] <= success).all())  # success needs the adversarial label...
    assert bool((tensors["adversarial_margins"][tensors["success"]] > SUCCESS_MARGIN).all())  # ...and the margin
    assert metrics["n_success"] == int(tensors["success"].sum())
    assert metrics["success_rate"] == pytest.approx(tensors["success"].sum().item() / correct.sum().item())
    assert metrics["robust_accuracy"] == pytest.approx(metrics["clean_accuracy"] * (1 - metrics["success_rate"]))
    assert tensors["adversarial"].min() >= 0 and tensors["adversarial"].max() <= 1


@pytest.mark.parametrize(
    ("backend", "method", "params"),
    [
        ("torchattacks", "PGD", {"eps": 8 / 255, "alpha": 2 / 255, "steps": 10}),
        ("torchattacks", "FGSM", {"eps": 8 / 255}),
        ("torchattacks", "APGD", {"eps": 8 / 255, "steps": 10}),
        ("torchattacks", "Square", {"eps": 8 / 255, "n_queries": 100}),
        ("foolbox", "LinfPGD", {"eps": 8 / 255, "steps": 10}),
    ],
)
def test_linf_attacks_stay_in_their_eps_ball_and_pixel_range(model_and_data, backend, method, params):
    model, data = model_and_data
    torch.manual_seed(0)
    tensors, metrics = run_attack(model, data, method, params, CPU, backend=backend)
    assert (tensors["adversarial"] - tensors["clean"]).abs().max() <= params["eps"] + 1e-6
    _check_summary(tensors, metrics)
    assert metrics["backend"] == backend and metrics["n_success"] > 0, "8/255 should flip some Fashion-MNIST images"


def test_foolbox_pgd_matches_torchattacks_pgd(model_and_data):
    """Both backends' L-inf PGD at the same budget and step flip about the same share of images."""
    model, data = model_and_data
    rates = {}
    for backend, method, params in (
        ("torchattacks", "PGD", {"eps": 12 / 255, "alpha": 1 / 255, "steps": 20, "random_start": False}),
        ("foolbox", "LinfPGD", {"eps": 12 / 255, "abs_stepsize": 1 / 255, "steps": 20, "random_start": False}),
    ):
        _, metrics = run_attack(model, data, method, params, CPU, backend=backend)
        rates[backend] = metrics["success_rate"]
    assert rates["foolbox"] == pytest.approx(rates["torchattacks"], abs=0.1), rates
    assert rates["foolbox"] > 0.2


@pytest.mark.parametrize(
    ("method", "params"), [("LInfFMNAttack", {"steps": 50}), ("LinfDeepFoolAttack", {"steps": 50})]
)
def test_foolbox_minimal_norm_attacks(model_and_data, method, params):
    """[P2]'s attacks with epsilons=None: every success is smaller in L-inf than PGD's budget that flips it,
    they flip at least what L-inf PGD at 16/255 flips, and the norms are recorded as for torchattacks."""
    model, data = model_and_data
    tensors, metrics = run_attack(model, data, method, params, CPU, backend="foolbox")
    _check_summary(tensors, metrics)
    _, pgd = run_attack(model, data, "PGD", {"eps": 16 / 255, "alpha": 2 / 255, "steps": 20}, CPU)
    assert metrics["success_rate"] >= pgd["success_rate"] - 0.05
    ok = tensors["success"]
    linf = (tensors["adversarial"] - tensors["clean"]).flatten(1).abs().amax(1)
    assert torch.allclose(tensors["linf"][ok], linf[ok]) and metrics["linf_successful"]["max"] < 0.5
    assert metrics["linf_successful"]["median"] < 16 / 255  # minimal-norm: inside the budget PGD needs


def test_batched_deepfool_is_p2s_reference_and_its_success_does_not_depend_on_rounding(model_and_data):
    """Overshoot on the total perturbation as foolbox applies it; success judged with a margin, so evaluating
    the stored images alone, in another batch, or through the maps stage's FFT round trip changes nothing.
    torchattacks' DeepFool (per-step overshoot) leaves images on the boundary: its success rate, judged image by
    image as torchattacks judges it, is no higher than ours."""
    model, data = model_and_data
    x, y = data.floats(), data.labels
    ours = BatchedDeepFool(model, steps=50, overshoot=0.02)(x, y)
    fmodel = foolbox.PyTorchModel(model, bounds=(0, 1))
    _, reference, _ = foolbox.attacks.L2DeepFoolAttack(steps=50, candidates=None, overshoot=0.02)(
        fmodel, x, y, epsilons=None
    )
    assert (ours - reference).abs().max() < 1e-3
    correct = decisions(model, x, y, CPU)[0] == y
    outcome = {}
    for name, adversarial in (("ours", ours), ("foolbox", reference)):
        labels, margins = decisions(model, adversarial, y, CPU)
        outcome[name] = correct & (labels != y) & (margins > SUCCESS_MARGIN)
    assert torch.equal(outcome["ours"], outcome["foolbox"])
    labels, margins = decisions(model, ours, y, CPU)
    success = correct & (labels != y) & (margins > SUCCESS_MARGIN)
    single = torch.cat([decisions(model, ours[i : i + 1], y[i : i + 1], CPU, batch_size=1)[0] for i in range(len(y))])
    round_trip = decisions(model, torch.fft.ifft2(torch.fft.fft2(ours)).real, y, CPU)[0]
    assert torch.equal(single[success], labels[success]) and torch.equal(round_trip[success], labels[success])
    theirs = torchattacks.DeepFool(model, steps=50, overshoot=0.02)(x, y)
    theirs_alone = torch.cat([decisions(model, theirs[i : i + 1], y[i : i + 1], CPU)[0] for i in range(len(y))])
    their_rate = (correct & (theirs_alone != y)).sum() / correct.sum()
    our_rate = success.sum() / correct.sum()
    assert our_rate >= their_rate and our_rate > 0.9, (our_rate, their_rate)


def test_every_torchattacks_attack_is_registered_and_checked_against_its_signature(model_and_data):
    model, _ = model_and_data
    methods = torchattacks_methods()
    assert {"PGD", "FGSM", "DeepFool", "FAB", "CW", "APGD", "APGDT", "Square", "AutoAttack", "PGDL2"} <= set(methods)
    with pytest.raises(AttackConfigError, match=r"attacks\.a\.method: unknown torchattacks attack 'PDG'"):
        check_attack("a", {"method": "PDG"})
    with pytest.raises(AttackConfigError, match=r"attacks\.a\.params\.epsilon: torchattacks APGD .* valid: \[.*'eps'"):
        check_attack("a", {"method": "APGD", "params": {"epsilon": 0.1}})
    with pytest.raises(AttackConfigError, match=r"params\.n_classes: .*set by freqmaps"):
        check_attack("a", {"method": "APGDT", "params": {"n_classes": 3}})
    with pytest.raises(AttackConfigError, match=r"attacks\.a\.params: torchattacks LGV needs \['trainloader'"):
        check_attack("a", {"method": "LGV"})
    with pytest.raises(AttackConfigError, match=r"attacks\.a\.params\.eps: must be positive"):
        check_attack("a", {"method": "PGD", "params": {"eps": -0.1}})
    with pytest.raises(AttackConfigError, match=r"attacks\.a\.backend: unknown backend 'cleverhans'"):
        check_attack("a", {"backend": "cleverhans", "method": "PGD"})
    with pytest.raises(AttackConfigError, match=r"attacks\.a\.params: foolbox LinfPGD needs \['eps'\]"):
        check_attack("a", {"backend": "foolbox", "method": "LinfPGD"})
    with pytest.raises(AttackConfigError, match=r"unknown foolbox attack 'L2CarliniWagnerAttack'"):
        check_attack("a", {"backend": "foolbox", "method": "L2CarliniWagnerAttack"})


_CHEAP = {  # fewest steps/queries, so that building and running every attack stays fast
    "CW": {"steps": 2},
    "DeepFool": {"steps": 2},
    "EADEN": {"max_iterations": 10, "binary_search_steps": 1},
    "EADL1": {"max_iterations": 10, "binary_search_steps": 1},
    "OnePixel": {"steps": 1, "popsize": 2},
    "Pixle": {"restarts": 1, "max_iterations": 1},
    "SPSA": {"nb_sample": 2},
    "Square": {"n_queries": 5},
    "SparseFool": {"steps": 1},
    "LInfFMNAttack": {"steps": 2, "binary_search_steps": 1},
    "LinfDeepFoolAttack": {"steps": 2},
    "LinfPGD": {"steps": 2},
    "JSMA": {},
}
_SLOW = {
    "AutoAttack",
    "JSMA",
    "PGDRS",
    "PGDRSL2",
    "OnePixel",
    "Pixle",
    "SparseFool",
    "SPSA",
    "EADEN",
    "EADL1",
}  # run by hand


@pytest.mark.parametrize("backend", sorted(ATTACK_BACKENDS))
def test_every_method_of_every_backend_builds(backend):
    """Each registered method builds with its defaults (plus eps where needed) and attacks a tiny RGB batch
    (some torchattacks attacks, e.g. PIFGSM, take three channels only)."""
    torch.manual_seed(0)
    model = freeze(build_model("small_cnn", CIFAR10))
    x, y = torch.rand(2, 3, 32, 32), torch.tensor([0, 1])
    for method in sorted(ATTACK_BACKENDS[backend].methods()):
        if method == "LGV":  # needs a training loader: refused by check_attack (tested above)
            continue
        params = {"eps": 8 / 255} if method == "LinfPGD" else {}
        attack = build_attack(model, method, params | _CHEAP.get(method, {}), CIFAR10.num_classes, backend)
        if method not in _SLOW:
            out = attack(x, y)
            assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1, method


def test_schema_backends_equal_the_registry():
    schema = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
    attack = schema["properties"]["attacks"]["additionalProperties"]
    assert set(attack["properties"]["backend"]["enum"]) == set(ATTACK_BACKENDS)


def test_fab_gets_the_dataset_class_count(model_and_data):
    model, _ = model_and_data
    assert build_attack(model, "FAB", {"eps": 0.1, "steps": 5}, FASHION_MNIST.num_classes).n_target_classes == 9
    assert build_attack(model, "FAB", {"eps": 0.1, "steps": 5}, 5).n_target_classes == 4
