"""What a user sees for the bad inputs listed in docs/guide/troubleshooting.md (config values:
tests/unit/test_config.py)."""

import json

import pytest
import torch

from freqmaps.data import CIFAR10, FASHION_MNIST
from freqmaps.figures import information_imbalance_plane, null_histograms
from freqmaps.io import ResultFileError, load_tensors, read_csv, save_tensors, write_csv
from freqmaps.models import build_model
from freqmaps.outcomes import ATTACK_FAILED, KEPT, MISCLASSIFIED_CLEAN
from freqmaps.runtime import resolve_device
from freqmaps.stages import PROVENANCE_KEYS, gather_maps, kept_pairs
from freqmaps.training import TrainSettings, load_classifier, save_classifier


def test_weights_of_another_dataset_are_refused(tmp_path):
    model = build_model("small_cnn", FASHION_MNIST)
    path = tmp_path / "model.safetensors"
    save_classifier(
        model, path, info=FASHION_MNIST, settings=TrainSettings(), metrics={}, device=torch.device("cpu"), seed=0
    )
    with pytest.raises(ResultFileError, match="trained on 'fashion_mnist', not 'cifar10'"):
        load_classifier(path, CIFAR10, torch.device("cpu"))
    assert load_classifier(path, FASHION_MNIST, torch.device("cpu")) is not None


def _maps_file(path, ids, outcome):
    n = len(ids)
    save_tensors(
        path,
        {
            "maps": torch.rand(n, 1, 4, 4),
            "ids": torch.tensor(ids),
            "targets": torch.zeros(n, dtype=torch.long),
            "labels": torch.zeros(n, dtype=torch.long),
            "steps": torch.ones(n, dtype=torch.long),
            "outcome": torch.tensor(outcome),
            "final_loss": torch.zeros(n, dtype=torch.float64),
            "selection": torch.tensor(outcome),
        },
        {},
    )


def test_empty_selection_says_why(tmp_path):
    """No pair is not an error that stops the run (issue 30): the branch's rows say why (tests/unit/
    test_failed_branch.py follows it through the verdict)."""
    _maps_file(tmp_path / "e.safetensors", [0, 1, 2], [KEPT, KEPT, MISCLASSIFIED_CLEAN])
    _maps_file(tmp_path / "a.safetensors", [0, 1, 2], [ATTACK_FAILED, ATTACK_FAILED, MISCLASSIFIED_CLEAN])
    pairs = kept_pairs(tmp_path / "e.safetensors", tmp_path / "a.safetensors")
    assert pairs["no_pairs"] == "no successful attacks (0 of 2)" and len(pairs["ids"]) == 0
    _maps_file(tmp_path / "a.safetensors", [1, 2], [KEPT, KEPT])
    pairs = kept_pairs(tmp_path / "e.safetensors", tmp_path / "a.safetensors")
    assert pairs["ids"].tolist() == [1] and pairs["no_pairs"] == ""


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message shown when no GPU is visible")
def test_missing_gpu_is_a_clear_error():
    with pytest.raises(RuntimeError, match="no CUDA device is visible"):
        resolve_device("cuda")
    assert resolve_device("auto").type == "cpu"
    with pytest.raises(ValueError, match="device: 'tpu'"):
        resolve_device("tpu")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_is_used_when_present():
    assert resolve_device("auto").type == "cuda"


def test_weights_without_arch_metadata_name_the_file(tmp_path):
    model = build_model("small_cnn", FASHION_MNIST)
    path = tmp_path / "model.safetensors"
    save_tensors(path, model.state_dict(), {"dataset": "fashion_mnist"})
    with pytest.raises(ResultFileError, match=r"model.safetensors: no 'model' or 'arch' in its metadata.*--force"):
        load_classifier(path, FASHION_MNIST, torch.device("cpu"))


def test_damage_messages_give_a_command_that_regenerates_the_file(tmp_path):
    """Issue 17.12: a plain rerun finds nothing to do once downstream files exist; the file as a target
    with --force rebuilds it (tests/e2e/test_faults.py follows the message on a real run)."""
    path = tmp_path / "model.safetensors"
    path.write_bytes(b"\x00" * 10)
    with pytest.raises(ResultFileError) as caught:
        load_tensors(path)
    assert f"`snakemake --cores all --force {path}`" in str(caught.value)


