"""Faults: a run killed during the maps stage resumes without redoing finished shards and ends with results
bit-identical to an uninterrupted run (so the same seed on the CPU gives the same maps and statistics);
a damaged result file names itself and how to regenerate it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from base64 import urlsafe_b64decode
from pathlib import Path

import pytest
import torch

from freqmaps.io import load_tensors
from tests.conftest import TINY_CONFIG, TINY_RESULTS, result_tensors, snakemake, snakemake_command

pytestmark = pytest.mark.e2e


def confirmed_shards(workdir: Path) -> list[Path]:
    """Map shards that exist and that Snakemake has recorded as finished (no incomplete marker left).

    A shard whose file exists but whose job was not yet recorded as finished when the run died is, rightly,
    recomputed on resume: Snakemake cannot know that its job completed."""
    markers = workdir / ".snakemake" / "incomplete"
    incomplete = set()
    for marker in markers.rglob("*") if markers.exists() else []:
        if marker.is_file():
            try:
                encoded = "".join(part.lstrip("@") for part in marker.relative_to(markers).parts)
                incomplete.add(urlsafe_b64decode(encoded).decode())
            except ValueError:
                continue  # not a marker (e.g. migration_underway)
    shards = sorted((workdir / TINY_RESULTS / "maps").rglob("shards/*.safetensors"))
    return [p for p in shards if str(p.relative_to(workdir)) not in incomplete]


def test_killed_run_resumes_and_matches_uninterrupted_run(tiny_run, tmp_path):
    shutil.copy(TINY_CONFIG, tmp_path / "config.yaml")
    # the same cores as the uninterrupted run: jobs get the same thread counts, hence the same arithmetic
    command = snakemake_command(tmp_path)
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 600
    try:
        while not confirmed_shards(tmp_path):
            assert process.poll() is None, "the run ended before any map shard was finished"
            assert time.time() < deadline, "no finished map shard after 10 minutes"
            time.sleep(0.2)
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # a crash, not a polite stop
        process.wait()
    finished = {p: p.stat().st_mtime_ns for p in confirmed_shards(tmp_path)}
    assert 0 < len(finished) < 6, "the kill should fall between the first and the last of the 6 shards"
    for path in (tmp_path / TINY_RESULTS / "maps").rglob("shards/*.safetensors"):
        load_tensors(path)  # atomic writes: every file under its final name is complete

    unlocked = snakemake(tmp_path, "--unlock")  # a killed Snakemake leaves its lock, as after a crash
    assert unlocked.returncode == 0, unlocked.stderr
    resumed = snakemake(tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-4000:]
    for path, mtime in finished.items():
        assert path.stat().st_mtime_ns == mtime, f"{path.name} was recomputed"
    ours, reference = result_tensors(tmp_path), result_tensors(tiny_run)
    assert ours.keys() == reference.keys()
    for key in reference:
        assert torch.equal(ours[key], reference[key]), key
    for table in ("stats/pgd.csv", "stats/fgsm.csv"):
        assert (tmp_path / TINY_RESULTS / table).read_text() == (tiny_run / TINY_RESULTS / table).read_text()


def test_truncated_weights_name_the_file_and_the_fix(tiny_run, tmp_path):
    workdir = tmp_path / "run"
    shutil.copytree(tiny_run, workdir, symlinks=True)
    weights = workdir / TINY_RESULTS / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    os.utime(weights, ns=(weights.stat().st_atime_ns, (workdir / TINY_RESULTS / "model.json").stat().st_mtime_ns))
    target = f"{TINY_RESULTS}/attacks/pgd/shards/1-of-1.safetensors"  # the job that reads the weights
    (workdir / target).unlink()
    result = snakemake(workdir, target)
    assert result.returncode != 0
    logs = (workdir / "logs").rglob("attack_pgd_1-of-1.log")
    text = result.stdout + result.stderr + "".join(p.read_text() for p in logs)
    assert "model.safetensors: corrupted or truncated" in text
    assert "rerun" in text
