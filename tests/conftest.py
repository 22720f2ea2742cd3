"""Shared fixtures: small real-format datasets, tiny models, and the repository paths."""

from __future__ import annotations

import gzip
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import freqmaps  # noqa: F401  (before torch, as in every freqmaps process: idle OpenMP threads sleep)

# isort: split
import numpy as np
import pytest
import torch

# In pytest-xdist's processes, each takes its share of the cores for torch's own threads: N processes each on
# every core oversubscribe them (a map-engine test took 41 s in `make test-fast`, 10 s with its share). The
# workflow runs the tests start are other processes, with the threads their rules give them.
if os.environ.get("PYTEST_XDIST_WORKER_COUNT"):
    from freqmaps.runtime import available_cores

    torch.set_num_threads(max(1, available_cores() // int(os.environ["PYTEST_XDIST_WORKER_COUNT"])))

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
FASHION_MNIST_ROOT = Path("/usr/share/datasets/fashion-mnist")


def write_idx(path: Path, array: np.ndarray, compress: bool = True) -> None:
    """Write an IDX file as the (Fashion-)MNIST distributions do: magic, big-endian dims, raw bytes."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    if compress:
        with gzip.open(path, "wb") as handle:
            handle.write(payload)
    else:
        path.write_bytes(payload)


@pytest.fixture
def idx_root(tmp_path: Path) -> Path:
    """A Debian-layout Fashion-MNIST folder with 60 train / 20 test images."""
    rng = np.random.default_rng(0)
    for split, n in (("train", 60), ("t10k", 20)):
        write_idx(tmp_path / f"{split}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        write_idx(tmp_path / f"{split}-labels-idx1-ubyte.gz", np.arange(n) % 10)
    return tmp_path


def require_fashion_mnist() -> None:
    if not (FASHION_MNIST_ROOT / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip("Fashion-MNIST not installed (`make test` installs the Debian package dataset-fashion-mnist)")


FIXED_CNN = FIXTURES / "small_cnn_fashion_mnist.safetensors"


@pytest.fixture(scope="session")
def fixed_cnn():
    """A small CNN trained for one epoch on 6000 Fashion-MNIST images, frozen into a file
    (tests/fixtures/write_small_cnn.py writes it): the same weights on every machine, for tests that judge
    decisions near a boundary, and no training in the suite; the first 1000 test images."""
    require_fashion_mnist()
    from freqmaps.data import FASHION_MNIST, head, load_split
    from freqmaps.io import load_tensors
    from freqmaps.models import build_model, freeze

    state, meta = load_tensors(FIXED_CNN)
    model = build_model("small_cnn", FASHION_MNIST)
    model.load_state_dict(state)
    return freeze(model), head(load_split("fashion_mnist", "test"), 1000), meta


# ------------------------------------------------------------------ running the real workflow
import fcntl  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

import yaml  # noqa: E402

TINY_CONFIG = REPO / "tests" / "e2e" / "tiny_config.yaml"
DEFAULT_RESULTS = "results/default"  # a run of config.yaml (no --configfile) is the experiment `default`
TINY_RESULTS = f"{DEFAULT_RESULTS}/fashion_mnist/cnn/seed0"


CHECKOUT_PARTS = ("Snakefile", "workflow", "scripts", "src", "envs", "profiles")


def checkout(path: Path) -> Path:
    """A copy of the workflow's files at ``path``, as a user's clone holds them (its library modules are the
    workflow's code inputs there, so a test may edit them without touching the repository)."""
    path.mkdir(parents=True, exist_ok=True)
    for part in CHECKOUT_PARTS:
        source = REPO / part
        if source.is_dir():
            shutil.copytree(source, path / part, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(source, path / part)
    return path


def snakefile_of(workdir: Path) -> Path:
    """The Snakefile that runs ``workdir``: its own when it holds a checkout (:func:`checkout`), else the
    repository's."""
    own = Path(workdir) / "Snakefile"
    return own if own.is_file() else REPO / "Snakefile"


def snakemake_command(workdir: Path, *args: str) -> list[str]:
    """The command that runs the workflow in ``workdir`` (:func:`snakefile_of`; 2 cores unless args say
    otherwise)."""
    command = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(snakefile_of(workdir)),
        "--directory",
        str(workdir),
        *args,
    ]
    if not any(a.startswith("--cores") or a.startswith("--profile") for a in args):
        command += ["--cores", "2"]
    return command


# A bound on each workflow run, against a hang, not a speed check: the tiny run takes about a minute on an idle
# 2-core machine but ten times as long on a shared one (measured at load 13: 900 s).
RUN_TIMEOUT = 3600


def snakemake(
    workdir: Path, *args: str, timeout: int = RUN_TIMEOUT, env: dict | None = None
) -> subprocess.CompletedProcess:
    """Run the repository's workflow in ``workdir`` (which holds its config.yaml) to completion."""
    return subprocess.run(snakemake_command(workdir, *args), capture_output=True, text=True, timeout=timeout, env=env)


@dataclass(frozen=True)
class PlannedJob:
    """One job of an in-process dry run: its rule, wildcards, output and input files, why it runs (Snakemake's own
    words, as `snakemake --dry-run` prints them after "reason:") and the rules of the planned jobs it reads from."""

    rule: str
    wildcards: dict[str, str]
    output: tuple[str, ...]
    input: tuple[str, ...]
    reason: str
    upstream: frozenset[str]


def plan_jobs(
    workdir: Path,
    *targets: str,
    configfile: Path | None = None,
    snakefile: Path | None = None,
    forceall: bool = False,
    allowed_rules: tuple[str, ...] = (),
) -> list[PlannedJob]:
    """Every job that `snakemake --dry-run [targets]` (with ``--forceall``, ``--allowed-rules``) would run in
    ``workdir`` (with ``snakefile``, by default :func:`snakefile_of`), planned in this process through Snakemake's
    API: the same parse, checks and DAG as the command, without a Python start and the imports per plan. A config
    the workflow refuses raises the workflow's own error (its message is what the command prints)."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import ConfigSettings, DAGSettings, OutputSettings, Quietness, ResourceSettings

    config = ConfigSettings(configfiles=[Path(configfile)] if configfile else [])
    dag_settings = DAGSettings(targets=set(targets), forceall=forceall, allowed_rules=frozenset(allowed_rules))
    with SnakemakeApi(OutputSettings(quiet={Quietness.ALL}, enable_file_logging=False)) as api:
        workflow = api.workflow(
            ResourceSettings(cores=2),
            config_settings=config,
            snakefile=Path(snakefile or snakefile_of(workdir)),
            workdir=Path(workdir),
        )
        workflow.dag(dag_settings).execute_workflow(executor="local", pseudo_executor="dryrun")
        dag = workflow._workflow.dag  # the API has no public reader of the planned jobs (Snakemake 9)
        jobs = list(dag.needrun_jobs(exclude_finished=False))  # a dry run marks its jobs finished
        return [
            PlannedJob(
                rule=job.rule.name,
                wildcards={key: str(value) for key, value in job.wildcards_dict.items()},
                output=tuple(str(f) for f in job.output),
                input=tuple(str(f) for f in job.input),
                reason=_why(dag.reason(job)),
                upstream=frozenset(dep.rule.name for dep in dag.dependencies[job] if dep in jobs),
            )
            for job in jobs
        ]


def _why(reason) -> str:
    """Snakemake's reason for a job as the dry-run command prints it: a dry run marks its jobs finished, which
    wraps the reason in "Finished (was: ...)"."""
    text = str(reason)
    prefix = "Finished (was: "
    return text[len(prefix) : -1] if text.startswith(prefix) and text.endswith(")") else text


def plan(
    workdir: Path, *targets: str, configfile: Path | None = None, snakefile: Path | None = None
) -> list[tuple[str, dict[str, str]]]:
    """(rule, wildcards) of every job that `snakemake --dry-run [targets]` would run in ``workdir`` (see
    :func:`plan_jobs`)."""
    return [
        (job.rule, job.wildcards) for job in plan_jobs(workdir, *targets, configfile=configfile, snakefile=snakefile)
    ]


def planned_jobs(
    workdir: Path, *targets: str, configfile: Path | None = None, snakefile: Path | None = None
) -> list[tuple[str, dict[str, str], list[str]]]:
    """:func:`plan` with each job's input files."""
    return [
        (job.rule, job.wildcards, list(job.input))
        for job in plan_jobs(workdir, *targets, configfile=configfile, snakefile=snakefile)
    ]


def refusal(workdir: Path, *targets: str) -> str:
    """The message with which the workflow refuses to plan in ``workdir`` (the test fails if it plans): a config
    the checks refuse ends the parse with SystemExit(message), which the command prints alone; Snakemake's own
    refusals (no rule, a missing file) raise its errors."""
    with pytest.raises((Exception, SystemExit)) as refused:
        plan(workdir, *targets)
    return str(refused.value)


def _session_root(tmp_path_factory) -> Path:
    """Where this test session keeps its workflow runs: the folder every pytest-xdist process of the session
    shares (the parent of each process's own base folder), else this process's base folder."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def session_run(tmp_path_factory, name: str, make) -> Path:
    """The workflow run ``name`` of this test session: made once, by ``make(workdir)`` in the first process
    that asks for it; a process that asks meanwhile waits for it (a lock file), later ones read it. A run
    that failed fails every test that asks for it with its message, without a second try."""
    root = _session_root(tmp_path_factory)
    workdir, done, failed = root / name, root / f"{name}.done", root / f"{name}.failed"
    with open(root / f"{name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if failed.exists():
            pytest.fail(f"the session's {name} run failed (in another test process):\n{failed.read_text()}")
        if not done.exists():
            shutil.rmtree(workdir, ignore_errors=True)
            workdir.mkdir()
            try:
                make(workdir)
            except BaseException as error:
                failed.write_text(f"{type(error).__name__}: {error}"[-6000:])
                raise
            done.touch()
    return workdir


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """The tiny config run once per session, locally, to completion, in a checkout of its own (so a test may
    edit its library modules); tests copy it before changing anything else."""
    require_fashion_mnist()

    def make(workdir: Path) -> None:
        checkout(workdir)
        shutil.copy(TINY_CONFIG, workdir / "config.yaml")
        run = snakemake(workdir)
        assert run.returncode == 0, run.stderr[-4000:]

    return session_run(tmp_path_factory, "tiny_local", make)


KNOWN_ANSWER_RUN = f"{DEFAULT_RESULTS}/synthetic/cnn/seed0"


@pytest.fixture(scope="session")
def known_answer_run(tmp_path_factory) -> Path:
    """configs/synthetic_known_answer.yaml at CI size with every baseline, run once for the known-answer and the
    baselines tests: the synthetic dataset's known answer and planted-band table (one model, attacks and maps
    for both), and the frequency-bias study on the two-scale dataset."""
    return session_run(tmp_path_factory, "known_answer", _make_known_answer_run)


def _make_known_answer_run(workdir: Path) -> None:
    from freqmaps.baselines import BASELINES

    config = yaml.safe_load((REPO / "configs/synthetic_known_answer.yaml").read_text())
    config["device"] = "cpu"
    # CI size: fewer images, epochs and steps, the same science. Checked on a run of this config (session 9): the
    # test accuracy 1.00, essential-map mass in band 1.00 (area 0.24), 28 adversarial maps judged with 0.45 of
    # their mass in the adversarial class's own band (area 0.15), attacked accuracy 0.23 adversarial vs 0.05
    # standard; about 300 s of CPU against 420 s at the sizes before
    for dataset in config["datasets"].values():
        dataset.update(n_train=2000, n_test=300, n_test_images=60)
    config["models"]["cnn"]["train"].update(epochs=2, milestones=[1])
    config["maps"]["max_steps"] = 200
    study = config["frequency_bias"]
    study["train"].update(epochs=2, milestones=[1])
    study["variants"]["adversarial"]["adv_steps"] = 3
    study["image_maps"].update(n_images=40, batch_size=40, max_steps=200)
    study["dataset_mask"].update(n_train_images=600, epochs=3)
    study["class_maps"]["max_iterations"] = 60
    config["baselines"] = {"measures": list(BASELINES), "heat_map": {"n_images": 24}}
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    # the files the tests read, not the known_answer target: that would add the two-scale dataset's model,
    # attacks and maps (about 140 s of jobs that no test reads)
    targets = [f"{KNOWN_ANSWER_RUN}/known_answer/known_answer.json", f"{KNOWN_ANSWER_RUN}/baselines/known_answer.csv"]
    run = snakemake(workdir, *targets, "frequency_bias", timeout=2 * RUN_TIMEOUT)
    assert run.returncode == 0, run.stderr[-4000:]


def result_tensors(workdir: Path) -> dict[str, torch.Tensor]:
    """Every tensor of every result file of a tiny run, keyed by file and tensor name."""
    from freqmaps.io import load_tensors

    out = {}
    for path in sorted((workdir / TINY_RESULTS).rglob("*.safetensors")):
        tensors, _ = load_tensors(path)
        for key, value in tensors.items():
            out[f"{path.relative_to(workdir)}:{key}"] = value
    return out


# ------------------------------------------------------------------ the suite in several processes (pytest -n N)
# pytest-xdist hands out work units, here a test file each; the files below first, in this order: the two
# session runs start at once in two processes (the known-answer run is the longest), then the other workflow
# runs, so that no process waits for a run another is still making (session_run) and the short unit tests fill
# the end. Which test makes a session run is whichever asks first.
FIRST_UNITS = (
    "tests/e2e/test_known_answer.py",  # the known-answer run
    "tests/e2e/test_baselines.py",  # the tiny run
    "tests/slurm/test_slurm.py",
    "tests/e2e/test_own_models.py",
    "tests/e2e/test_own_data.py",
    "tests/e2e/test_faults.py",
    "tests/e2e/test_workflow.py",
)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """Test files as work units, :data:`FIRST_UNITS` handed out first."""
    from xdist.scheduler import LoadScopeScheduling

    class FirstUnitsScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return nodeid.split("::", 1)[0]

        def _assign_work_unit(self, node) -> None:
            for unit in reversed(FIRST_UNITS):
                if unit in self.workqueue:
                    self.workqueue.move_to_end(unit, last=False)
            super()._assign_work_unit(node)

    return FirstUnitsScheduling(config, log)
