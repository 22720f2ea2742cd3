"""Attacks stay in their budget, DeepFool matches [P2]'s reference, success does not depend on rounding, batch,
CPU kernel or implementation (images built to sit at chosen margins from the boundary), every backend and method
of the registry is reachable, and bad parameters are refused before any job."""

import re

import foolbox
import pytest
import torch
import torchattacks
import yaml
from torch import nn

from freqmaps.attacks import (
    ATTACK_BACKENDS,
    BOUNDARY_BAND,
    LEAVE_BAND_SCALES,
    MEASURED_NOISE,
    OVERSHOOT_MARGIN,
    AttackConfigError,
    BatchedDeepFool,
    attack_outcomes,
    build_attack,
    check_attack,
    decisions,
    judge_success,
    leave_boundary_band,
    run_attack,
    torchattacks_methods,
    try_attack,
)
from freqmaps.attacks.backend import keyword_parameters
from freqmaps.data import CIFAR10, FASHION_MNIST, DatasetInfo, ImageSet
from freqmaps.models import build_model, freeze
from tests.conftest import REPO

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def model_and_data(fixed_cnn):
    """The fixed checkpoint (the same weights on every CPU) and its first 40 test images."""
    model, test, _ = fixed_cnn
    return model, ImageSet(test.images[:40], test.labels[:40], test.info)


def _check_summary(tensors, metrics):
    """The summary agrees with the stored tensors, and robust accuracy is RobustBench's."""
    correct = tensors["clean_predictions"] == tensors["labels"]
    success = correct & (tensors["adversarial_labels"] != tensors["labels"])
    assert bool((tensors["success"] <= success).all())  # success needs the adversarial label...
    assert bool((tensors["adversarial_margins"][tensors["success"]] > BOUNDARY_BAND).all())  # ...beyond the band
    assert not bool((tensors["success"] & tensors["on_boundary"]).any())
    assert metrics["n_success"] == int(tensors["success"].sum())
    assert metrics["n_success"] + metrics["n_on_boundary"] + metrics["n_attack_failed"] == int(correct.sum())
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


# ------------------------------------------------------------------ the success rule under numerical noise
# A stated tolerance for comparing judgements made by two implementations, batches or CPU kernels: the band's
# edges +- ten times the largest margin change measured (docs/METHOD.md §3). Outside it decisions must agree.
TOLERANCE = 10 * MEASURED_NOISE


def _outside_the_band(*margins: torch.Tensor) -> torch.Tensor:
    """Images whose margins all lie outside the boundary band by more than TOLERANCE."""
    outside = torch.ones_like(margins[0], dtype=torch.bool)
    for m in margins:
        outside &= m.abs() > BOUNDARY_BAND + TOLERANCE
    return outside


def _clear_of_the_band_edges(*margins: torch.Tensor) -> torch.Tensor:
    """Images whose margins all lie farther than TOLERANCE from both edges of the boundary band."""
    clear = torch.ones_like(margins[0], dtype=torch.bool)
    for m in margins:
        clear &= ((m.abs() - BOUNDARY_BAND).abs() > TOLERANCE) & ~m.isnan()
    return clear


class Linear(nn.Module):
    """f(x) = W x + b on the flattened 1x4x4 image, three classes: f_0 = x_0 - 1/2, f_1 = 0 and f_2 = -1/2 + 0.02
    times the sum of the other pixels (at most -0.35 for pixels up to 1/2, never the closest class). The relative
    margin of label 1 is x_0 - 1/2 wherever that is above -0.35 (logits below 1 in size)."""

    def __init__(self, dtype: torch.dtype = torch.float32):
        super().__init__()
        self.linear = nn.Linear(16, 3).to(dtype)
        with torch.no_grad():
            self.linear.weight.zero_()
            self.linear.bias.copy_(torch.tensor([-0.5, 0.0, -0.5]))
            self.linear.weight[0, 0] = 1.0
            self.linear.weight[2, 1:] = 0.02  # a third class, never the closest, that every image feeds
        self.dtype = dtype

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x.flatten(1).to(self.dtype)).float()


def _images_at(margins: list[float]) -> torch.Tensor:
    """1x4x4 images whose label-1 margin under :class:`Linear` is each of ``margins``."""
    x = torch.rand(len(margins), 1, 4, 4, generator=torch.Generator().manual_seed(0)) * 0.5
    x[:, 0, 0, 0] = 0.5 + torch.tensor(margins)
    return x


