"""A user's own data through the real workflow: an ImageFolder of PNG/JPEG files of mixed sizes written here,
attacked by a torchattacks attack outside the original five (APGD) and by [P2]'s foolbox FMN, every stage
to the summary."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import yaml

from tests.conftest import DEFAULT_RESULTS, RUN_TIMEOUT, plan, refusal, snakemake

pytestmark = pytest.mark.e2e
RESULTS = f"{DEFAULT_RESULTS}/pets/cnn/seed0"
CLASSES = ("ant", "bee", "cat", "dog")
COLOURS = np.array([[200, 40, 40], [40, 200, 40], [40, 40, 200], [150, 150, 150]])


def write_image_folder(root, n_train=40, n_test=10):
    """Four classes told apart by colour, with noise; files of mixed size, PNG (RGB, RGBA) and JPEG."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for split, n in (("train", n_train), ("val", n_test)):
        for c, name in enumerate(CLASSES):
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(n):
                h, w = rng.integers(16, 30, 2)
                pixels = np.clip(COLOURS[c] + rng.normal(0, 40, (h, w, 3)), 0, 255).astype(np.uint8)
                image = Image.fromarray(pixels)
                if i % 3 == 0:
                    image.save(folder / f"{i}.jpg", quality=95)
                else:
                    (image.convert("RGBA") if i % 3 == 1 else image).save(folder / f"{i}.png")


CONFIG = {
    "seeds": [0],
    "device": "cpu",
    "datasets": {"pets": {"source": "image_folder", "root": "images", "size": 16, "n_test_images": 24}},
    "models": {"cnn": {"arch": "small_cnn", "train": {"epochs": 4, "batch_size": 16, "lr": 0.05}}},
    "attacks": {
        "apgd": {"method": "APGD", "params": {"eps": 0.25, "steps": 5}},
        "fmn": {"backend": "foolbox", "method": "LInfFMNAttack", "params": {"steps": 20}},
    },
    "maps": {"lam": 0.05, "min_steps": 5, "max_steps": 20, "batch_size": 24},
    "stats": {"n_null": 10, "n_bootstrap": 10, "k": [1], "statistics": ["cosine", "pearson"]},
}


@pytest.fixture(scope="module")
def own_data_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("own_data")
    write_image_folder(workdir / "images")
    (workdir / "config.yaml").write_text(yaml.safe_dump(CONFIG))
    run = snakemake(workdir, timeout=RUN_TIMEOUT)
    assert run.returncode == 0, run.stderr[-4000:]
    return workdir


@pytest.mark.slow
def test_image_folder_runs_end_to_end(own_data_run):
    from freqmaps.io import load_tensors

    model = json.loads((own_data_run / RESULTS / "model.json").read_text())
    assert model["test_accuracy"] >= 0.75, model  # colour-coded classes are easy
    for attack, backend in (("apgd", "torchattacks"), ("fmn", "foolbox")):
        record = json.loads((own_data_run / RESULTS / f"attacks/{attack}.json").read_text())
        assert record["backend"] == backend and record["n_images"] == 24
        assert record["robust_accuracy"] == pytest.approx(record["clean_accuracy"] * (1 - record["success_rate"]))
        assert record["success_rate"] > 0.5, record
        tensors, _ = load_tensors(own_data_run / RESULTS / f"attacks/{attack}.safetensors")
        assert torch.bincount(tensors["labels"]).tolist() == [6] * 4  # stratified: 6 test images per class
        assert tensors["test_ids"].unique().numel() == 24 and tensors["clean"].shape[1:] == (3, 16, 16)
    assert (own_data_run / DEFAULT_RESULTS / "summary.csv").is_file()
    assert (own_data_run / RESULTS / "figures/fmn/class_mean_maps.png").is_file()
    assert plan(own_data_run) == []  # nothing left to do


def test_bad_attack_parameter_stops_before_any_job(tmp_path):
    write_image_folder(tmp_path / "images", n_train=1, n_test=1)
    config = {**CONFIG, "attacks": {"apgd": {"method": "APGD", "params": {"epsilon": 0.1}}}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    assert "attacks.apgd.params.epsilon: torchattacks APGD has no parameter" in refusal(tmp_path)
    assert not (tmp_path / "results").exists()