def _stats_files(tmp_path):
    """A statistics table and its null draws in the contract's columns (information imbalance, both directions)."""
    rows = [
        {"view": "maps", "statistic": "information_imbalance", "direction": d, "k": 1, "value": 0.5}
        | {"ci_low": 0.4, "ci_high": 0.6, "related_when": "smaller", "random_null_mean": 0.9, "note": ""}
        for d in ("E_to_A", "A_to_E")
    ]
    draws = [
        {"view": "maps", "statistic": "information_imbalance", "direction": d, "k": 1, "null": "random"}
        | {"draw": i, "value": 0.9}
        for d in ("E_to_A", "A_to_E")
        for i in range(5)
    ]
    write_csv(tmp_path / "pgd.csv", rows)
    write_csv(tmp_path / "pgd_null_draws.csv", draws)
    return tmp_path / "pgd.csv", tmp_path / "pgd_null_draws.csv"


def test_truncated_stats_table_names_the_file_instead_of_dropping_points(tmp_path):
    table, _ = _stats_files(tmp_path)
    text = table.read_text()
    table.write_text(text[: len(text) - 12])  # the last row cut short
    with pytest.raises(ResultFileError, match=r"pgd.csv: line 3 has \d+ of 10 fields \(truncated\?\)"):
        information_imbalance_plane([table], ["pgd"], tmp_path / "plane.png")
    table.write_text("")
    with pytest.raises(ResultFileError, match="pgd.csv: empty"):
        read_csv(table)


def test_truncated_null_draws_name_the_file(tmp_path):
    table, draws = _stats_files(tmp_path)
    draws.write_text(draws.read_text()[:60])
    with pytest.raises(ResultFileError, match=r"pgd_null_draws.csv: line 2 has \d+ of 7 fields"):
        null_histograms(table, draws, tmp_path / "nulls.png")


def _shard(path, ids, n_configured, engine):
    n = len(ids)
    save_tensors(
        path,
        {
            "maps": torch.rand(n, 1, 4, 4),
            "ids": torch.tensor(ids, dtype=torch.long),
            "targets": torch.zeros(n, dtype=torch.long),
            "labels": torch.zeros(n, dtype=torch.long),
            "steps": torch.ones(n, dtype=torch.long),
            "outcome": torch.full((n,), KEPT),
            "final_loss": torch.zeros(n, dtype=torch.float64),
            "selection": torch.tensor([KEPT, KEPT, MISCLASSIFIED_CLEAN][:n_configured]),
        },
        {"kind": "essential", "engine": engine, **{key: None for key in PROVENANCE_KEYS}},
    )


def test_gather_merges_an_empty_shard(tmp_path):
    """Issue 17.4: a shard with no admitted image ran no engine (its stats have no 'seconds')."""
    from freqmaps.maps import MapSettings, learn_maps

    empty = learn_maps(
        build_model("small_cnn", FASHION_MNIST),
        torch.zeros(0, 1, 28, 28),
        torch.zeros(0, dtype=torch.long),
        MapSettings(),
        torch.device("cpu"),
        10,
    )
    _shard(tmp_path / "1.safetensors", [0, 1], 3, {"image_steps": 7, "seconds": 1.5})
    _shard(tmp_path / "2.safetensors", [], 3, empty.stats)
    gather_maps(
        shard_paths=[tmp_path / "1.safetensors", tmp_path / "2.safetensors"], out_path=tmp_path / "e.safetensors"
    )
    merged, meta = load_tensors(tmp_path / "e.safetensors")
    assert merged["ids"].tolist() == [0, 1]
    assert meta["outcomes"]["kept"] == 2 and meta["outcomes"]["misclassified_clean"] == 1
    assert meta["image_steps"] == 7 and meta["seconds"] == 1.5 and meta["shards"] == 2
    assert json.loads((tmp_path / "e.json").read_text())["n_images"] == 3