def test_the_success_rule_on_constructed_margins():
    """Known answers: beyond the band on both sides a success, within it on the boundary, below it a failure;
    a clean image within the band is on the boundary whatever the attack did; a misclassified one is neither."""
    t = BOUNDARY_BAND
    clean = torch.tensor([-0.3, -0.3, -0.3, -0.3, -0.3, -0.3, -t / 2, -t / 2, 0.3])
    attacked = torch.tensor([2 * t, t / 2, 0.0, -t / 2, -2 * t, torch.nan, 1.0, -1.0, 1.0])
    correct = clean < 0
    success, on_boundary = attack_outcomes(correct, clean, attacked)
    assert success.tolist() == [True, False, False, False, False, False, False, False, False]
    assert on_boundary.tolist() == [False, True, True, True, False, False, True, True, False]
    # through the model: images built at those margins are judged the same in float32, float64 and any batch
    model = freeze(Linear())
    labels = torch.ones(len(clean), dtype=torch.long)
    judged = judge_success(
        model, _images_at(clean.tolist()), _images_at(attacked.nan_to_num(-1.0).tolist()), labels, CPU
    )
    assert judged["success"].tolist() == success.tolist()
    assert judged["on_boundary"].tolist() == [False, True, True, True, False, False, True, True, False]


@pytest.mark.numerics
def test_success_does_not_depend_on_implementation_batch_or_precision_near_the_boundary():
    """Clean images built at margins from -0.3 to -tau/2 (some within the band), attacked by the batched DeepFool
    on the whole batch, one image at a time, in reversed order and in float64, and by foolbox's DeepFool with the
    band left behind: every implementation's images end beyond OVERSHOOT_MARGIN or on the boundary, and every
    judgement (any batching, float32 or float64) marks the same images successes and the same on the boundary."""
    t = BOUNDARY_BAND
    clean_margins = [-0.3, -0.01, -1e-3, -10 * t, -3 * t, -1.5 * t, -1.2 * t, -0.8 * t, -t / 2, -2 * t]
    x, y = _images_at(clean_margins), torch.ones(len(clean_margins), dtype=torch.long)
    model32, model64 = freeze(Linear()), freeze(Linear(torch.float64))
    whole = BatchedDeepFool(model32, steps=50, overshoot=0.02)(x, y)
    attacked = {
        "whole": whole,
        "one_by_one": torch.cat(
            [BatchedDeepFool(model32, steps=50, overshoot=0.02)(x[i : i + 1], y[i : i + 1]) for i in range(len(y))]
        ),
        "reversed": BatchedDeepFool(model32, steps=50, overshoot=0.02)(x.flip(0), y.flip(0)).flip(0),
        "float64": BatchedDeepFool(model64, steps=50, overshoot=0.02)(x, y),
        "foolbox": build_attack(model32, "LinfDeepFoolAttack", {"steps": 50}, 3, "foolbox")(x, y),
    }
    expected_boundary = torch.tensor([abs(m) <= t for m in clean_margins])
    for name, adversarial in attacked.items():
        for model in (model32, model64):
            for batch_size in (1, 3, 512):
                clean_labels, clean_m = decisions(model, x, y, CPU, batch_size)
                labels, margins = decisions(model, adversarial, y, CPU, batch_size)
                success, on_boundary = attack_outcomes(clean_labels == y, clean_m, margins)
                assert torch.equal(success, ~expected_boundary), (name, batch_size, margins)
                assert torch.equal(on_boundary, expected_boundary), (name, batch_size, margins)
                assert bool((margins[success] > OVERSHOOT_MARGIN - TOLERANCE).all()), (name, margins)


@pytest.mark.numerics
def test_leave_boundary_band_scales_each_perturbation_just_enough():
    """Adversarial images built at margins within (0, OVERSHOOT_MARGIN] move along their own perturbation by the
    first listed scale that takes them beyond OVERSHOOT_MARGIN; images already beyond it, or not misclassified,
    stay where they are."""
    t = BOUNDARY_BAND
    clean = _images_at([-0.01] * 6)
    adversarial = clean.clone()
    adversarial[:, 0, 0, 0] = 0.5 + torch.tensor([t / 2, 2 * t, 3.9 * t, 10 * t, -0.005, -t / 2])
    labels = torch.ones(6, dtype=torch.long)
    model = freeze(Linear())
    moved = leave_boundary_band(model, clean, adversarial, labels, CPU)
    _, margins = decisions(model, moved, labels, CPU)
    assert bool((margins[:4] > OVERSHOOT_MARGIN).all()) and torch.equal(moved[3:], adversarial[3:])
    for i in range(3):
        scale = ((moved[i] - clean[i]).norm() / (adversarial[i] - clean[i]).norm()).item()
        first = next(s for s in LEAVE_BAND_SCALES if -0.01 + s * (0.01 + [t / 2, 2 * t, 3.9 * t][i]) > OVERSHOOT_MARGIN)
        assert scale == pytest.approx(first, rel=1e-4), (i, scale, first)


