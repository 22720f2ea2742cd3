"""Model sources, weights files and training modes: every registry entry builds and runs, the schema's names equal
the registries' keys, checkpoints the tests write load exactly, and bad weights files are refused by name."""

from __future__ import annotations

import hashlib
import pickle
import sys
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import save_file
from torch import nn

from freqmaps.data import CIFAR10, FASHION_MNIST, DatasetInfo, ImageSet
from freqmaps.io import read_json, sidecar_path
from freqmaps.models import (
    BUILTIN_ARCHITECTURES,
    SOURCES,
    InputSpec,
    ModelSpec,
    build_architecture,
    check_model,
    import_robustbench,
    load_weights,
    model_input_spec,
    weights_inputs,
)
from freqmaps.runtime import seed_everything
from freqmaps.training import (
    TRAINING_MODES,
    TRAINING_VARIANTS,
    TrainSettings,
    check_model_config,
    classifier_input_spec,
    load_classifier,
    save_classifier,
    train_classifier,
)
from freqmaps.weights import WeightsError
from tests.conftest import REPO

CPU = torch.device("cpu")
SCHEMA = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
MODEL_SCHEMA = SCHEMA["properties"]["models"]["additionalProperties"]
ZOO = {"zoo_dataset": "cifar10", "threat_model": "Linf"}


def example_config(source: str) -> dict:
    entry = SOURCES[source]
    return {"source": source, entry.example_key: entry.example, "options": dict(entry.example_options)} | (
        ZOO if source == "robustbench" else {}
    )


# ------------------------------------------------------------------ registries against the schema


# the names against the registries: tests/unit/test_config.py, test_schema_names_equal_the_registry_keys


def test_builtin_models_take_the_shared_architecture_names():
    (builtin,) = [c for c in MODEL_SCHEMA["allOf"] if c["if"]["properties"]["source"].get("const") == "builtin"]
    assert builtin["then"]["properties"]["arch"] == {"$ref": "#/$defs/arch"}


@pytest.mark.parametrize("source", list(SOURCES))
@pytest.mark.parametrize("info", [CIFAR10, FASHION_MNIST], ids=["rgb", "gray"])
def test_every_source_builds_and_classifies_a_tiny_input(source, info):
    cfg = example_config(source)
    check_model("m", cfg | ({"model_dir": "/nonexistent", "download": True} if source == "robustbench" else {}))
    model = build_architecture(ModelSpec.from_config(cfg), info).eval()
    with torch.no_grad():
        logits = model(torch.rand(2, info.channels, 32, 32))
    assert logits.shape == (2, info.num_classes) and torch.isfinite(logits).all()


@pytest.mark.parametrize("arch", list(BUILTIN_ARCHITECTURES))
def test_every_builtin_architecture_takes_the_dataset_channels(arch):
    model = build_architecture(ModelSpec(arch=arch), FASHION_MNIST).eval()
    assert model(torch.rand(2, 1, 32, 32)).shape == (2, 10)


# ------------------------------------------------------------------ input resolution and normalisation


