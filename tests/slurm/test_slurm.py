"""The tiny config through `--profile profiles/slurm` on a real single-node SLURM cluster (fake GPU).

Every job must go through SLURM (job ids in sacct, one job log each), the results must equal a local
run's, and a failing job must make snakemake exit non-zero. The cluster is stopped even when a test
fails, and every call is bounded by a timeout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import torch
import yaml

from tests.conftest import REPO, TINY_CONFIG, result_tensors, snakemake

pytestmark = [pytest.mark.slurm, pytest.mark.slow]
HERE = Path(__file__).resolve().parent
LOCAL_RULES = {"gather_attack", "gather_essential_maps", "gather_adversarial_maps", "summary", "all"}


def _can_run_slurm() -> str | None:
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return "needs root and apt-get to install and start Debian's slurm-wlm"
    if os.environ.get("FREQMAPS_SKIP_SLURM"):
        return "FREQMAPS_SKIP_SLURM is set"
    return None


@pytest.fixture(scope="module")
def cluster():
    reason = _can_run_slurm()
    if reason:
        pytest.skip(reason)
    # munged refuses a socket under a directory that is not world-executable (pytest's tmp dirs are 0700)
    state = Path(tempfile.mkdtemp(prefix="freqmaps-slurm-ci-"))
    state.chmod(0o755)
    env = {**os.environ, "SLURM_CI_DIR": str(state), "FAKE_GPU": "1", "WITH_DBD": "1"}
    try:
        started = subprocess.run(
            ["timeout", "-k", "10", "400", str(HERE / "start_cluster.sh")], env=env, capture_output=True, text=True
        )
        assert started.returncode == 0, started.stdout[-3000:] + started.stderr[-3000:]
        yield env
    finally:
        subprocess.run(
            ["timeout", "-k", "10", "120", str(HERE / "stop_cluster.sh")],
            env={**env, "PURGE": "1"},
            capture_output=True,
            text=True,
        )


def _slurm_env(cluster_env: dict) -> dict:
    venv_bin = str(Path(os.sys.executable).parent)
    return {
        **cluster_env,
        "PATH": f"{venv_bin}:{cluster_env['PATH']}",
        "FREQMAPS_SLURM_PARTITION": "debug",
        "FREQMAPS_SLURM_ACCOUNT": "ci",
    }


# One branch of the tiny workflow (train, attack, 4 map shards and the statistics run on the cluster; the
# gathers run locally) keeps the test to a few minutes on a 2-core node.
TARGET = "results/default/fashion_mnist/cnn/seed0/stats/pgd.csv"


def _run_on_slurm(
    workdir: Path, env: dict, *options: str, target: str = TARGET, timeout: int = 1200
) -> subprocess.CompletedProcess:
    return snakemake(
        workdir,
        *options,
        "--profile",
        str(REPO / "profiles" / "slurm"),
        "--set-scatter",
        "maps=2",
        "--slurm-init-seconds-before-status-checks",
        "5",
        "--seconds-between-status-checks",
        "5",
        target,
        timeout=timeout,
        env=env,
    )


@pytest.fixture(scope="module")
def slurm_run(cluster, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("tiny_slurm")
    shutil.copy(TINY_CONFIG, workdir / "config.yaml")
    result = _run_on_slurm(workdir, _slurm_env(cluster))
    assert result.returncode == 0, result.stderr[-6000:]
    return workdir, result


def test_every_cluster_job_ran_through_slurm(slurm_run, cluster):
    """Each cluster rule left a job log named after its SLURM job id, and sacct knows every one of those
    ids as COMPLETED in the configured partition and account; local rules have no job logs."""
    workdir, _ = slurm_run
    logs = list((workdir / ".snakemake" / "slurm_logs").rglob("*.log"))
    rules_with_logs = {p.parts[p.parts.index("slurm_logs") + 1].removeprefix("rule_") for p in logs}
    assert {"train", "attack", "essential_maps_shard", "adversarial_maps_shard", "correlate"} <= rules_with_logs
    assert not (LOCAL_RULES & rules_with_logs)
    job_ids = {p.stem for p in logs}
    assert len(job_ids) == 7  # train, attack, 2 + 2 map shards, correlate
    accounting = subprocess.run(
        [
            "timeout",
            "60",
            "sacct",
            "-X",
            "-n",
            "-P",
            "--format=JobID,State,Partition,Account",
            "-j",
            ",".join(sorted(job_ids)),
        ],
        capture_output=True,
        text=True,
        env=cluster,
    )
    states = {line.split("|")[0]: line.split("|")[1:] for line in accounting.stdout.splitlines() if line}
    assert set(states) == job_ids, accounting.stdout + accounting.stderr
    assert all(state == ["COMPLETED", "debug", "ci"] for state in states.values()), states


def test_slurm_results_equal_local_results(slurm_run, tiny_run):
    workdir, _ = slurm_run
    remote, local = result_tensors(workdir), result_tensors(tiny_run)
    assert remote.keys() and remote.keys() <= local.keys()
    assert any("maps/adversarial/pgd.safetensors" in key for key in remote)
    for key in remote:
        assert torch.equal(remote[key], local[key]), key
    stats = "results/default/fashion_mnist/cnn/seed0/stats/pgd.csv"
    assert (workdir / stats).read_text() == (tiny_run / stats).read_text()


def test_failing_job_makes_snakemake_fail(cluster, tmp_path):
    config = yaml.safe_load(TINY_CONFIG.read_text())
    config["device"] = "cuda"  # valid config, but the training job finds no GPU on the node and fails
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    # without the profile's one resubmission: the failure is the same, reported after one job instead of two
    result = _run_on_slurm(tmp_path, _slurm_env(cluster), "--retries", "0", target="train_all", timeout=600)
    assert result.returncode != 0
    assert "no CUDA device is visible" in result.stdout + result.stderr
