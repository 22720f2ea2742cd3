"""Loaders read the real on-disk formats, written small here, through one registry, and refuse damaged files
naming them."""

import gzip
import pickle
import struct

import numpy as np
import pytest
import torch
import yaml

from freqmaps import data
from freqmaps.data import (
    AUGMENTATIONS,
    DATASETS,
    DatasetError,
    LazyImages,
    check_source,
    core,
    crop_and_flip,
    dataset_info,
    head,
    load_dataset,
    load_split,
    random_affine,
    random_crop,
    read_idx,
    select_test_images,
    stratified_images,
)
from tests.conftest import FASHION_MNIST_ROOT, REPO, require_fashion_mnist, write_idx


# ------------------------------------------------------------------ tiny datasets in their real formats
def _write_idx_set(root, rng, n_train=30, n_test=20):
    for split, n in (("train", n_train), ("t10k", n_test)):
        write_idx(root / f"{split}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        write_idx(root / f"{split}-labels-idx1-ubyte.gz", np.arange(n) % 10)


def _cifar_batch(rng, n, label_key, classes):
    return {"data": rng.integers(0, 256, (n, 3072)).astype(np.uint8), label_key: list(rng.integers(0, classes, n))}


def _write_cifar(folder, rng, batches, label_key="labels", classes=10):
    folder.mkdir(parents=True)
    for name, n in batches:
        batch = {
            "batch_label": name,
            "filenames": [f"{i}.png" for i in range(n)],
            **_cifar_batch(rng, n, label_key, classes),
        }
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))


def _write_png_folder(root, rng, classes=("cat", "dog", "eel"), splits=("train", "val"), n=4):
    """Images of mixed size and mode (gray, RGB, RGBA PNG and JPEG), one folder per class."""
    from PIL import Image

    modes = ("L", "RGB", "RGBA")
    for split in splits:
        for c, name in enumerate(classes):
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(n):
                mode = modes[(i + c) % 3]
                shape = (20 + 3 * i, 26) + ((len(mode),) if mode != "L" else ())
                image = Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode)
                suffix = ".jpg" if i == n - 1 and mode != "RGBA" else ".png"
                image.save(folder / f"{i}{suffix}")


def _write_tensors(root, rng, n_train=24, n_test=12, channels=2, size=12):
    from safetensors.torch import save_file

    root.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("test", n_test)):
        images = torch.from_numpy(rng.integers(0, 256, (n, channels, size, size), dtype=np.uint8))
        save_file({"images": images, "labels": torch.arange(n) % 3}, str(root / f"{split}.safetensors"))


def _write_svhn(root, rng, n_train=10, n_test=8):
    from scipy.io import savemat

    root.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("test", n_test)):
        images = rng.integers(0, 256, (32, 32, 3, n), dtype=np.uint8)
        savemat(root / f"{split}_32x32.mat", {"X": images, "y": (np.arange(n) % 10 + 1)[:, None]})


def _write_imagenette(root, rng):
    _write_png_folder(root / "imagenette2-160", rng, classes=("n01440764", "n02102040"), n=3)
    return {"classes": ["n01440764", "n02102040"], "size": 16}


WRITERS = {  # registry key -> writes a tiny dataset under root and returns its config
    "fashion_mnist": lambda root, rng: _write_idx_set(root, rng) or {},
    "mnist": lambda root, rng: _write_idx_set(root / "MNIST" / "raw", rng) or {},
    "cifar10": lambda root, rng: (
        _write_cifar(
            root / "cifar-10-batches-py", rng, [(f"data_batch_{i}", 4) for i in range(1, 6)] + [("test_batch", 6)]
        )
        or {}
    ),
    "cifar100": lambda root, rng: (
        _write_cifar(root / "cifar-100-python", rng, [("train", 12), ("test", 8)], "fine_labels", 100) or {}
    ),
    "svhn": lambda root, rng: _write_svhn(root, rng) or {},
    "imagenette": _write_imagenette,
    "image_folder": lambda root, rng: _write_png_folder(root, rng) or {"size": 16},
    "tensors": lambda root, rng: _write_tensors(root, rng) or {},
    "synthetic": lambda root, rng: {"size": 16, "n_train": 12, "n_test": 8, "radius_range": [2.0, 6.0]},
}


