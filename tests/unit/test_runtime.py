"""Threads on shared cores (freqmaps.runtime): the choice from fake affinity, quota and load; no timings."""

import os
import warnings

import pytest
import torch

import freqmaps
from freqmaps import runtime


@pytest.mark.parametrize(
    ("cores", "busy", "cap", "spinning", "expected"),
    [
        (2, 0.0, 2, False, 2),  # quiet: every core the caller allows
        (2, 2.0, 2, False, 2),  # sleeping waits: each thread is a share of the busy cores
        (2, 0.0, 1, False, 1),  # the caller's cap (a rule's threads, torch.set_num_threads)
        (2, 0.0, 8, False, 2),  # never more threads than cores
        (2, 0.0, 2, True, 2),  # spinning waits on a quiet machine
        (2, 1.0, 2, True, 1),  # spinning waits: off the core another process holds
        (2, 2.0, 2, True, 1),  # ... and at least one thread
        (8, 2.4, 8, True, 6),  # busy rounded to the nearest whole core
        (8, 2.6, 8, True, 5),
        (8, 9.0, 4, True, 1),
    ],
)
def test_shared_core_count(cores, busy, cap, spinning, expected):
    assert runtime.shared_core_count(cores, busy, cap, spinning=spinning) == expected


def test_fixed_threads_override_the_choice():
    assert runtime.shared_core_count(2, 2.0, 2, spinning=True, fixed=3) == 3


def test_available_cores_are_the_affinity_lowered_to_the_cgroup_quota(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3, 4, 5}, raising=False)
    monkeypatch.setattr(runtime, "_cgroup_quota", lambda: None)
    assert runtime.available_cores() == 6
    monkeypatch.setattr(runtime, "_cgroup_quota", lambda: 2.5)  # docker --cpus 2.5
    assert runtime.available_cores() == 3
    monkeypatch.setattr(runtime, "_cgroup_quota", lambda: 16.0)
    assert runtime.available_cores() == 6


@pytest.mark.parametrize(
    ("v2", "v1", "expected"),
    [
        ("max 100000\n", None, None),  # v2, no limit
        ("250000 100000\n", None, 2.5),  # v2: docker --cpus 2.5
        (None, ("150000", "100000"), 1.5),  # v1 quota and period
        (None, ("-1", "100000"), None),  # v1, no limit
        (None, None, None),  # no cgroup files
    ],
)
def test_cgroup_quota_is_read_from_v2_or_v1_files(monkeypatch, tmp_path, v2, v1, expected):
    v2_file, v1_file = tmp_path / "cpu.max", tmp_path / "cpu" / "cpu.cfs_quota_us"
    if v2 is not None:
        v2_file.write_text(v2)
    if v1 is not None:
        v1_file.parent.mkdir()
        v1_file.write_text(v1[0] + "\n")
        (v1_file.parent / "cpu.cfs_period_us").write_text(v1[1] + "\n")
    monkeypatch.setattr(runtime, "CGROUP_CPU_FILES", (v2_file, v1_file))
    assert runtime._cgroup_quota() == expected


def test_busy_cores_are_the_other_runnable_threads_on_this_process_share(monkeypatch, tmp_path):
    loadavg = tmp_path / "loadavg"
    loadavg.write_text("3.10 2.50 1.20 3/412 12345\n")  # 3 runnable now, this reader among them
    monkeypatch.setattr(runtime, "LOADAVG", loadavg)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert runtime.busy_cores(2) == 2.0
    monkeypatch.setattr(os, "cpu_count", lambda: 8)  # 2 of 8 CPUs: a quarter of the machine's load
    assert runtime.busy_cores(2) == 0.5
    loadavg.write_text("0.00 0.00 0.00 1/412 12345\n")
    assert runtime.busy_cores(2) == 0.0
    monkeypatch.setattr(runtime, "LOADAVG", tmp_path / "absent")  # no /proc: the one-minute load average
    monkeypatch.setattr(os, "getloadavg", lambda: (4.0, 0.0, 0.0))
    assert runtime.busy_cores(2) == 1.0


def test_the_engine_runs_on_the_chosen_threads_and_restores_the_callers(monkeypatch, tmp_path):
    loadavg = tmp_path / "loadavg"
    loadavg.write_text("2.00 2.00 2.00 3/412 12345\n")
    monkeypatch.setattr(runtime, "LOADAVG", loadavg)
    monkeypatch.setattr(runtime, "available_cores", lambda: 2)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(freqmaps, "IDLE_THREADS_SPIN", True)
    seen = []
    monkeypatch.setattr(runtime, "_fixed_threads", lambda: None)

    @runtime.on_shared_cores
    def work():
        seen.append(torch.get_num_threads())

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        work()
        assert seen == [1]  # two other processes busy, spinning waits: one thread
        assert torch.get_num_threads() == 2  # the caller's again
        monkeypatch.setattr(freqmaps, "IDLE_THREADS_SPIN", False)
        work()
        assert seen == [1, 2]
    finally:
        torch.set_num_threads(before)


def test_freqmaps_threads_must_be_a_positive_whole_number(monkeypatch):
    monkeypatch.setenv(runtime.THREADS_VARIABLE, "two")
    with pytest.raises(ValueError, match="FREQMAPS_THREADS='two'"):
        runtime.chosen_threads()
    monkeypatch.setenv(runtime.THREADS_VARIABLE, "1")
    assert runtime.chosen_threads() == 1


def test_importing_freqmaps_lets_idle_openmp_threads_sleep():
    """In a fresh interpreter: the variable is set before torch loads, and a user's own value is kept."""
    import subprocess
    import sys

    code = "import freqmaps, os; print(os.environ['OMP_WAIT_POLICY'], freqmaps.IDLE_THREADS_SPIN)"
    env = {key: value for key, value in os.environ.items() if key != "OMP_WAIT_POLICY"}
    run = lambda source, **extra: subprocess.run(  # noqa: E731
        [sys.executable, "-c", source], env={**env, **extra}, capture_output=True, text=True, check=True
    ).stdout.split()
    code = code.replace("freqmaps.IDLE_THREADS_SPIN", "freqmaps.IDLE_THREADS_SPIN, freqmaps.TORCH_FIRST")
    assert run(code) == ["PASSIVE", "False", "False"]
    assert run(code, OMP_WAIT_POLICY="ACTIVE") == ["ACTIVE", "True", "False"]
    torch_first = "import sys; sys.modules['torch'] = type(sys)('torch'); "  # as if torch were loaded (fast)
    assert run(torch_first + code) == ["PASSIVE", "True", "True"]  # torch first: OpenMP already chose to spin


def test_torch_imported_first_is_said_once_per_process(monkeypatch):
    monkeypatch.setattr(runtime, "_NOTED", [])
    monkeypatch.setattr(freqmaps, "TORCH_FIRST", False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        runtime.note_spinning_threads()  # freqmaps first: nothing to say
    monkeypatch.setattr(freqmaps, "TORCH_FIRST", True)
    with pytest.warns(RuntimeWarning, match="import freqmaps first"):
        runtime.note_spinning_threads()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        runtime.note_spinning_threads()  # once