def test_input_spec_is_the_weights_own_for_pretrained_and_the_datasets_from_scratch():
    scratch = model_input_spec({"source": "torchvision", "arch": "resnet18"}, FASHION_MNIST)
    assert (scratch.size, scratch.channels, scratch.mean) == (28, 3, FASHION_MNIST.mean * 3)
    imagenet = model_input_spec({"source": "torchvision", "arch": "vit_b_16", "pretrained": "IMAGENET1K_V1"}, CIFAR10)
    assert (imagenet.size, imagenet.mean, imagenet.std) == (224, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
    timm_cfg = model_input_spec({"source": "timm", "arch": "test_vit", "weights": "w.safetensors"}, CIFAR10)
    assert (timm_cfg.size, timm_cfg.mean) == (160, (0.5, 0.5, 0.5))  # timm's pretrained_cfg of test_vit
    zoo = model_input_spec({"source": "robustbench", "arch": "Standard", **ZOO}, CIFAR10)
    assert (zoo.size, zoo.mean, zoo.std) == (32, (0.0,) * 3, (1.0,) * 3)  # RobustBench models take [0, 1]
    given = model_input_spec({"arch": "small_cnn", "input": {"size": 64, "mean": [0.5], "std": [0.25]}}, FASHION_MNIST)
    assert (given.size, given.mean, given.std) == (64, (0.5,), (0.25,))


def test_a_grayscale_image_reaches_an_rgb_model_as_the_same_image_in_every_channel():
    spec = ModelSpec(source="torchvision", arch="resnet18")
    model = build_architecture(spec, FASHION_MNIST).eval()
    x = torch.rand(2, 1, 28, 28)
    with torch.no_grad():
        assert torch.equal(model(x), model(x.expand(-1, 3, -1, -1)))


# ------------------------------------------------------------------ checkpoints the tests write


def _reference(model: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
    """What a classifier must compute: the architecture on the normalised image."""
    mean, std = model[0].mean, model[0].std
    return model[1]((x.expand(-1, model[0].channels, -1, -1) - mean) / std)


@pytest.mark.parametrize(
    ("cfg", "suffix"),
    [
        ({"source": "torchvision", "arch": "resnet18"}, ".pth"),
        ({"source": "timm", "arch": "test_vit", "options": {"img_size": 32}}, ".safetensors"),
    ],
    ids=["torchvision-state-dict", "timm-safetensors"],
)
def test_a_checkpoint_the_test_writes_is_loaded_exactly(tmp_path, cfg, suffix):
    torch.manual_seed(0)
    source = build_architecture(ModelSpec.from_config(cfg), CIFAR10)[1]
    path = tmp_path / f"weights{suffix}"
    if suffix == ".pth":
        torch.save({"state_dict": {f"module.{k}": v for k, v in source.state_dict().items()}}, path)  # DataParallel
    else:
        save_file(source.state_dict(), str(path))
    spec = ModelSpec.from_config({**cfg, "weights": str(path)})
    torch.manual_seed(1)  # a different initialisation: only the file can make the two agree
    model = build_architecture(spec, CIFAR10)
    assert load_weights(model, spec, CIFAR10, new_head=False) == path
    x = torch.rand(3, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(model.eval()(x), source.eval()(((x - model[0].mean) / model[0].std)), atol=1e-6)
        assert torch.allclose(model(x), _reference(model, x), atol=1e-6)


USER_MODULE = '''
import torch
from torch import nn


class StripeNet(nn.Module):
    """A user's own classifier: in_channels and num_classes come from the dataset, width from `options`."""

    def __init__(self, in_channels, num_classes, width=4):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, width, 3, padding=1)
        self.fc = nn.Linear(width, num_classes)

    def forward(self, x):
        return self.fc(torch.relu(self.conv(x)).mean((2, 3)))


def not_a_model():
    return 42
'''


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A user's project folder, the working directory, holding its own model module (a fresh name per test)."""
    name = f"nets_{hashlib.sha256(str(tmp_path).encode()).hexdigest()[:8]}"
    (tmp_path / f"{name}.py").write_text(USER_MODULE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))  # what the import adds is undone
    return tmp_path, name


@pytest.mark.parametrize("form", ["module", "file"])
def test_a_python_source_builds_the_users_model_and_loads_its_checkpoint(project, form):
    folder, name = project
    factory = f"{name}:StripeNet" if form == "module" else f"{name}.py:StripeNet"
    cfg = {"source": "python", "factory": factory, "options": {"width": 6}}
    check_model_config("mine", cfg)
    torch.manual_seed(0)
    reference = build_architecture(ModelSpec.from_config(cfg), FASHION_MNIST)
    assert reference[1].conv.in_channels == 1 and reference[1].fc.out_features == 10  # from the dataset
    assert reference[1].conv.out_channels == 6  # from `options`
    save_file(reference[1].state_dict(), str(folder / "stripes.safetensors"))
    torch.save(reference[1].state_dict(), folder / "stripes.pt")  # a state dict, read with weights_only=True
    assert [Path(p).resolve() for p in weights_inputs(cfg)] == [folder / f"{name}.py"]  # editing the code retrains
    for weights in ("stripes.safetensors", "stripes.pt"):
        spec = ModelSpec.from_config({**cfg, "weights": weights})
        check_model_config("mine", {**cfg, "weights": weights, "train": {"mode": "none"}})
        torch.manual_seed(1)  # another initialisation: only the checkpoint can make the two agree
        model = build_architecture(spec, FASHION_MNIST)
        assert load_weights(model, spec, FASHION_MNIST, new_head=False) == Path(weights)
        x = torch.rand(3, 1, 28, 28)
        with torch.no_grad():
            assert torch.equal(model.eval()(x), reference.eval()(x))
    assert ModelSpec.from_config(cfg).arch == factory  # the name the records show


def test_a_python_model_is_saved_and_rebuilt_from_its_own_record(project):
    folder, name = project
    cfg = {"source": "python", "factory": f"{name}:StripeNet", "arch": "stripenet"}
    spec = ModelSpec.from_config(cfg)
    data = _tiny_set(FASHION_MNIST, 8)
    settings = TrainSettings(epochs=1, batch_size=4, base_augmentation="none")
    model, metrics = train_classifier(data, data, settings, CPU, seed_everything(0), spec)
    path = folder / "weights.safetensors"
    save_classifier(model, path, info=FASHION_MNIST, settings=settings, metrics=metrics, device=CPU, seed=0, spec=spec)
    rebuilt = load_classifier(path, FASHION_MNIST, CPU)
    x = torch.rand(2, 1, 28, 28)
    with torch.no_grad():
        assert torch.equal(rebuilt(x), model.eval()(x))
    assert read_json(sidecar_path(path))["arch"] == "stripenet"


@pytest.mark.parametrize(
    ("factory", "options", "message"),
    [
        ("no_such_module_xyz:Net", {}, r"models\.m\.factory: 'no_such_module_xyz:Net': cannot import .*project folder"),
        ("missing.py:Net", {}, r"models\.m\.factory: 'missing\.py:Net': no file"),
        ("{name}:Absent", {}, r"models\.m\.factory: .* has no callable 'Absent'"),
        ("{name}.py:not_a_model", {}, r"models\.\*\.factory: .*returned int, not a torch nn\.Module"),  # at build
        (
            "{name}:StripeNet",
            {"depth": 3},
            r"models\.m\.factory: .*StripeNet\(depth, in_channels, num_classes\).*depth",
        ),
    ],
    ids=["no-module", "no-file", "no-callable", "not-a-module", "bad-options"],
)
def test_a_python_source_that_cannot_build_names_the_factory(project, factory, options, message):
    _, name = project
    cfg = {"source": "python", "factory": factory.format(name=name), "options": options}
    with pytest.raises(ValueError, match=message):
        check_model_config("m", cfg)
        build_architecture(ModelSpec.from_config(cfg), FASHION_MNIST)


def _robustbench_checkpoint(model_dir: Path, name: str) -> nn.Module:
    """A checkpoint in RobustBench's layout and format (a 'state_dict' with DataParallel's 'module.' prefix)."""
    import_robustbench()
    from robustbench.model_zoo.enums import BenchmarkDataset, ThreatModel
    from robustbench.model_zoo.models import model_dicts

    torch.manual_seed(0)
    reference = model_dicts[BenchmarkDataset.cifar_10][ThreatModel.Linf][name]["model"]().eval()
    path = model_dir / "cifar10" / "Linf" / f"{name}.pt"
    path.parent.mkdir(parents=True)
    torch.save({"state_dict": {f"module.{k}": v for k, v in reference.state_dict().items()}}, path)
    return reference


def test_a_robustbench_entry_loads_from_robustbenchs_layout(tmp_path):
    reference = _robustbench_checkpoint(tmp_path, "Ding2020MMA")
    cfg = {"source": "robustbench", "arch": "Ding2020MMA", "model_dir": str(tmp_path), **ZOO}
    check_model_config("zoo", {**cfg, "train": {"mode": "none"}})
    generator = seed_everything(0)
    test = _tiny_set(CIFAR10, 8, size=32)
    model, metrics = train_classifier(
        test, test, TrainSettings(mode="none"), CPU, generator, ModelSpec.from_config(cfg)
    )
    x = torch.rand(4, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(model(x), reference(x), atol=1e-5)  # [0, 1] inputs, no normalisation added
    assert metrics["weights_file"] == str(tmp_path / "cifar10/Linf/Ding2020MMA.pt")
    assert metrics["input"]["size"] == 32 and metrics["source"] == "robustbench"


def test_robustbench_is_imported_with_the_renamed_autoattack():
    robustbench = import_robustbench()
    assert callable(robustbench.load_model)
    try:
        import pyautoattack
    except ImportError:  # a real `autoattack` is installed instead
        return
    assert sys.modules["autoattack"].AutoAttack is pyautoattack.AutoAttack


# ------------------------------------------------------------------ bad weights files


class _RunsCode:
    """A pickle payload that would create a file when unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.mark.parametrize("writer", ["torch.save", "pickle"])
def test_a_pickle_that_runs_code_is_refused_and_nothing_runs(tmp_path, writer):
    marker = tmp_path / "code_ran"
    path = tmp_path / "evil.pt"
    payload = {"conv1.weight": torch.zeros(1), "trap": _RunsCode(marker)}
    if writer == "torch.save":
        torch.save(payload, path)
    else:
        path.write_bytes(pickle.dumps(payload))
    spec = ModelSpec(source="torchvision", arch="resnet18", weights=str(path))
    with pytest.raises(WeightsError, match=rf"{path}: refused, it holds more than tensors"):
        load_weights(build_architecture(spec, CIFAR10), spec, CIFAR10, new_head=False)
    assert not marker.exists()
    if writer == "torch.save":  # the trap is live: a full unpickle runs it
        torch.load(path, weights_only=False)
    else:
        pickle.loads(path.read_bytes())
    assert marker.exists()


def test_weights_of_another_architecture_are_refused_naming_file_and_keys(tmp_path):
    path = tmp_path / "resnet34.safetensors"
    save_file(build_architecture(ModelSpec(source="torchvision", arch="resnet34"), CIFAR10)[1].state_dict(), str(path))
    spec = ModelSpec(source="torchvision", arch="resnet18", weights=str(path))
    with pytest.raises(
        WeightsError, match=rf"{path}: does not fit torchvision architecture 'resnet18'.*unexpected keys: layer1\.2\."
    ):
        load_weights(build_architecture(spec, CIFAR10), spec, CIFAR10, new_head=False)


def test_missing_keys_and_wrong_shapes_are_named(tmp_path):
    state = build_architecture(ModelSpec(arch="small_cnn"), CIFAR10)[1].state_dict()
    path = tmp_path / "partial.safetensors"
    save_file({k: v for k, v in state.items() if k != "features.0.bias"}, str(path))
    spec = ModelSpec(arch="small_cnn", weights=str(path))
    with pytest.raises(WeightsError, match=rf"{path}: .*missing keys: features\.0\.bias"):
        load_weights(build_architecture(spec, CIFAR10), spec, CIFAR10, new_head=False)
    save_file(build_architecture(ModelSpec(arch="small_cnn"), _classes(5))[1].state_dict(), str(path))
    with pytest.raises(WeightsError, match=r"wrong shapes: head\.bias \(file \(5,\), model \(10,\)\).*head_only"):
        load_weights(build_architecture(spec, CIFAR10), spec, CIFAR10, new_head=False)
    load_weights(build_architecture(spec, CIFAR10), spec, CIFAR10, new_head=True)  # a new head fits


def test_a_file_that_is_not_a_state_dict_is_refused(tmp_path):
    path = tmp_path / "numbers.pt"
    torch.save([1, 2, 3], path)
    with pytest.raises(WeightsError, match=rf"{path}: expected a state dict"):
        spec = ModelSpec(arch="small_cnn", weights=str(path))
        load_weights(build_architecture(spec, CIFAR10), spec, CIFAR10, new_head=False)


# ------------------------------------------------------------------ checks before any job


def test_missing_weights_are_named_with_where_they_go(tmp_path):
    with pytest.raises(WeightsError, match=r"models\.mine: weights file /no/such\.safetensors not found"):
        check_model("mine", {"arch": "small_cnn", "weights": "/no/such.safetensors"})
    zoo = {"source": "robustbench", "arch": "Standard", "model_dir": str(tmp_path), **ZOO}
    with pytest.raises(WeightsError, match=rf"{tmp_path}/cifar10/Linf/Standard\.pt not found.*<model_dir>/<dataset>"):
        check_model("zoo", zoo)
    check_model("zoo", {**zoo, "download": True})  # fetched at job time
    offline = {"source": "torchvision", "arch": "resnet18", "pretrained": "IMAGENET1K_V1"}
    if not (Path(torch.hub.get_dir()) / "checkpoints/resnet18-f37072fd.pth").is_file():
        with pytest.raises(WeightsError, match=r"checkpoints/resnet18-f37072fd\.pth not found.*download: true"):
            check_model("tv", offline)


@pytest.mark.parametrize(
    ("cfg", "message"),
    [
        ({"source": "torchvision", "arch": "resnet_999"}, r"models\.m\.arch: 'resnet_999' is not a torchvision"),
        ({"source": "timm", "arch": "no_such_net"}, r"models\.m\.arch: 'no_such_net' is not a timm model"),
        ({"source": "timm", "arch": "resnet18", "pretrained": "nope"}, r"models\.m\.pretrained: .*nope"),
        ({"source": "robustbench", "arch": "Nobody2020", **ZOO}, r"models\.m\.arch: 'Nobody2020' is not a RobustBench"),
        ({"source": "builtin", "arch": "small_cnn", "train": {"mode": "none"}}, r"models\.m\.train\.mode: 'none'"),
        ({"source": "builtin", "arch": "small_cnn", "train": {"mode": "frozen"}}, r"models\.m\.train: .*'frozen'"),
        ({"source": "nowhere", "arch": "x"}, r"models\.m\.source: unknown source 'nowhere'"),
    ],
)
def test_bad_model_configs_name_the_key(cfg, message):
    with pytest.raises(ValueError, match=message):
        check_model_config("m", cfg)


# ------------------------------------------------------------------ training modes and variants


def _tiny_set(info: DatasetInfo, n: int, size: int | None = None) -> ImageSet:
    generator = torch.Generator().manual_seed(0)
    size = size or info.size
    images = torch.randint(0, 256, (n, info.channels, size, size), dtype=torch.uint8, generator=generator)
    return ImageSet(images, torch.arange(n) % info.num_classes, info)


@pytest.mark.parametrize("variant", list(TRAINING_VARIANTS))
def test_every_training_variant_trains(variant):
    data = _tiny_set(FASHION_MNIST, 16)
    settings = TrainSettings(variant=variant, epochs=1, batch_size=8, adv_steps=1, base_augmentation="none")
    model, metrics = train_classifier(data, data, settings, CPU, seed_everything(0))
    assert metrics["trained_parameters"] == sum(p.numel() for p in model.parameters())
    assert len(metrics["history"]) == 1 and metrics["history"][0]["train_loss"] > 0


@pytest.fixture
def pretrained_cnn(tmp_path) -> tuple[Path, dict[str, torch.Tensor]]:
    """A small_cnn checkpoint for 5 classes (another task's head), as a user's file."""
    five = DatasetInfo("five", 5, 1, 28, FASHION_MNIST.mean, FASHION_MNIST.std, tuple("abcde"))
    torch.manual_seed(3)
    state = build_architecture(ModelSpec(arch="small_cnn"), five)[1].state_dict()
    path = tmp_path / "backbone.safetensors"
    save_file(state, str(path))
    return path, state


@pytest.mark.parametrize("mode", list(TRAINING_MODES))
def test_every_training_mode_trains_what_it_says(pretrained_cnn, mode, tmp_path):
    path, state = pretrained_cnn
    data = _tiny_set(FASHION_MNIST, 16)
    spec = ModelSpec(arch="small_cnn", weights=str(path))
    if mode in ("full", "none"):  # these keep the file's head: give them one for the dataset's 10 classes
        torch.manual_seed(4)
        state = {**state, **{f"head.{k}": v for k, v in nn.Linear(64, 10).state_dict().items()}}
        save_file(state, str(path))
    settings = TrainSettings(mode=mode, epochs=1, batch_size=8, lr=0.1, base_augmentation="none")
    model, metrics = train_classifier(data, data, settings, CPU, seed_everything(0), spec)
    trained = model[1].state_dict()
    backbone_same = all(torch.equal(trained[k], v) for k, v in state.items() if k.startswith("features."))
    assert model[1].head.out_features == 10
    if mode == "none":
        assert all(torch.equal(trained[k], v) for k, v in state.items()) and metrics["history"] == []
    elif mode == "head_only":  # [P2]: frozen backbone (weights and batch-norm statistics), a trained new head
        assert backbone_same and metrics["trained_parameters"] == 64 * 10 + 10
    else:
        assert not backbone_same and not torch.equal(trained["head.weight"], state["head.weight"])
    assert metrics["weights_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    out = tmp_path / "model.safetensors"
    save_classifier(model, out, info=FASHION_MNIST, settings=settings, metrics=metrics, device=CPU, seed=0, spec=spec)
    sidecar = read_json(sidecar_path(out))
    assert (sidecar["source"], sidecar["mode"], sidecar["input"]["size"]) == ("builtin", mode, 28)
    assert sidecar["weights_sha256"] == metrics["weights_sha256"]
    x = torch.rand(3, 1, 28, 28)
    with torch.no_grad():
        assert torch.equal(load_classifier(out, FASHION_MNIST, CPU)(x), model(x))


def test_a_saved_timm_classifier_is_rebuilt_from_its_metadata(tmp_path):
    spec = ModelSpec(source="timm", arch="test_vit", options={"img_size": 28}, input={"size": 28})
    model = build_architecture(spec, FASHION_MNIST).eval()
    path = tmp_path / "model.safetensors"
    save_classifier(
        model, path, info=FASHION_MNIST, settings=TrainSettings(), metrics={}, device=CPU, seed=0, spec=spec
    )
    x = torch.rand(2, 1, 28, 28)
    with torch.no_grad():
        assert torch.equal(load_classifier(path, FASHION_MNIST, CPU)(x), model(x))
    expected = InputSpec(28, 3, FASHION_MNIST.mean * 3, FASHION_MNIST.std * 3)  # from scratch: the dataset's
    assert classifier_input_spec(path, FASHION_MNIST) == expected


def test_an_imagenet_checkpoint_gets_a_new_head_for_the_datasets_classes(tmp_path):
    """[P2]'s head-only start: a 1000-class torchvision checkpoint, its backbone kept, a fresh 10-class head."""
    torch.manual_seed(0)
    imagenet = build_architecture(ModelSpec(source="torchvision", arch="resnet18"), _classes(1000))[1]
    path = tmp_path / "resnet18_imagenet.pth"
    torch.save(imagenet.state_dict(), path)
    spec = ModelSpec(source="torchvision", arch="resnet18", weights=str(path))
    with pytest.raises(WeightsError, match=r"wrong shapes: fc\.bias \(file \(1000,\), model \(10,\)\).*head_only"):
        load_weights(build_architecture(spec, CIFAR10), spec, CIFAR10, new_head=False)
    model = build_architecture(spec, CIFAR10)
    load_weights(model, spec, CIFAR10, new_head=True)
    loaded = model[1].state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in imagenet.state_dict().items() if not k.startswith("fc."))
    assert loaded["fc.weight"].shape == (10, 512)


def _classes(n: int) -> DatasetInfo:
    return DatasetInfo(f"{n}_classes", n, 3, 32, CIFAR10.mean, CIFAR10.std, tuple(str(i) for i in range(n)))