@pytest.mark.numerics
def test_batched_deepfool_is_p2s_reference_and_its_success_does_not_depend_on_rounding(model_and_data):
    """Overshoot on the total perturbation as foolbox applies it: where foolbox's DeepFool ends clearly beyond
    OVERSHOOT_MARGIN both stopped at the same step and their images agree. Ours goes on past OVERSHOOT_MARGIN, so
    its successes lie far outside the boundary band, and judging the stored images alone or through the maps
    stage's FFT round trip moves no margin by more than TOLERANCE and changes no outcome. Foolbox's DeepFool stops
    once the label flips, often within the band: its images there are on the boundary, never failures where ours
    succeeded; wherever both implementations' margins lie outside the band (by TOLERANCE) their decisions agree,
    and once :func:`leave_boundary_band` has moved foolbox's images (as the foolbox backend does) both mark the
    same images successes. Properties any reasonably trained model has: no claim on which images are fooled."""
    model, data = model_and_data
    x, y = data.floats()[:20], data.labels[:20]  # 20 images: `make test-numerics` runs this 2 x (capabilities)
    ours = BatchedDeepFool(model, steps=50, overshoot=0.02)(x, y)
    fmodel = foolbox.PyTorchModel(model, bounds=(0, 1))
    _, reference, _ = foolbox.attacks.L2DeepFoolAttack(steps=50, candidates=None, overshoot=0.02)(
        fmodel, x, y, epsilons=None
    )
    clean_labels, clean_margins = decisions(model, x, y, CPU)
    correct = clean_labels == y
    judged = {}
    for name, adversarial in (
        ("ours", ours),
        ("foolbox", reference),
        ("foolbox_moved", leave_boundary_band(model, x, reference, y, CPU)),
    ):
        margins = decisions(model, adversarial, y, CPU)[1]
        judged[name] = (margins, *attack_outcomes(correct, clean_margins, margins))
    (m_ours, success, on_boundary), (m_ref, ref_success, ref_on_boundary) = judged["ours"], judged["foolbox"]
    same_stop = m_ref > 2 * OVERSHOOT_MARGIN
    assert (ours - reference)[same_stop].abs().max() < 1e-3
    # ours: every correctly classified image clear of the band ends beyond OVERSHOOT_MARGIN (50 steps suffice)
    clear_clean = correct & (clean_margins < -BOUNDARY_BAND - TOLERANCE)
    assert clear_clean.sum() >= 5, "too few correctly classified images to compare"
    assert bool((m_ours[clear_clean] > OVERSHOOT_MARGIN - TOLERANCE).all()), m_ours[clear_clean].min()
    assert torch.equal(success, clear_clean)
    # the two implementations agree outside the band; within it foolbox's images are on the boundary
    outside = _outside_the_band(clean_margins, m_ours, m_ref)
    assert torch.equal(success[outside], ref_success[outside]) and not bool(on_boundary[outside].any())
    near_an_edge = ~_clear_of_the_band_edges(m_ref)
    assert bool((success <= ref_success | ref_on_boundary | near_an_edge).all())
    m_moved, moved_success, _ = judged["foolbox_moved"]
    assert torch.equal(moved_success, success), (m_moved, m_ours)
    # the stored images judged again: one at a time, and through the FFT round trip of the maps stage
    single = torch.cat([decisions(model, ours[i : i + 1], y[i : i + 1], CPU, batch_size=1)[1] for i in range(len(y))])
    round_trip = decisions(model, torch.fft.ifft2(torch.fft.fft2(ours)).real, y, CPU)[1]
    for margins in (single, round_trip):
        assert (margins - m_ours).abs().max() < TOLERANCE
        assert torch.equal(attack_outcomes(correct, clean_margins, margins)[0], success)


def test_batched_deepfool_flips_at_least_what_torchattacks_deepfool_flips(model_and_data):
    """torchattacks' DeepFool (per-step overshoot) leaves images on the boundary: its success rate, judged image
    by image by argmax as torchattacks judges it, is no higher than ours beyond the band."""
    model, data = model_and_data
    x, y = data.floats(), data.labels
    correct = decisions(model, x, y, CPU)[0] == y
    tensors = judge_success(model, x, BatchedDeepFool(model, steps=50, overshoot=0.02)(x, y), y, CPU)
    theirs = torchattacks.DeepFool(model, steps=50, overshoot=0.02)(x, y)
    theirs_alone = torch.cat([decisions(model, theirs[i : i + 1], y[i : i + 1], CPU)[0] for i in range(len(y))])
    their_rate = (correct & (theirs_alone != y)).sum() / correct.sum()
    our_rate = tensors["success"].sum() / correct.sum()
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


