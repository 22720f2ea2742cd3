"""Loaders read the real on-disk formats, written small here, and refuse what they should."""

import gzip
import pickle

import numpy as np
import pytest
import torch

from freqmaps.data import DatasetError, check_source, crop_and_flip, head, load_split, random_affine, read_idx
from tests.conftest import FASHION_MNIST_ROOT, require_fashion_mnist, write_idx


def test_fashion_mnist_debian_layout(idx_root):
    train = load_split("fashion_mnist", "train", idx_root)
    test = load_split("fashion_mnist", "test", idx_root)
    assert train.images.shape == (60, 1, 28, 28) and train.images.dtype == torch.uint8
    assert test.labels.tolist() == [i % 10 for i in range(20)]
    floats = test.floats()
    assert floats.dtype == torch.float32 and 0 <= floats.min() and floats.max() <= 1
    assert len(head(test, 5)) == 5


def test_mnist_torchvision_layout_uncompressed(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (7, 28, 28))
    write_idx(raw / "t10k-images-idx3-ubyte", images, compress=False)
    write_idx(raw / "t10k-labels-idx1-ubyte", np.array([3, 1, 4, 1, 5, 9, 2]), compress=False)
    test = load_split("mnist", "test", tmp_path)
    assert test.labels.tolist() == [3, 1, 4, 1, 5, 9, 2]
    assert torch.equal(test.images[:, 0], torch.from_numpy(images.astype(np.uint8)))


def _write_cifar(folder, rng, batches):
    folder.mkdir(parents=True)
    for name, n in batches:
        batch = {
            "batch_label": name,
            "labels": list(rng.integers(0, 10, n)),
            "data": rng.integers(0, 256, (n, 3072)).astype(np.uint8),
            "filenames": [f"{i}.png" for i in range(n)],
        }
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))


def test_cifar10_python_batches(tmp_path):
    rng = np.random.default_rng(2)
    _write_cifar(
        tmp_path / "cifar-10-batches-py", rng, [(f"data_batch_{i}", 4) for i in range(1, 6)] + [("test_batch", 6)]
    )
    train = load_split("cifar10", "train", tmp_path)
    test = load_split("cifar10", "test", tmp_path)
    assert train.images.shape == (20, 3, 32, 32) and test.images.shape == (6, 3, 32, 32)
    raw = pickle.loads((tmp_path / "cifar-10-batches-py" / "test_batch").read_bytes())
    assert torch.equal(test.images[2], torch.from_numpy(raw["data"][2].reshape(3, 32, 32)))  # channel-major rows
    assert test.labels.tolist() == [int(v) for v in raw["labels"]]


def test_cifar_loader_refuses_pickled_code(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()

    class Exploit:
        def __reduce__(self):
            return (print, ("pwned",))

    (folder / "test_batch").write_bytes(pickle.dumps({"data": Exploit(), "labels": [0]}))
    with pytest.raises(DatasetError, match="refusing to load builtins.print"):
        load_split("cifar10", "test", tmp_path)


def test_truncated_idx_file_is_named(tmp_path):
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    write_idx(path, np.zeros((5, 28, 28)))
    data = gzip.open(path).read()
    with gzip.open(path, "wb") as handle:
        handle.write(data[:-100])
    with pytest.raises(DatasetError, match="t10k-images-idx3-ubyte.gz: truncated"):
        read_idx(path)


def test_missing_files_name_the_config_key(tmp_path):
    with pytest.raises(DatasetError, match=r"datasets\.fashion_mnist\.root"):
        load_split("fashion_mnist", "test", tmp_path)
    with pytest.raises(DatasetError, match=r"datasets\.cifar10\.root"):
        check_source("cifar10", tmp_path, download=False)
    check_source("cifar10", tmp_path, download=True)  # allowed to fetch: no error yet
    with pytest.raises(DatasetError, match="unknown dataset 'imagenet'"):
        load_split("imagenet", "test")


def test_real_fashion_mnist():
    require_fashion_mnist()
    test = load_split("fashion_mnist", "test", FASHION_MNIST_ROOT)
    assert test.images.shape == (10000, 1, 28, 28)
    assert torch.bincount(test.labels).tolist() == [1000] * 10


def test_augmentations_are_per_image_and_keep_shape():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(8, 1, 28, 28)
    assert crop_and_flip(x, g).shape == x.shape
    rotated = random_affine(x.repeat(1, 1, 1, 1), g, degrees=180)
    assert rotated.shape == x.shape
    same = x[:1].expand(8, 1, 28, 28)
    out = random_affine(same, g, translate=0.4)
    assert not torch.allclose(out[0], out[1])  # each image draws its own transform
    assert torch.allclose(random_affine(x, g), x, atol=1e-5)  # identity parameters change nothing


def test_imagenette_folders_load_as_configured(tmp_path):
    """Imagenette's layout (split/wnid/*.JPEG): chosen classes, square crop at the configured size, grayscale."""
    from PIL import Image

    from freqmaps.data import load_dataset

    rng = np.random.default_rng(0)
    classes = ["n01440764", "n02102040"]
    for split in ("train", "val"):
        for wnid in classes:
            folder = tmp_path / "imagenette2-160" / split / wnid
            folder.mkdir(parents=True)
            for i in range(3):
                Image.fromarray(rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)).save(folder / f"{i}.JPEG")
    cfg = {"root": str(tmp_path), "classes": classes, "size": 16, "grayscale": True}
    check_source("imagenette", tmp_path, download=False)
    test = load_dataset("imagenette", "test", cfg)
    assert test.images.shape == (6, 1, 16, 16) and test.images.dtype == torch.uint8
    assert sorted(test.labels.tolist()) == [0, 0, 0, 1, 1, 1]
    assert test.info.class_names == ("tench", "English springer") and test.info.num_classes == 2
    assert load_dataset("imagenette", "train", {**cfg, "grayscale": False}).images.shape == (6, 3, 16, 16)
    with pytest.raises(DatasetError, match="datasets.imagenette.classes"):
        load_dataset("imagenette", "test", {**cfg, "classes": ["n03888605", "n01440764"]})  # no such folder here
    with pytest.raises(DatasetError, match="datasets.imagenette.classes: unknown"):
        load_dataset("imagenette", "test", {**cfg, "classes": ["n00000000", "n01440764"]})
    with pytest.raises(DatasetError, match="datasets.imagenette.root"):
        check_source("imagenette", tmp_path / "elsewhere", download=False)
