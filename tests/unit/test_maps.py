"""The batched map engine against the plain per-image algorithm, and its input checks."""

import copy

import pytest
import torch
from torch import nn

from freqmaps.data import FASHION_MNIST
from freqmaps.maps import MapSettings, learn_maps, reference_map
from freqmaps.models import build_model, freeze
from freqmaps.outcomes import KEPT, NAN_LOSS, TARGET_LOST

CPU = torch.device("cpu")


class BatchInvariantLinear(nn.Module):
    """The same affine map as nn.Linear, by multiply-and-sum: BLAS computes one row (gemv) and several
    rows (gemm) in different orders, this gives every row the same arithmetic at any batch size."""

    def __init__(self, linear: nn.Linear):
        super().__init__()
        self.weight, self.bias = linear.weight, linear.bias

    def forward(self, x):
        return (x[:, None, :] * self.weight[None]).sum(-1) + self.bias


@pytest.fixture(scope="module")
def mixed_batch():
    """An untrained CNN, 16 images (half smooth), and targets half of which the model predicts."""
    torch.manual_seed(0)
    model = build_model("small_cnn", FASHION_MNIST)
    model[1].head = BatchInvariantLinear(model[1].head)
    model = freeze(model)
    g = torch.Generator().manual_seed(1)
    x = torch.rand(16, 1, 28, 28, generator=g)
    x[:8] = nn.functional.avg_pool2d(x[:8], 5, 1, 2)
    y = torch.randint(0, 10, (16,), generator=g)
    with torch.no_grad():
        y[::2] = model(x[::2]).argmax(1)
    return model, x, y


@pytest.mark.parametrize(
    ("parameterisation", "dtype", "objective"),
    [
        ("per_channel", torch.float64, "essential"),
        # float32 is where kernels differ: `make test-numerics` runs this case under each (the others cost minutes)
        pytest.param("per_channel", torch.float32, "essential", marks=pytest.mark.numerics),
        ("hermitian", torch.float32, "essential"),
        ("per_channel", torch.float64, "invariance"),
    ],
)
def test_batched_engine_equals_per_image_reference(mixed_batch, parameterisation, dtype, objective):
    """Same step counts and kept decisions, and the same masks, on a batch smaller than the image count
    (slots are refilled) with images that converge early and images that run to max_steps.

    Kernels are not batch-invariant: oneDNN picks convolution algorithms by batch size, BLAS treats one
    row differently from several, and the convolution's input gradient differs by ~1e-7 relative between
    batch sizes in fp32. Adam divides by the root of the squared gradient, so where a gradient is close to
    zero that rounding can move a mask entry by up to lr per step. Both sides therefore run native
    convolutions and a multiply-and-sum head, and the test asks for: every entry within 1e-5 in fp64;
    in fp32, for the half-spectrum mask and for [P1]'s invariance loss (whose gradient vanishes wherever the
    masked and clean losses agree), a mean difference within 1e-5."""
    model, x, y = mixed_batch
    model, x, y = copy.deepcopy(model).to(dtype), x[:10].to(dtype), y[:10]
    settings = MapSettings(
        lam=0.001, lr=0.05, min_steps=20, max_steps=50, batch_size=4, parameterisation=parameterisation
    )
    if objective == "invariance":  # [P1]'s single-image maps: own loss, and the prediction must hold at the stop
        settings = MapSettings(
            lam=0.5,
            lr=0.05,
            min_steps=20,
            max_steps=50,
            batch_size=4,
            objective="invariance",
            require_target=True,
            window=2,
            tol=5e-7,
        )
    with torch.backends.mkldnn.flags(enabled=False):
        batched = learn_maps(model, x, y, settings, CPU, 10, progress=False, layout="unshifted")
        reference = [reference_map(model, x[i], int(y[i]), settings, CPU) for i in range(len(x))]
    steps = torch.tensor([r[1] for r in reference])
    kept = torch.tensor([r[2] for r in reference])
    assert torch.equal(batched.steps, steps)
    assert torch.equal(batched.kept, kept)
    assert (steps < settings.max_steps).any() and (steps == settings.max_steps).any(), "need both kinds"
    assert steps.max() == settings.max_steps  # issue 30.6: max_steps is the number of updates at most
    if objective == "essential":
        assert kept.any() and (~kept).any(), "need kept and dropped maps"
    difference = torch.stack([(batched.masks[i] - r[0].float()).abs() for i, r in enumerate(reference)])
    if dtype == torch.float64 and parameterisation == "per_channel" and objective == "essential":
        assert difference.max() <= 1e-5
    else:
        assert difference.mean() <= 1e-5


