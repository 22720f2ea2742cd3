"""Faults: a run killed during the maps stage resumes without redoing finished shards and ends with results
bit-identical to an uninterrupted run (so the same seed on the CPU gives the same maps and statistics);
a damaged result file names itself and a command that regenerates it; a run copied with its workflow reruns
nothing; config values that used to crash a job stop the run before any job."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from base64 import urlsafe_b64decode
from pathlib import Path

import pytest
import torch

from freqmaps.io import load_tensors
from tests.conftest import (
    RUN_TIMEOUT,
    TINY_CONFIG,
    TINY_RESULTS,
    checkout,
    plan,
    refusal,
    result_tensors,
    snakemake,
    snakemake_command,
)

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


@pytest.mark.slow
def test_killed_run_resumes_and_matches_uninterrupted_run(tiny_run, tmp_path):
    shutil.copy(TINY_CONFIG, tmp_path / "config.yaml")
    # the files compared below as targets (their shards come as the gathers' inputs), not the whole run: the
    # figures, agreement tables and summaries after them are read by no assertion here
    tables = [f"{TINY_RESULTS}/stats/{attack}.csv" for attack in ("pgd", "fgsm")]
    merged = (p for p in (tiny_run / TINY_RESULTS).rglob("*.safetensors") if "shards" not in p.parts)
    targets = [*tables, *sorted(str(p.relative_to(tiny_run)) for p in merged)]
    # the same cores as the uninterrupted run: jobs get the same thread counts, hence the same arithmetic
    command = snakemake_command(tmp_path, *targets)
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + RUN_TIMEOUT
    try:
        while not confirmed_shards(tmp_path):
            assert process.poll() is None, "the run ended before any map shard was finished"
            assert time.time() < deadline, f"no finished map shard after {RUN_TIMEOUT} s"
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
    resumed = snakemake(tmp_path, *targets)
    assert resumed.returncode == 0, resumed.stderr[-4000:]
    for path, mtime in finished.items():
        assert path.stat().st_mtime_ns == mtime, f"{path.name} was recomputed"
    ours, reference = result_tensors(tmp_path), result_tensors(tiny_run)
    assert ours.keys() == reference.keys()
    for key in reference:
        assert torch.equal(ours[key], reference[key]), key
    for table in tables:
        assert (tmp_path / table).read_text() == (tiny_run / table).read_text()


@pytest.mark.slow
def test_truncated_weights_name_the_file_and_the_command_that_restores_it(tiny_run, tmp_path):
    """The job that reads damaged weights names the file and a command; issue 17.12: following the command
    rebuilds the file although its downstream files exist."""
    workdir = tmp_path / "run"
    shutil.copytree(tiny_run, workdir, symlinks=True)
    weights = workdir / TINY_RESULTS / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    os.utime(weights, ns=(weights.stat().st_atime_ns, (workdir / TINY_RESULTS / "model.json").stat().st_mtime_ns))
    target = f"{TINY_RESULTS}/attacks/pgd/shards/1-of-1.safetensors"  # the job that reads the weights
    (workdir / target).unlink()
    failed = snakemake(workdir, target)
    assert failed.returncode != 0
    logs = (workdir / "logs").rglob("attack_pgd_1-of-1.log")
    text = failed.stdout + failed.stderr + "".join(p.read_text() for p in logs)
    assert "model.safetensors: corrupted or truncated" in text
    assert "rerun" in text
    command = re.search(r"`snakemake ([^`]*model\.safetensors)`", text)
    assert command, text[-3000:]
    followed = snakemake(workdir, *command.group(1).split())
    assert followed.returncode == 0, followed.stderr[-3000:]
    restored, _ = load_tensors(weights)
    original, _ = load_tensors(tiny_run / TINY_RESULTS / "model.safetensors")
    assert restored.keys() == original.keys()
    assert all(torch.equal(restored[key], original[key]) for key in original)  # same seed, same weights


@pytest.mark.slow
def test_a_seed_beyond_32_bits_trains_and_attacks_and_its_run_moves_without_rerunning(tmp_path):
    """Issue 17.1: seeds: [4294967296] used to fail in training, [42949] in the attack. Issue 17.11: the library
    files a job depends on are recorded relative to the working directory, so the finished run copied (or
    moved) with its workflow from scratch to project storage plans no job. One run of a user's clone checks
    both (they were two runs of the same jobs)."""
    seed = 4294967296
    run = checkout(tmp_path / "scratch")
    text = TINY_CONFIG.read_text().replace("seeds: [0]", f"seeds: [{seed}]").replace("n_train: 3000", "n_train: 500")
    (run / "config.yaml").write_text(text)
    target = f"results/default/fashion_mnist/cnn/seed{seed}/attacks/pgd.safetensors"
    command = [sys.executable, "-m", "snakemake", "--snakefile", "Snakefile", "--cores", "2"]
    done = subprocess.run([*command, target], cwd=run, capture_output=True, text=True, timeout=RUN_TIMEOUT)
    assert done.returncode == 0, done.stderr[-3000:]
    tensors, meta = load_tensors(run / target)
    assert meta["seed"] == seed and len(tensors["ids"]) == 24
    moved = tmp_path / "project" / "moved"
    shutil.copytree(run, moved, symlinks=True)  # shutil keeps the modification times, as cp -a does
    assert plan(moved, target, snakefile=moved / "Snakefile") == []  # nothing to be done


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda text: text.replace("epochs: 1, n_train: 2000", "epoch: 1, n_train: 2000"), "frequency_bias.train"),
        (lambda text: text.replace("seeds: [0]", "seeds: [0.0]"), "seeds.0: 0.0"),
        (lambda text: text.replace("  k: [1]", "  k: [1]\n  pool: 100"), "stats.pool: 100"),
        (lambda text: text + "maps:\n  lam: 0.1\n", "key 'maps' appears twice"),
        (lambda text: text.replace("  cnn:", '  "cnn\\n":'), "is not allowed"),
    ],
)
def test_config_defects_stop_before_any_job_naming_the_key(tmp_path, edit, expected):
    (tmp_path / "config.yaml").write_text(edit(TINY_CONFIG.read_text()))
    message = refusal(tmp_path)
    assert expected in message, message[-3000:]
    assert "$schema" not in message  # the key, not a dump of the schema
    assert not (tmp_path / "results").exists()


@pytest.mark.slow
def test_a_plain_rerun_restores_a_deleted_result(tiny_run, tmp_path):
    """Issue 29.3: after ``rm maps/essential.safetensors`` (or an attack's statistics) a plain run said "Nothing
    to be done" and left the file missing. Now every result a user reads is a target of the default run: its
    deletion plans the job that writes it."""
    workdir = tmp_path / "run"
    shutil.copytree(tiny_run, workdir, symlinks=True)
    assert plan(workdir) == []
    writers = {
        "maps/essential.safetensors": "gather_essential_maps",
        "maps/adversarial/pgd.safetensors": "gather_adversarial_maps",
        "stats/fgsm.csv": "correlate",
        "attacks/pgd.safetensors": "gather_attack",
        "model.safetensors": "train",
    }
    for name, rule in writers.items():
        path = workdir / TINY_RESULTS / name
        kept = tmp_path / "kept"
        shutil.move(path, kept)  # a rename: the file comes back with its own time
        assert rule in {planned for planned, _ in plan(workdir)}, f"deleting {name} does not plan {rule}"
        shutil.move(kept, path)
    assert plan(workdir) == []