# ------------------------------------------------------------------ defaults that change what is measured (issue 30)
def test_an_image_folder_that_flips_by_default_is_warned_about():
    from freqmaps.training import flip_warning

    folder = {"source": "image_folder", "root": "stripes"}
    warning = flip_warning("stripes", "image_folder", folder, {}, "crop_flip")
    assert "datasets.stripes: image_folder trains with crop_flip" in warning and "augmentation: crop" in warning
    assert flip_warning("stripes", "image_folder", {**folder, "augmentation": "crop_flip"}, {}, "crop_flip") == ""
    assert flip_warning("stripes", "image_folder", folder, {"base_augmentation": "crop_flip"}, "crop_flip") == ""
    assert flip_warning("stripes", "image_folder", folder, {}, "crop") == ""
    assert flip_warning("cifar10", "cifar10", {}, {}, "crop_flip") == ""  # natural images: flips keep the class


def test_the_settings_that_change_what_is_measured_are_logged_given_or_default(caplog):
    from freqmaps.maps import MapSettings
    from freqmaps.stages.learn_maps import announce_map_settings
    from freqmaps.stages.train import announce_defaults

    caplog.set_level("INFO")
    announce_defaults("stripes", {"source": "image_folder", "root": "stripes"}, {}, "crop_flip")
    announce_defaults("digits", {"source": "mnist", "selection": "stratified"}, {"base_augmentation": "none"}, "none")
    announce_map_settings("essential", {"lam": 0.05}, MapSettings(lam=0.05))
    text = caplog.text
    assert (
        "training augmentation crop_flip (default of image_folder), test-image selection stratified (default)" in text
    )
    assert "training augmentation none (given), test-image selection stratified (given)" in text
    assert [r.levelname for r in caplog.records].count("WARNING") == 1 and "image_folder trains with crop_flip" in text
    default_steps = MapSettings(lam=0.05).max_steps
    assert (
        f"essential maps: settings that change what is measured: lam 0.05 (given), max_steps {default_steps} (default)"
        in text
    )


# ------------------------------------------------------------------ one validation (issue 30): the table of bad configs
def _tiny_config() -> dict:
    import yaml

    from tests.conftest import TINY_CONFIG

    return yaml.safe_load(TINY_CONFIG.read_text())


def _attack(method, **params):
    return lambda c: c["attacks"].update(bad={"method": method, "params": params})


# (id, edit of the tiny config, what the refusal says): each is refused by `python -m freqmaps.config FILE` and by
# the workflow's parse with the same message (docs/guide/troubleshooting.md has a row for each kind).
BAD_CONFIGS = [
    ("unknown dataset", lambda c: c["datasets"].update(imagenet=c["datasets"].pop("fashion_mnist")), "imagenet"),
    ("unknown architecture", lambda c: c["models"]["cnn"].update(arch="resnet1000"), "resnet1000"),
    ("unknown attack", lambda c: c["attacks"]["pgd"].update(method="PDG"), "attacks.pgd.method: unknown"),
    ("negative eps", lambda c: c["attacks"]["pgd"]["params"].update(eps=-0.1), "pgd.params.eps: -0.1 is out of"),
    ("unknown parameter", lambda c: c["attacks"]["pgd"]["params"].update(epsilon=0.1), "attacks.pgd.params.epsilon"),
    ("unknown key", lambda c: c["maps"].update(lamda=0.1), "maps: unknown key(s) ['lamda']"),
    ("absent root", lambda c: c["datasets"]["fashion_mnist"].update(root="/nonexistent"), "fashion_mnist.root"),
    ("no attacks", lambda c: c.pop("attacks"), "'attacks' is a required property"),
    ("bad experiment name", lambda c: c.update(experiment="../elsewhere"), "experiment: '../elsewhere'"),
    # issue 29.6: attack parameter values, tried on a stand-in model of the dataset's inputs
    ("float count", _attack("EOTPGD", eot_iter=1.0), "attacks.bad.params.eot_iter: torchattacks EOTPGD cannot run"),
    ("zero count", _attack("EOTPGD", eot_iter=0), "attacks.bad.params.eot_iter: must be positive, got 0"),
    ("zero samples", _attack("SPSA", nb_sample=0), "attacks.bad.params.nb_sample: must be positive, got 0"),
    ("unknown loss", _attack("APGD", loss="foo"), "attacks.bad.params.loss: torchattacks APGD cannot run with loss"),
    ("string for a number", _attack("Square", p_init="big"), "attacks.bad.params.p_init: 'big' is not a number"),
    ("identity attack", _attack("VANILA"), "attacks.bad.method: torchattacks VANILA changes no pixel"),
    ("RGB-only attack", _attack("TIFGSM"), "attacks.bad.method: torchattacks TIFGSM cannot attack the fashion_mnist"),
    # issue 31: a contrast's cells must be in the experiment
    ("contrast of an absent model", lambda c: c["contrasts"][0]["b"].update(model="resnet"), "contrasts.0.b.model"),
]


