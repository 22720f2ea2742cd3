"""The researcher's own classifier through the real workflow: a checkpoint analysed as it is (train: none) and
the same backbone with only a new head trained (head_only), on tiny Fashion-MNIST; and the ready experiments
for pretrained and RobustBench models validated and planned, with missing weights named before any job."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file, save_file

from tests.conftest import REPO, TINY_CONFIG, plan, refusal, require_fashion_mnist, snakemake

pytestmark = pytest.mark.e2e
CHECKPOINT = "checkpoints/small_cnn_fashion.safetensors"
TARGET = "stats_all"  # models, attacks, maps, statistics and the verdict: no test here reads the figures


def _users_checkpoint(path: Path) -> dict[str, torch.Tensor]:
    """A small CNN trained briefly elsewhere, saved as its architecture's plain state dict."""
    from freqmaps.data import head, load_split
    from freqmaps.runtime import seed_everything
    from freqmaps.training import TrainSettings, train_classifier

    generator = seed_everything(0)
    train, test = load_split("fashion_mnist", "train"), head(load_split("fashion_mnist", "test"), 200)
    settings = TrainSettings(epochs=1, n_train=3000, batch_size=64, lr=0.05, base_augmentation="none")
    model, _ = train_classifier(train, test, settings, torch.device("cpu"), generator)
    state = {key: value.contiguous() for key, value in model[1].state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(path))
    return state


def _config() -> dict:
    config = yaml.safe_load(TINY_CONFIG.read_text())
    config.pop("frequency_bias")
    config.pop("baselines")  # no assertion reads them; they were about a third of the run's jobs
    config["attacks"] = {"pgd": config["attacks"]["pgd"]}
    config.pop("contrasts")  # between the tiny config's model on PGD and FGSM: neither is here
    config["maps"]["shards"] = 1
    config["models"] = {
        "as_is": {"arch": "small_cnn", "weights": CHECKPOINT, "train": {"mode": "none"}},
        "head": {
            "arch": "small_cnn",
            "weights": CHECKPOINT,
            "train": {"mode": "head_only", "epochs": 1, "n_train": 2000, "batch_size": 64, "base_augmentation": "none"},
        },
    }
    return config


@pytest.fixture(scope="module")
def own_models_run(tmp_path_factory):
    require_fashion_mnist()
    workdir = tmp_path_factory.mktemp("own_models")
    state = _users_checkpoint(workdir / CHECKPOINT)
    (workdir / "config.yaml").write_text(yaml.safe_dump(_config()))
    run = snakemake(workdir, TARGET)
    assert run.returncode == 0, run.stderr[-4000:]
    return workdir, state


def _model(workdir: Path, name: str) -> tuple[dict, dict[str, torch.Tensor]]:
    folder = workdir / f"results/default/fashion_mnist/{name}/seed0"
    return json.loads((folder / "model.json").read_text()), load_file(str(folder / "model.safetensors"))


@pytest.mark.slow
def test_a_model_analysed_as_it_is_keeps_the_files_weights(own_models_run):
    workdir, state = own_models_run
    sidecar, weights = _model(workdir, "as_is")
    assert sidecar["mode"] == "none" and sidecar["history"] == [] and sidecar["source"] == "builtin"
    assert sidecar["weights_sha256"] == hashlib.sha256((workdir / CHECKPOINT).read_bytes()).hexdigest()
    assert sidecar["input"] == {"size": 28, "channels": 1, "mean": [0.286], "std": [0.353]}
    assert all(torch.equal(weights[f"1.{key}"], value) for key, value in state.items())
    assert sidecar["test_accuracy"] > 0.5  # the checkpoint's own accuracy, evaluated


@pytest.mark.slow
def test_head_only_training_keeps_the_backbone_and_trains_a_new_head(own_models_run):
    workdir, state = own_models_run
    sidecar, weights = _model(workdir, "head")
    assert sidecar["mode"] == "head_only" and len(sidecar["history"]) == 1
    assert sidecar["trained_parameters"] == 64 * 10 + 10
    assert all(torch.equal(weights[f"1.{key}"], value) for key, value in state.items() if key.startswith("features."))
    assert not torch.equal(weights["1.head.weight"], state["head.weight"])
    assert sidecar["test_accuracy"] > 0.5


@pytest.mark.slow
def test_both_models_are_attacked_mapped_and_correlated(own_models_run):
    workdir, _ = own_models_run
    rows = list(csv.DictReader((workdir / "results/default/summary.csv").open()))
    assert {row["model"] for row in rows} == {"as_is", "head"}
    for name in ("as_is", "head"):
        adversarial_maps = workdir / f"results/default/fashion_mnist/{name}/seed0/maps/adversarial/pgd.safetensors"
        assert adversarial_maps.stat().st_size > 0


@pytest.mark.slow
def test_a_changed_weights_file_reruns_the_models_built_from_it(own_models_run, tmp_path):
    workdir = tmp_path / "run"
    shutil.copytree(own_models_run[0], workdir, symlinks=True)
    assert plan(workdir, TARGET) == []  # nothing to be done
    state = load_file(str(workdir / CHECKPOINT))
    state["head.bias"] = state["head.bias"] + 1
    save_file(state, str(workdir / CHECKPOINT))
    trained = sorted(wildcards["model"] for rule, wildcards in plan(workdir, TARGET) if rule == "train")
    assert trained == ["as_is", "head"]


# ------------------------------------------------------------------ the ready experiments


def _trained_models(workdir: Path, config: dict) -> list[str]:
    """The models a plan of ``config`` trains (the workflow's refusal is raised)."""
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    return sorted(wildcards["model"] for rule, wildcards in plan(workdir) if rule == "train")


def _refusal(workdir: Path, config: dict) -> str:
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    return refusal(workdir)


def test_the_imagenette_head_only_config_is_valid_and_planned(tmp_path):
    config = yaml.safe_load((REPO / "configs/imagenette_pretrained_head_only.yaml").read_text())
    assert config["maps"]["lam"] == 0.1 and config["stats"]["pool"] == 7
    assert config["datasets"]["imagenette"]["size"] == 224
    assert {m["train"]["mode"] for m in config["models"].values()} == {"head_only"}
    assert _trained_models(tmp_path, config) == sorted(config["models"]) and len(config["models"]) == 2
    for model in config["models"].values():
        model["download"] = False
    if (Path(torch.hub.get_dir()) / "checkpoints/resnet18-f37072fd.pth").is_file():
        return  # this machine has the weights: nothing is missing
    text = _refusal(tmp_path, config)
    assert "models.resnet18: weights file" in text and "resnet18-f37072fd.pth not found" in text


def test_the_robustbench_config_names_missing_weights_and_plans_with_them(tmp_path):
    config = yaml.safe_load((REPO / "configs/robustbench_cifar10_linf.yaml").read_text())
    for model in config["models"].values():
        model["download"] = False
    assert "models/cifar10/Linf/Carmon2019Unlabeled.pt not found" in _refusal(tmp_path, config)
    for model in config["models"].values():  # stand-ins in RobustBench's layout (read only when a job runs)
        stand_in = tmp_path / model["model_dir"] / "cifar10" / "Linf" / f"{model['arch']}.pt"
        stand_in.parent.mkdir(parents=True, exist_ok=True)
        torch.save({}, stand_in)
    assert _trained_models(tmp_path, config) == sorted(config["models"]) and len(config["models"]) == 2