def test_schema_dataset_sources_equal_the_registry():
    schema = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
    settings = schema["properties"]["datasets"]["additionalProperties"]["properties"]
    assert set(settings["source"]["enum"]) == set(DATASETS) == set(WRITERS)
    assert set(settings["augmentation"]["enum"]) == set(AUGMENTATIONS)
    assert set(settings["selection"]["enum"]) == set(data.SELECTIONS)


@pytest.mark.parametrize("source", sorted(DATASETS))
def test_every_registered_dataset_loads_its_real_format(tmp_path, source):
    rng = np.random.default_rng(0)
    cfg = {"source": source, "root": str(tmp_path), **WRITERS[source](tmp_path, rng)}
    check_source("mine", cfg)
    info = dataset_info("mine", cfg)
    assert info.name == "mine" and info.augmentation in AUGMENTATIONS and len(info.class_names) == info.num_classes
    for split in ("train", "test"):
        subset = load_dataset("mine", split, cfg)
        assert subset.images.dtype == torch.uint8
        assert tuple(subset.images.shape[1:]) == (info.channels, info.size, info.size)
        assert len(subset) > 0 and 0 <= subset.labels.min() and subset.labels.max() < info.num_classes
        assert len(subset.info.mean) == len(subset.info.std) == info.channels
    resized = load_dataset("mine", "test", cfg, size=20)  # the model's resolution
    assert tuple(resized.images.shape[1:]) == (info.channels, 20, 20) and resized.info.size == 20
    chosen, ids = select_test_images("mine", {**cfg, "n_test_images": 5})
    assert len(chosen) == len(ids) == 5 and torch.equal(chosen.labels, load_dataset("mine", "test", cfg).labels[ids])


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


def test_cifar_python_batches_are_channel_major(tmp_path):
    WRITERS["cifar10"](tmp_path, np.random.default_rng(2))
    train, test = load_split("cifar10", "train", tmp_path), load_split("cifar10", "test", tmp_path)
    assert train.images.shape == (20, 3, 32, 32) and test.images.shape == (6, 3, 32, 32)
    raw = pickle.loads((tmp_path / "cifar-10-batches-py" / "test_batch").read_bytes())
    assert torch.equal(test.images[2], torch.from_numpy(raw["data"][2].reshape(3, 32, 32)))
    assert test.labels.tolist() == [int(v) for v in raw["labels"]]
    WRITERS["cifar100"](tmp_path, np.random.default_rng(3))
    test = load_split("cifar100", "test", tmp_path)
    raw = pickle.loads((tmp_path / "cifar-100-python" / "test").read_bytes())
    assert test.labels.tolist() == [int(v) for v in raw["fine_labels"]] and test.info.class_names[0] == "apple"


def test_svhn_matlab_layout_and_label_ten_is_zero(tmp_path):
    from scipy.io import loadmat

    WRITERS["svhn"](tmp_path, np.random.default_rng(4))
    test = load_split("svhn", "test", tmp_path)
    raw = loadmat(tmp_path / "test_32x32.mat")
    assert torch.equal(test.images[3], torch.from_numpy(raw["X"][:, :, :, 3].transpose(2, 0, 1).copy()))
    assert test.labels.tolist() == [(i % 10 + 1) % 10 for i in range(8)]  # 10 means the digit 0
    assert dataset_info("svhn").augmentation == "crop" and dataset_info("mnist").augmentation == "crop"