@pytest.mark.parametrize(("edit", "expected"), [case[1:] for case in BAD_CONFIGS], ids=[c[0] for c in BAD_CONFIGS])
def test_the_check_command_and_the_workflow_refuse_with_the_same_message(tmp_path, monkeypatch, capsys, edit, expected):
    """Issue 30: `python -m freqmaps.config FILE` and the workflow's parse run one check (freqmaps.validation), so
    they refuse the same configs with the same message, naming the key, and the workflow's refusal is the message
    alone (no traceback)."""
    import yaml

    from freqmaps.config import main
    from tests.conftest import refusal

    config = _tiny_config()
    edit(config)
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    monkeypatch.chdir(tmp_path)
    assert main(["config.yaml"]) == 1
    printed = capsys.readouterr()
    assert expected in printed.err and "valid" not in printed.out
    refused = refusal(tmp_path)
    assert refused == printed.err.strip()
    assert "Traceback" not in refused and 'File "' not in refused
    assert not (tmp_path / "results").exists()


# ------------------------------------------------------------------ issue 29.4: a model that can only give NaN is named
def _tensors_dataset(root, images, labels, test_images=None, test_labels=None):
    from safetensors.torch import save_file

    root.mkdir(parents=True, exist_ok=True)
    save_file({"images": images, "labels": labels}, str(root / "train.safetensors"))
    test_images = images if test_images is None else test_images
    save_file(
        {"images": test_images, "labels": labels if test_labels is None else test_labels},
        str(root / "test.safetensors"),
    )
    return {"source": "tensors", "root": str(root)}


def test_a_constant_input_channel_is_refused_before_any_job_and_when_loading(tmp_path, monkeypatch):
    """A tensors dataset whose second channel is one value everywhere: its std is 0, normalising divided by it and
    training gave `train loss nan`, then seven jobs later 'nothing to correlate'."""
    from freqmaps.data import DatasetError, check_source, load_dataset, tensors

    torch.manual_seed(0)
    images = torch.randint(0, 256, (20, 3, 8, 8), dtype=torch.uint8)
    images[:, 1] = 77
    cfg = _tensors_dataset(tmp_path / "t", images, torch.arange(20) % 2)
    with pytest.raises(DatasetError, match=r"datasets\.flat: channel\(s\) \[1\] of the train images hold one value"):
        check_source("flat", cfg)
    monkeypatch.setattr(tensors, "CHECKED_BYTES", 0)  # a file too large to read before the jobs: the train job says it
    check_source("flat", cfg)
    with pytest.raises(DatasetError, match=r"channel\(s\) \[1\] .*\(\[77\] of 255\): standard deviation 0"):
        load_dataset("flat", "train", cfg)
    images[:, 1, 0, 0] = 78  # one pixel differs: a channel with variance passes
    check_source("flat", _tensors_dataset(tmp_path / "u", images, torch.arange(20) % 2))


def test_non_finite_checkpoint_weights_are_refused_naming_the_file_and_tensor(tmp_path):
    """Issue 29.4: NaN weights with `train.mode: none` ran attacks and maps at clean accuracy 0.000."""
    from safetensors.torch import save_file

    from freqmaps.models import ModelSpec, build_architecture
    from freqmaps.training import prepare_classifier
    from freqmaps.weights import WeightsError

    state = build_architecture(ModelSpec(arch="small_cnn"), FASHION_MNIST)[1].state_dict()
    name = next(key for key, value in state.items() if value.is_floating_point())
    path = tmp_path / "nan.safetensors"
    save_file(state, str(path))
    prepare_classifier(ModelSpec(arch="small_cnn", weights=str(path)), FASHION_MNIST, "none")  # finite: loads
    state[name][0] = float("nan")
    save_file(state, str(path))
    with pytest.raises(WeightsError, match=rf"nan.safetensors .*: non-finite \(NaN or infinite\) values in 1\.{name}"):
        prepare_classifier(ModelSpec(arch="small_cnn", weights=str(path)), FASHION_MNIST, "none")