@pytest.mark.numerics
def test_map_is_kept_only_when_target_still_predicted(mixed_batch):
    model, x, y = mixed_batch
    settings = MapSettings(lam=0.05, min_steps=10, max_steps=60, batch_size=16)
    result = learn_maps(model, x, y, settings, CPU, 10, progress=False, layout="unshifted")
    from freqmaps.fourier import apply_mask

    with torch.no_grad():
        predicted = model(apply_mask(x, result.masks, "per_channel")).argmax(1)
    assert torch.equal(result.outcome == KEPT, predicted == y)
    assert torch.equal(result.outcome == TARGET_LOST, predicted != y)
    assert ((result.masks >= 0) & (result.masks <= 1)).all()


@pytest.mark.numerics
def test_nan_loss_drops_only_that_image():
    class NanForBrightImages(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(28 * 28, 10)

        def forward(self, x):
            logits = self.linear(x.flatten(1))
            bright = x.flatten(1).mean(1, keepdim=True) > 0.7
            return torch.where(bright, torch.full_like(logits, float("nan")), logits)

    torch.manual_seed(0)
    model = freeze(NanForBrightImages())
    x = torch.rand(5, 1, 28, 28) * 0.5
    x[2] = 0.9  # the only image whose logits are NaN
    y = torch.zeros(5, dtype=torch.long)
    result = learn_maps(model, x, y, MapSettings(min_steps=5, max_steps=20, batch_size=2), CPU, 10, progress=False)
    assert result.outcome[2] == NAN_LOSS
    assert (result.outcome[[0, 1, 3, 4]] != NAN_LOSS).all()
    assert (result.steps[[0, 1, 3, 4]] > 5).all()


@pytest.mark.parametrize(
    ("images", "targets", "message"),
    [
        (torch.rand(3, 1, 28, 28), torch.zeros(2, dtype=torch.long), "targets must be"),
        (torch.rand(3, 1, 28, 28), torch.tensor([0, 1, 10]), "0..9"),
        (torch.rand(3, 28, 28), torch.zeros(3, dtype=torch.long), "N, C, H, W"),
        (torch.tensor(float("nan")).expand(2, 1, 28, 28), torch.zeros(2, dtype=torch.long), "NaN"),
    ],
)
def test_bad_inputs_are_rejected_before_optimising(images, targets, message):
    model = freeze(build_model("small_cnn", FASHION_MNIST))
    with pytest.raises(ValueError, match=message):
        learn_maps(model, images, targets, MapSettings(), CPU, 10, progress=False)


def test_settings_reject_unknown_values():
    with pytest.raises(ValueError, match="maps.parameterisation"):
        MapSettings(parameterisation="polar")
    with pytest.raises(ValueError, match="maps.precision"):
        MapSettings(precision="fp8")
    with pytest.raises(ValueError, match="maps.lr"):
        MapSettings(lr=0)


def test_empty_input_gives_empty_result():
    model = freeze(build_model("small_cnn", FASHION_MNIST))
    result = learn_maps(model, torch.rand(0, 1, 28, 28), torch.zeros(0, dtype=torch.long), MapSettings(), CPU, 10)
    assert result.masks.shape == (0, 1, 28, 28)


def test_images_that_do_not_fit_the_classifier_are_named():
    model = freeze(build_model("small_cnn", FASHION_MNIST))  # one input channel
    with pytest.raises(ValueError, match=r"images of shape \(3, 28, 28\) do not fit the classifier"):
        learn_maps(model, torch.rand(2, 3, 28, 28), torch.zeros(2, dtype=torch.long), MapSettings(), CPU, 10)
    with pytest.raises(ValueError, match="10 outputs but the dataset has 5 classes"):
        learn_maps(model, torch.rand(2, 1, 28, 28), torch.zeros(2, dtype=torch.long), MapSettings(), CPU, 5)


@pytest.mark.parametrize("option", ["channels_last", "compile"])
def test_speed_options_leave_the_maps_unchanged(mixed_batch, option):
    """channels_last (another memory layout for the convolutions) and torch.compile (fused kernels) change
    the arithmetic order only: in fp64 the same step counts, kept decisions and masks within 1e-6."""
    model, x, y = mixed_batch
    model, x = copy.deepcopy(model).double(), x.double()
    base = MapSettings(lam=0.001, min_steps=10, max_steps=40, batch_size=16)
    plain = learn_maps(model, x, y, base, CPU, 10, progress=False)
    fast = learn_maps(model, x, y, MapSettings(**{**base.__dict__, option: True}), CPU, 10, progress=False)
    assert torch.equal(fast.steps, plain.steps) and torch.equal(fast.kept, plain.kept)
    assert (fast.masks - plain.masks).abs().max() <= 1e-6


def test_fp32_is_strict_and_tf32_is_an_explicit_choice(mixed_batch):
    """maps.precision fp32 switches TF32 off for the run (cuDNN would use it for convolutions by default), tf32
    on, and both restore the caller's flags; on the CPU, where TF32 does not exist, the maps are identical."""
    model, x, y = mixed_batch
    seen = {}

    class Spy(nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, images):
            seen["flags"] = (torch.backends.cuda.matmul.fp32_precision, torch.backends.cudnn.conv.fp32_precision)
            return self.inner(images)

    before = (torch.backends.cuda.matmul.fp32_precision, torch.backends.cudnn.conv.fp32_precision)
    results = {}
    for precision, expected in (("fp32", ("ieee", "ieee")), ("tf32", ("tf32", "tf32"))):
        settings = MapSettings(lam=0.001, min_steps=5, max_steps=10, batch_size=16, precision=precision)
        results[precision] = learn_maps(Spy(model), x, y, settings, CPU, 10, progress=False)
        assert seen["flags"] == expected
        assert (torch.backends.cuda.matmul.fp32_precision, torch.backends.cudnn.conv.fp32_precision) == before
    assert torch.equal(results["fp32"].masks, results["tf32"].masks)


def test_a_map_from_the_api_equals_the_map_its_workflow_file_stores(tmp_path):
    """Issue 30: learn_maps returned unshifted masks while every file stores shifted ones (a raw cosine of the
    two was about 0). One convention: the API returns what the files store, cosine 1.0 map by map."""
    from safetensors.torch import save_file

    from freqmaps.data import dataset_info
    from freqmaps.io import load_tensors
    from freqmaps.models import build_model
    from freqmaps.stages.learn_maps import learn_maps_shard
    from freqmaps.stats import cosine_per_image, features
    from freqmaps.training import TrainSettings, load_classifier, save_classifier

    n = 6
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, 1, 16, 16), dtype=torch.uint8, generator=g)
    cfg = {"source": "tensors", "root": str(tmp_path), "mean": [0.5], "std": [0.25], "class_names": list("abcd")}
    cfg |= {"n_test_images": n, "selection": "first"}
    for split in ("train", "test"):
        save_file({"images": images, "labels": torch.arange(n) % 4}, str(tmp_path / f"{split}.safetensors"))
    info = dataset_info("tiny", cfg)
    torch.manual_seed(0)
    weights = tmp_path / "model.safetensors"
    save_classifier(
        build_model("small_cnn", info), weights, info=info, settings=TrainSettings(), metrics={}, device=CPU, seed=0
    )
    model = load_classifier(weights, info, CPU)
    x = images.float() / 255
    with torch.no_grad():
        predicted = model(x).argmax(1)
    save_file({"images": images, "labels": predicted}, str(tmp_path / "test.safetensors"))  # every image correct
    settings = {"lam": 0.05, "min_steps": 5, "max_steps": 30, "batch_size": n}
    learn_maps_shard(
        kind="essential",
        dataset="tiny",
        data_cfg=cfg,
        weights_path=weights,
        map_cfg=settings,
        shard="1-of-1",
        seed=0,
        device="cpu",
        out_path=tmp_path / "essential.safetensors",
    )
    stored, _ = load_tensors(tmp_path / "essential.safetensors")
    api = learn_maps(model, x, predicted, MapSettings(**settings), CPU, 4, progress=False)
    assert api.layout == "shifted" and len(stored["maps"]) == n
    cosine = cosine_per_image(features(api.masks), features(stored["maps"]))
    assert torch.allclose(cosine, torch.ones(n, dtype=cosine.dtype), atol=1e-6), cosine
    unshifted = learn_maps(model, x, predicted, MapSettings(**settings), CPU, 4, progress=False, layout="unshifted")
    assert torch.equal(torch.fft.fftshift(unshifted.masks, dim=(-2, -1)), api.masks)
    with pytest.raises(ValueError, match="layout: 'centred' is not one of"):
        learn_maps(model, x, predicted, MapSettings(**settings), CPU, 4, progress=False, layout="centred")