_TINY_RGB = DatasetInfo("tiny_rgb", 10, 3, 8, (0.0,) * 3, (1.0,) * 3, tuple("abcdefghij"))
_REGISTERED = [
    (backend, method) for backend in sorted(ATTACK_BACKENDS) for method in ATTACK_BACKENDS[backend].methods()
]
_REFUSED_WITH_DEFAULTS = {"LGV": "needs ['trainloader']", "VANILA": "changes no pixel"}  # the identity attack


@pytest.mark.parametrize(("backend", "method"), _REGISTERED, ids=[f"{b}-{m}" for b, m in _REGISTERED])
def test_every_registered_attack_is_tried_on_a_stand_in_and_its_bad_values_refused(backend, method):
    """Issue 29.6: the check before any job builds each configured attack on a stand-in model of the dataset's
    inputs and attacks one image: every method of every back-end passes with its defaults (cheap settings where
    the defaults are slow), and a string where the method's default is a number is refused, naming the key."""
    params = ({"eps": 8 / 255} if method in ATTACK_BACKENDS[backend].needs_extra else {}) | _CHEAP.get(method, {})
    cfg = {"backend": backend, "method": method, "params": params}
    if method in _REFUSED_WITH_DEFAULTS:
        with pytest.raises(AttackConfigError, match=re.escape(_REFUSED_WITH_DEFAULTS[method])):
            try_attack("a", cfg, _TINY_RGB)
        return
    try_attack("a", cfg, _TINY_RGB)  # a warning at most (cheap settings may change no pixel)
    defaults = keyword_parameters(ATTACK_BACKENDS[backend].methods()[method])
    numeric = [k for k, p in defaults.items() if type(p.default) in (int, float) and k not in ("n_classes", "seed")]
    if numeric:
        key = numeric[0]
        bad = {**cfg, "params": {**params, key: "big"}}
        with pytest.raises(AttackConfigError, match=rf"attacks\.a\.params\.{key}: 'big' is not a number"):
            try_attack("a", bad, _TINY_RGB)


@pytest.mark.parametrize(
    ("method", "params", "info", "refusal"),
    [
        (
            "EOTPGD",
            {"eot_iter": 1.0},
            FASHION_MNIST,
            r"\.params\.eot_iter: torchattacks EOTPGD cannot run with eot_iter: 1\.0",
        ),
        ("EOTPGD", {"eot_iter": 0}, FASHION_MNIST, r"\.params\.eot_iter: must be positive, got 0"),
        ("APGD", {"loss": "foo"}, FASHION_MNIST, r"\.params\.loss: torchattacks APGD cannot run with loss: 'foo'"),
        ("TIFGSM", {"kernel_name": "bogus"}, CIFAR10, r"\.params\.kernel_name: torchattacks TIFGSM cannot run"),
        ("TIFGSM", {}, FASHION_MNIST, r"\.method: torchattacks TIFGSM cannot attack the fashion_mnist images \(1×28"),
        ("Square", {"p_init": "big"}, FASHION_MNIST, r"\.params\.p_init: 'big' is not a number"),
        ("PGD", {"random_start": 1}, FASHION_MNIST, r"\.params\.random_start: 1 is not true or false"),
    ],
)
def test_attack_values_that_used_to_fail_inside_the_job_are_refused_naming_the_parameter(method, params, info, refusal):
    """Issue 29.6: each of these passed the check and failed (TypeError, ValueError, NotImplementedError) or
    attacked nothing in the attack job, after training."""
    with pytest.raises(AttackConfigError, match=rf"^attacks\.a{refusal}"):
        try_attack("a", {"method": method, "params": params}, info)


def test_too_few_steps_to_change_a_pixel_is_a_warning_not_a_refusal():
    """Settings that change no pixel of the stand-in's image, where the defaults do, may still fool a real model
    rarely: said, not refused."""
    warning = try_attack("a", {"method": "EADEN", "params": _CHEAP["EADEN"]}, _TINY_RGB)
    assert warning and warning.startswith("attacks.a.params: torchattacks EADEN with") and "changed no pixel" in warning
    assert try_attack("a", {"method": "PGD", "params": {"eps": 0.03, "steps": 2}}, _TINY_RGB) is None


def test_schema_backends_equal_the_registry():
    schema = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
    attack = schema["properties"]["attacks"]["additionalProperties"]
    assert set(attack["properties"]["backend"]["enum"]) == set(ATTACK_BACKENDS)


def test_fab_gets_the_dataset_class_count(model_and_data):
    model, _ = model_and_data
    assert build_attack(model, "FAB", {"eps": 0.1, "steps": 5}, FASHION_MNIST.num_classes).n_target_classes == 9
    assert build_attack(model, "FAB", {"eps": 0.1, "steps": 5}, 5).n_target_classes == 4