def test_cifar_loader_refuses_pickled_code(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()

    class Exploit:
        def __reduce__(self):
            return (print, ("pwned",))

    (folder / "test_batch").write_bytes(pickle.dumps({"data": Exploit(), "labels": [0]}))
    with pytest.raises(DatasetError, match="refusing to load builtins.print"):
        load_split("cifar10", "test", tmp_path)


def test_image_folder_classes_sizes_channels_and_statistics(tmp_path):
    rng = np.random.default_rng(5)
    _write_png_folder(tmp_path, rng, splits=("train", "test"))  # test/ (not val/) is found too
    cfg = {"source": "image_folder", "root": str(tmp_path), "size": 16}
    info = dataset_info("pets", cfg)
    assert info.class_names == ("cat", "dog", "eel") and info.channels == 3 and info.augmentation == "crop_flip"
    train = load_dataset("pets", "train", cfg)
    assert sorted(train.labels.tolist()) == [0] * 4 + [1] * 4 + [2] * 4 and train.images.shape == (12, 3, 16, 16)
    assert len(set(train.labels[:4].tolist())) > 1  # shuffled once: the first images are not all one class
    pixels = train.images.double().div(255).transpose(0, 1).flatten(1)
    assert np.allclose(train.info.mean, pixels.mean(1)) and np.allclose(train.info.std, pixels.std(1, correction=0))
    given = load_dataset("pets", "train", {**cfg, "mean": [0.5, 0.5, 0.5], "std": [0.2, 0.2, 0.2]})
    assert given.info.mean == (0.5, 0.5, 0.5) and given.info.std == (0.2, 0.2, 0.2)
    gray = load_dataset("pets", "test", {**cfg, "grayscale": True, "augmentation": "none"})
    assert gray.images.shape == (12, 1, 16, 16) and gray.info.augmentation == "none"
    with pytest.raises(DatasetError, match=r"datasets\.pets\.mean/std: need 3 values"):
        dataset_info("pets", {**cfg, "mean": [0.5], "std": [0.2]})


def test_big_splits_are_read_in_batches_with_the_same_images(tmp_path, monkeypatch):
    rng = np.random.default_rng(6)
    _write_png_folder(tmp_path / "folder", rng)
    _write_tensors(tmp_path / "tensors", rng)
    for source, root in (("image_folder", "folder"), ("tensors", "tensors")):
        cfg = {"source": source, "root": str(tmp_path / root), "size": 16}
        whole = load_dataset("x", "train", cfg)
        monkeypatch.setattr(core, "IN_MEMORY_LIMIT_BYTES", 0)  # read where the images are read
        lazy = load_dataset("x", "train", cfg)
        monkeypatch.undo()
        assert isinstance(lazy.images, LazyImages) and not isinstance(whole.images, LazyImages)
        index = torch.tensor([5, 0, 7])
        assert torch.equal(lazy.floats(index), whole.floats(index)) and torch.equal(lazy.images[2:9], whole.images[2:9])
        assert lazy.info.mean == pytest.approx(whole.info.mean) and lazy.info.std == pytest.approx(whole.info.std)
        assert torch.equal(lazy.subset(index).images, whole.images[index])


def test_image_folder_errors_name_the_folder(tmp_path):
    rng = np.random.default_rng(7)
    cfg = {"source": "image_folder", "root": str(tmp_path)}
    with pytest.raises(DatasetError, match=r"datasets\.mine\.root: .* needs a train/ folder and a test/"):
        check_source("mine", cfg)
    _write_png_folder(tmp_path, rng)
    (tmp_path / "val" / "fox").mkdir()
    with pytest.raises(DatasetError, match=r"class folders \['fox'\] have no train/ counterpart"):
        check_source("mine", cfg)
    (tmp_path / "val" / "fox").rmdir()
    (tmp_path / "train" / "cat" / "3.jpg").write_bytes(b"not a jpeg")
    check_source("mine", cfg)
    with pytest.raises(DatasetError, match=r"cat/3\.jpg: not a readable PNG/JPEG image"):
        load_dataset("mine", "train", cfg)
    with pytest.raises(DatasetError, match=r"datasets\.mine\.source: unknown dataset 'imagenet'"):
        check_source("mine", {"source": "imagenet"})
    with pytest.raises(DatasetError, match=r"datasets: unknown dataset 'mine'.*`source:"):
        check_source("mine", {})


def test_sixteen_bit_pngs_are_scaled_by_their_own_range(tmp_path):
    """Issue 29.1: 16-bit PNGs were decoded as uint16 and divided by 255 (pixels up to 257 'in [0, 1]'); one
    among 8-bit files gave a dtype-promotion traceback naming no file."""
    from PIL import Image

    rng = np.random.default_rng(9)
    _write_png_folder(tmp_path, rng, splits=("train", "test"))
    deep = rng.integers(0, 65536, (16, 16), dtype=np.uint16)
    deep[0, 0], deep[0, 1] = 0, 65535
    Image.fromarray(deep).save(tmp_path / "train" / "cat" / "deep.png")  # mode I;16
    cfg = {"source": "image_folder", "root": str(tmp_path), "size": 16, "grayscale": True}
    train = load_dataset("mine", "train", cfg)  # the 16-bit file beside 8-bit ones
    assert train.images.dtype == torch.uint8 and len(train.images) == 13
    expected = torch.from_numpy(np.round(deep.astype(np.float64) * 255 / 65535).astype(np.uint8))
    assert any(torch.equal(image[0], expected) for image in train.images)
    assert 0.0 <= train.info.mean[0] <= 1.0


def test_paths_that_are_no_image_files_are_named(tmp_path):
    """Issue 29.7: a directory named like an image, a dangling link: raw IsADirectoryError/FileNotFoundError."""
    rng = np.random.default_rng(10)
    for case, make in (("folder", lambda p: p.mkdir()), ("dangling", lambda p: p.symlink_to(p.parent / "none"))):
        root = tmp_path / case
        _write_png_folder(root, rng, splits=("train", "test"))
        make(root / "train" / "cat" / "sub.png")
        with pytest.raises(DatasetError, match=r"cat/sub\.png: not a readable image file"):
            load_dataset("mine", "train", {"source": "image_folder", "root": str(root), "size": 16})


def test_tensor_files_must_hold_uint8_images_and_int64_labels(tmp_path):
    from safetensors.torch import save_file

    _write_tensors(tmp_path, np.random.default_rng(8))
    save_file({"images": torch.rand(4, 1, 8, 8), "labels": torch.arange(4)}, str(tmp_path / "test.safetensors"))
    with pytest.raises(DatasetError, match=r"test\.safetensors: expected uint8 images .* found F32"):
        check_source("mine", {"source": "tensors", "root": str(tmp_path)})
    (tmp_path / "test.safetensors").write_bytes(b"\x00" * 20)
    with pytest.raises(DatasetError, match=r"test\.safetensors: not a readable safetensors file"):
        check_source("mine", {"source": "tensors", "root": str(tmp_path)})


# ------------------------------------------------------------------ damaged files (issue 17, item 7)
def _idx_bytes(type_code, dims, payload):
    return struct.pack(">BBBB", 0, 0, type_code, len(dims)) + struct.pack(f">{len(dims)}I", *dims) + payload


DAMAGED_IDX = {  # name -> (bytes of t10k-images-idx3-ubyte.gz before gzip or None for raw bytes, expected message)
    "garbage gz": (None, b"this is not gzip at all", "damaged or truncated gzip archive"),
    "truncated gz": ("truncate", None, "damaged or truncated gzip archive|truncated or damaged IDX"),
    "shorter than its header": (_idx_bytes(8, (5, 28, 28), b"")[:9], None, "shorter than its IDX header"),
    "big-endian float": (_idx_bytes(0x0D, (2, 28, 28), np.zeros(2 * 784, ">f4").tobytes()), None, "float32 .*uint8"),
    "int8": (_idx_bytes(0x09, (2, 28, 28), np.zeros(2 * 784, "i1").tobytes()), None, r"int8 \(0x09\).*must be uint8"),
    "data shorter than header says": (_idx_bytes(8, (5, 28, 28), bytes(100)), None, "header says"),
}


@pytest.mark.parametrize("case", sorted(DAMAGED_IDX))
def test_damaged_idx_files_are_named_before_any_job_and_at_load(tmp_path, case):
    _write_idx_set(tmp_path, np.random.default_rng(9))
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    content, raw, message = DAMAGED_IDX[case]
    if raw is not None:
        path.write_bytes(raw)
    elif content == "truncate":
        path.write_bytes(path.read_bytes()[:-200])
    else:
        with gzip.open(path, "wb") as handle:
            handle.write(content)
    with pytest.raises(DatasetError, match=rf"t10k-images-idx3-ubyte\.gz: .*({message})"):
        check_source("fashion_mnist", {"root": str(tmp_path)})  # the Snakefile runs this at parse time
    with pytest.raises(DatasetError, match=r"t10k-images-idx3-ubyte\.gz: "):
        load_split("fashion_mnist", "test", tmp_path)


def test_damaged_cifar_batches_are_named(tmp_path):
    WRITERS["cifar10"](tmp_path, np.random.default_rng(10))
    path = tmp_path / "cifar-10-batches-py" / "test_batch"
    path.write_bytes(pickle.dumps([1, 2, 3], protocol=2))
    with pytest.raises(DatasetError, match=r"test_batch: not a CIFAR python batch \(not a pickled dict\)"):
        check_source("cifar10", {"root": str(tmp_path)})
    with pytest.raises(DatasetError, match=r"test_batch: not a CIFAR python batch \(expected a dict .* found list\)"):
        load_split("cifar10", "test", tmp_path)
    path.write_bytes(pickle.dumps({"data": np.zeros((2, 3072), np.float32), "labels": [0, 1]}, protocol=2))
    with pytest.raises(DatasetError, match=r"test_batch: image data of type float32; CIFAR images must be uint8"):
        load_split("cifar10", "test", tmp_path)
    path.write_bytes(pickle.dumps({"data": np.zeros((2, 3072), np.uint8), "labels": [0, 1]}, protocol=2)[:30])
    with pytest.raises(DatasetError, match=r"test_batch: not a CIFAR python batch"):
        load_split("cifar10", "test", tmp_path)


def test_damaged_svhn_file_is_named(tmp_path):
    WRITERS["svhn"](tmp_path, np.random.default_rng(11))
    (tmp_path / "test_32x32.mat").write_bytes(b"MATLAB garbage" * 20)
    with pytest.raises(DatasetError, match=r"test_32x32\.mat: not a MATLAB file of SVHN images"):
        load_split("svhn", "test", tmp_path)


def test_read_idx_names_a_truncated_file(tmp_path):
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    write_idx(path, np.zeros((5, 28, 28)))
    data_bytes = gzip.open(path).read()
    with gzip.open(path, "wb") as handle:
        handle.write(data_bytes[:-100])
    with pytest.raises(DatasetError, match="t10k-images-idx3-ubyte.gz: truncated"):
        read_idx(path)


def test_missing_files_name_the_config_key(tmp_path):
    with pytest.raises(DatasetError, match=r"datasets\.fashion_mnist\.root"):
        load_split("fashion_mnist", "test", tmp_path)
    with pytest.raises(DatasetError, match=r"datasets\.cifar10\.root"):
        check_source("cifar10", {"root": str(tmp_path)})
    check_source("cifar10", {"root": str(tmp_path), "download": True})  # allowed to fetch: no error yet
    with pytest.raises(DatasetError, match="unknown dataset 'imagenet'"):
        load_split("imagenet", "test")


# ------------------------------------------------------------------ which test images are analysed
def test_stratified_selection_is_balanced_seeded_and_recorded(tmp_path):
    labels = torch.arange(100) // 10  # a class-sorted file: the first 20 are two classes only
    chosen = stratified_images(labels, 20, seed=0)
    assert torch.bincount(labels[chosen], minlength=10).tolist() == [2] * 10
    assert torch.equal(chosen, stratified_images(labels, 20, seed=0)) and torch.equal(chosen, chosen.sort().values)
    assert not torch.equal(chosen, stratified_images(labels, 20, seed=1))
    uneven = torch.tensor([0] * 30 + [1] * 3 + [2] * 7)
    counts = torch.bincount(uneven[stratified_images(uneven, 12, seed=0)]).tolist()
    assert counts[1] == 3 and sorted(counts[::2]) == [4, 5]  # the small class whole, the others as even as can be
    rng = np.random.default_rng(12)
    _write_tensors(tmp_path, rng)
    cfg = {"source": "tensors", "root": str(tmp_path), "n_test_images": 6}
    subset, ids = select_test_images("mine", cfg)  # stratified by default for tensor files
    assert torch.bincount(subset.labels).tolist() == [2, 2, 2]
    _, first = select_test_images("mine", {**cfg, "selection": "first"})
    assert first.tolist() == list(range(6))


def test_real_fashion_mnist():
    require_fashion_mnist()
    test = load_split("fashion_mnist", "test", FASHION_MNIST_ROOT)
    assert test.images.shape == (10000, 1, 28, 28)
    assert torch.bincount(test.labels).tolist() == [1000] * 10
    check_source("fashion_mnist", {"root": str(FASHION_MNIST_ROOT)})


# ------------------------------------------------------------------ augmentations
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


def test_crop_never_flips_and_crop_flip_does():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(16, 1, 8, 8)
    assert torch.equal(random_crop(x, g, padding=0), x)
    flipped = crop_and_flip(x, g, padding=0)
    assert any(torch.equal(flipped[i], x[i].flip(-1)) for i in range(16))
    assert AUGMENTATIONS["none"](x, g) is x


def test_imagenette_folders_load_as_configured(tmp_path):
    """Imagenette's layout (split/wnid/*.JPEG): chosen classes, square crop at the configured size, grayscale."""
    cfg = {"root": str(tmp_path), **_write_imagenette(tmp_path, np.random.default_rng(0)), "grayscale": True}
    check_source("imagenette", cfg)
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
        check_source("imagenette", {"root": str(tmp_path / "elsewhere")})


def test_training_uses_the_dataset_augmentation_unless_told():
    from freqmaps.runtime import seed_everything
    from freqmaps.training import TrainSettings, train_classifier

    cfg = {"size": 16, "n_train": 32, "n_test": 8, "radius_range": [2.0, 6.0]}
    train, test = load_dataset("synthetic", "train", cfg), load_dataset("synthetic", "test", cfg)
    assert train.info.augmentation == "crop"  # orientation-coded wedges: no flips
    for given, used in ((None, "crop"), ("none", "none"), ("crop_flip", "crop_flip")):
        settings = TrainSettings(epochs=1, batch_size=16, base_augmentation=given)
        train_classifier(train, test, settings, torch.device("cpu"), seed_everything(0))
        assert settings.base_augmentation == used


def test_uncompressed_idx_length_is_checked_before_any_job(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    _write_idx_set(raw, np.random.default_rng(13))
    for path in raw.glob("*.gz"):
        path.with_suffix("").write_bytes(gzip.open(path).read())
        path.unlink()
    check_source("mnist", {"root": str(tmp_path)})
    images = raw / "train-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:-1])
    with pytest.raises(DatasetError, match=r"train-images-idx3-ubyte: truncated or damaged IDX file"):
        check_source("mnist", {"root": str(tmp_path)})
