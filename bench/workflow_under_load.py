"""``make run`` of a config from nothing, quiet and beside P competing busy processes (a shared node).

Each run starts in a fresh clone of this checkout's HEAD (so nothing is cached from another run, and the
checkout's own ``results/`` is never touched), with the clone's library first on ``PYTHONPATH`` (the checkout
may change meanwhile), and uses this checkout's virtual environment (``make run VENV=...``: no install is
timed). The P competing processes are single-thread float64 matrix products
(bench/measure.py ``busy_processes``), started just before the run and stopped after it. Prints one JSON line
per run (wall seconds, the load average before and after, the jobs' summed CPU from the run's job records)
and the report last, with the contended/quiet ratio of each P > 0 against the quiet run.

    .venv/bin/python bench/workflow_under_load.py [--contend 0 1] [--config config.yaml] [--keep]

What runs is HEAD: uncommitted changes are not measured (the report names the commit).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

# isort: off
import freqmaps  # noqa: F401  (before torch, which measure imports: this process's idle threads sleep)

# isort: on
from measure import bench_report, busy_processes

from freqmaps.docs_numbers import timing_summary

REPO = Path(__file__).resolve().parents[1]


def one_run(contend: int, config: str, keep: bool) -> dict:
    clone = Path(tempfile.mkdtemp(prefix="freqmaps-run-"))
    subprocess.run(["git", "clone", "--quiet", "--shared", str(REPO), str(clone)], check=True)
    venv = REPO / ".venv"
    # -o: the stamp of the environment counts as up to date (the clone's files are newer than it)
    command = ["make", "-C", str(clone), "-o", f"{venv}/.installed", "run", f"VENV={venv}"]
    if config != "config.yaml":
        command.append(f"CONFIG={config}")
    log = clone / "make_run.log"
    with busy_processes(contend):
        load_before = os.getloadavg()
        start = time.perf_counter()
        with log.open("w") as handle:
            env = {
                **os.environ,
                "PYTHONPATH": os.pathsep.join(filter(None, [str(clone / "src"), os.environ.get("PYTHONPATH")])),
            }
            status = subprocess.run(command, stdout=handle, stderr=subprocess.STDOUT, env=env).returncode
        seconds = time.perf_counter() - start
        load_after = os.getloadavg()
    jobs = timing_summary(clone / "benchmarks")  # Snakemake's job records, every experiment of the run
    record = {
        "contend": contend,
        "config": config,
        "seconds": seconds,
        "returncode": status,
        "load_average_before": load_before,
        "load_average_after": load_after,
        "jobs_s": jobs["total_s"],  # each job's wall time, summed
        "jobs_cpu_time": jobs["total_cpu_time"],
        "clone": str(clone),
        "commit": subprocess.run(
            ["git", "-C", str(clone), "rev-parse", "HEAD"], capture_output=True, text=True
        ).stdout.strip(),
    }
    if status != 0:
        record["log_tail"] = log.read_text()[-2000:]
    if not keep and status == 0:
        shutil.rmtree(clone, ignore_errors=True)
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contend", type=int, nargs="+", default=[0, 1], help="busy processes per run (0 = quiet)")
    parser.add_argument("--config", default="config.yaml")
    parser.add_argument("--keep", action="store_true", help="keep each run's clone (its results and log)")
    args = parser.parse_args()
    runs = []
    for contend in args.contend:
        runs.append(one_run(contend, args.config, args.keep))
        print(json.dumps(runs[-1]), flush=True)
    quiet = next((run["seconds"] for run in runs if run["contend"] == 0), None)
    ratios = {str(run["contend"]): run["seconds"] / quiet for run in runs if quiet and run["contend"]}
    print(bench_report("workflow_under_load", "cpu", runs, cores=os.cpu_count(), contended_over_quiet=ratios))


if __name__ == "__main__":
    main()