def test_a_non_finite_training_loss_stops_training_naming_the_cause():
    from freqmaps.data import DatasetInfo, ImageSet
    from freqmaps.training import TrainingError, train_classifier

    torch.manual_seed(0)
    info = DatasetInfo("tiny", 2, 1, 8, (0.5,), (0.25,), ("a", "b"), "none")
    data = ImageSet(torch.randint(0, 256, (16, 1, 8, 8), dtype=torch.uint8), torch.arange(16) % 2, info)
    settings = TrainSettings(epochs=1, batch_size=8, lr=1e30, base_augmentation="none")
    with pytest.raises(
        TrainingError, match=r"training loss became (nan|inf) in epoch 1: the learning rate \(lr: 1e\+30\)"
    ):
        train_classifier(data, data, settings, torch.device("cpu"), torch.Generator().manual_seed(0))
    constant = DatasetInfo("flat", 2, 1, 8, (0.3,), (0.0,), ("a", "b"), "none")
    flat = ImageSet(torch.full((16, 1, 8, 8), 77, dtype=torch.uint8), torch.arange(16) % 2, constant)
    with pytest.raises(TrainingError, match=r"channel\(s\) \[0\] of dataset 'flat' have standard deviation \[0\.0\]"):
        train_classifier(
            flat,
            flat,
            TrainSettings(epochs=1, batch_size=8, base_augmentation="none"),
            torch.device("cpu"),
            torch.Generator(),
        )


# ------------------------------------------------------------------ issue 29.9: what headers tell, before any job
def _own_tensors_config(tmp_path, images, labels, **dataset):
    """The tiny config on a tensors dataset of the test's own images (one seed, one cheap attack)."""
    config = _tiny_config()
    config.pop("frequency_bias")
    config.pop("baselines")
    config["datasets"] = {"own": {**_tensors_dataset(tmp_path / "own", images, labels), **dataset}}
    config["attacks"] = {"fgsm": config["attacks"]["fgsm"]}
    config.pop("contrasts")  # between PGD and FGSM: one attack is left
    return config


def _check(config):
    from freqmaps.validation import check_experiment

    return check_experiment(config)


def test_images_too_small_for_the_architecture_are_refused_before_any_job(tmp_path):
    """A [N, 3, 2, 2] tensors file passed the checks and failed in max_pool2d during training."""
    from freqmaps.config import ConfigError

    config = _own_tensors_config(
        tmp_path, torch.randint(0, 256, (20, 3, 2, 2), dtype=torch.uint8), torch.arange(20) % 2
    )
    with pytest.raises(
        ConfigError, match=r"models\.cnn: builtin architecture 'small_cnn' cannot classify the own images \(3×2×2\)"
    ):
        _check(config)
    config = _own_tensors_config(
        tmp_path, torch.randint(0, 256, (20, 3, 8, 8), dtype=torch.uint8), torch.arange(20) % 2
    )
    assert _check(config).datasets["own"]["size"] == 8  # 8 px pass


def test_labels_out_of_range_and_a_one_class_test_set_are_refused_naming_the_file(tmp_path):
    from freqmaps.data import DatasetError, check_source

    images = torch.randint(0, 256, (20, 1, 8, 8), dtype=torch.uint8)
    cfg = _tensors_dataset(tmp_path / "a", images, torch.arange(20) % 3)
    with pytest.raises(
        DatasetError, match=r"train.safetensors: labels range over \[0, 2\], but datasets.a.class_names"
    ):
        check_source("a", {**cfg, "class_names": ["x", "y"]})
    cfg = _tensors_dataset(tmp_path / "b", images, torch.arange(20) % 2, test_labels=torch.arange(20) % 3)
    with pytest.raises(
        DatasetError, match=r"test.safetensors: labels range over \[0, 2\], but the train labels give 2"
    ):
        check_source("b", cfg)
    cfg = _tensors_dataset(tmp_path / "c", images, torch.arange(20) % 2, test_labels=torch.zeros(20, dtype=torch.long))
    with pytest.raises(DatasetError, match=r"test.safetensors: every test image has label \[0\]"):
        check_source("c", cfg)
    check_source("d", _tensors_dataset(tmp_path / "d", images, torch.arange(20) % 2))


