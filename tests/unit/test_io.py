"""Result files: atomic writes, metadata round trip, and damaged files that name themselves."""

import pytest
import torch

from freqmaps.io import ResultFileError, atomic_path, load_tensors, save_tensors, sidecar_path


def test_round_trip_with_metadata(tmp_path):
    path = tmp_path / "maps.safetensors"
    save_tensors(
        path,
        {"maps": torch.rand(3, 1, 4, 4), "ids": torch.arange(3)},
        {"kind": "essential", "seed": 0, "settings": {"lam": 0.5}},
    )
    tensors, meta = load_tensors(path)
    assert tensors["maps"].shape == (3, 1, 4, 4) and meta["settings"] == {"lam": 0.5}


def test_failed_write_leaves_no_file(tmp_path):
    path = tmp_path / "out.bin"
    with pytest.raises(RuntimeError), atomic_path(path) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_truncated_file_names_itself_and_the_fix(tmp_path):
    path = tmp_path / "model.safetensors"
    save_tensors(path, {"w": torch.rand(100, 100)}, {"arch": "small_cnn"})
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(ResultFileError, match=r"model\.safetensors: corrupted or truncated.*rerun"):
        load_tensors(path)
    with pytest.raises(ResultFileError, match="no such file"):
        load_tensors(tmp_path / "missing.safetensors")


def test_results_get_ordinary_permissions(tmp_path):
    import os
    import stat

    path = tmp_path / "table.json"
    from freqmaps.io import write_json

    write_json(path, {"a": 1})
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


def test_a_sidecar_lies_beside_its_result_file_with_the_suffix_json():
    assert sidecar_path("results/a/attacks/pgd.safetensors").as_posix() == "results/a/attacks/pgd.json"
    assert sidecar_path("results/a/stats/pgd.csv").as_posix() == "results/a/stats/pgd.json"