def test_a_checkpoint_that_does_not_fit_is_refused_from_its_header(tmp_path):
    """Keys and shapes were compared only in the train job, after earlier jobs ran."""
    from safetensors.torch import save_file

    from freqmaps.models import ModelSpec, build_architecture
    from freqmaps.training import check_model_fits

    cifar_weights = build_architecture(ModelSpec(arch="small_cnn"), CIFAR10)[1].state_dict()  # 3 channels
    path = tmp_path / "w.safetensors"
    save_file(cifar_weights, str(path))
    cfg = {"arch": "small_cnn", "weights": str(path), "train": {"mode": "none"}}
    fits = r"w.safetensors does not fit builtin architecture 'small_cnn' with 10 classes \(fashion_mnist\)"
    with pytest.raises(ValueError, match=rf"models\.m\.weights: .*{fits}; wrong shapes: features.0.weight"):
        check_model_fits("m", cfg, FASHION_MNIST)
    check_model_fits("m", cfg, CIFAR10)


def test_fewer_test_images_than_asked_is_said_before_any_job(tmp_path):
    images = torch.randint(0, 256, (20, 3, 8, 8), dtype=torch.uint8)
    facts = _check(_own_tensors_config(tmp_path, images, torch.arange(20) % 2, n_test_images=50))
    assert (
        "datasets.own.n_test_images: 50 asked, but the test split holds 20 images; all 20 are analysed"
        in facts.warnings
    )
    assert not [
        w
        for w in _check(_own_tensors_config(tmp_path, images, torch.arange(20) % 2, n_test_images=20)).warnings
        if "n_test_images" in w
    ]


def test_robustbench_download_offline_fails_at_once_naming_the_host(tmp_path, monkeypatch):
    """`download: true` without a network gave a requests traceback after 14 s."""
    import socket

    from freqmaps import models
    from freqmaps.models import ModelSpec, fetch_weights
    from freqmaps.weights import WeightsError

    def offline(*args, **kwargs):
        raise OSError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(socket, "create_connection", offline)
    monkeypatch.setattr(models.RobustBenchSource, "fetch", lambda self, spec: pytest.fail("tried to download"))
    spec = ModelSpec(
        source="robustbench",
        arch="Standard",
        zoo_dataset="cifar10",
        threat_model="Linf",
        model_dir=str(tmp_path),
        download=True,
    )
    with pytest.raises(
        WeightsError,
        match=r"download: true, but drive.google.com cannot be reached .*; put .*Standard.pt there yourself",
    ):
        fetch_weights(spec)


def test_a_link_out_of_an_image_folder_is_read_and_said(tmp_path):
    """Issue 29.7: a link to an image outside the dataset's root was read without comment. It is read (a subset made
    of links is a common layout) and said, before any job."""
    import numpy as np
    from PIL import Image

    from freqmaps.data import DataWarning, list_image_folder

    for split in ("train", "test"):
        for c in ("a", "b"):
            (tmp_path / "root" / split / c).mkdir(parents=True)
            Image.fromarray(np.full((8, 8, 3), 40 * (c == "a"), np.uint8)).save(tmp_path / "root" / split / c / "0.png")
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "elsewhere.png")
    (tmp_path / "root" / "train" / "a" / "1.png").symlink_to(tmp_path / "elsewhere.png")
    with pytest.warns(
        DataWarning,
        match=r"train: 1 image\(s\) are links to files outside the dataset's root .*root \(e.g. a/1.png -> .*elsewhere",
    ):
        list_image_folder(tmp_path / "root" / "train")
    (tmp_path / "root" / "train" / "b" / "1.png").symlink_to(tmp_path / "root" / "test" / "b" / "0.png")  # inside
    config = _tiny_config()
    config.pop("frequency_bias")
    config.pop("baselines")
    config["datasets"] = {"own": {"source": "image_folder", "root": str(tmp_path / "root"), "size": 8}}
    config["attacks"] = {"fgsm": config["attacks"]["fgsm"]}
    config.pop("contrasts")  # between PGD and FGSM: one attack is left
    said = [w for w in _check(config).warnings if "links to files outside" in w]
    assert len(said) == 1 and "a/1.png" in said[0]
