"""Each stage's work on cores shared with busy processes: quiet against ``--contend P``, for OpenMP threads that
spin while idle (torch imported before freqmaps, the old default) and that sleep (``import freqmaps`` first).

Workloads, each small (seconds) and timed inside a fresh Python process (OpenMP reads its wait policy when
torch loads), after a warm-up: ``maps`` (the batched map engine, small CNN, 64 random 28x28 images, 20 steps),
``training`` (one epoch of the small CNN on 512 random images), ``baseline`` (one agreement table: a baseline
against a map set at the image level, cosine and information imbalance with 20 nulls, as
bench/baseline_agreement.py) and ``imbalance`` (information imbalance, N = 1500, X width 3072, Y width 1536,
k = 5). The P competing processes (single-thread float64 matrix products) are started and stopped by this
script, around each contended measurement. Prints one JSON line per (workload, waits, contend) and the report
last, with the load average before each measurement (the machine's own load is not controlled).

    python bench/shared_cores.py [--workloads maps training baseline imbalance] [--contend 2] [--repeats 1]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

WAITS = ("spin", "sleep")  # torch imported first (OpenMP's default wait) / freqmaps imported first (PASSIVE)


def workload(name: str):
    """The call to time (after one warm-up call)."""
    import torch

    from freqmaps import stats

    if name == "maps":
        from freqmaps.data import FASHION_MNIST
        from freqmaps.maps import MapSettings, learn_maps
        from freqmaps.models import build_model, freeze

        torch.manual_seed(0)
        model = freeze(build_model("small_cnn", FASHION_MNIST))
        images, targets = torch.rand(64, 1, 28, 28), torch.randint(0, 10, (64,))
        settings = MapSettings(lam=0.01, min_steps=20, max_steps=20, tol=0.0, batch_size=64)
        return lambda: learn_maps(model, images, targets, settings, torch.device("cpu"), 10, progress=False)
    if name == "training":
        from freqmaps.data import FASHION_MNIST, ImageSet
        from freqmaps.training import TrainSettings, train_classifier

        g = torch.Generator().manual_seed(0)
        train = ImageSet(
            torch.randint(0, 256, (512, 1, 28, 28), dtype=torch.uint8, generator=g),
            torch.randint(0, 10, (512,), generator=g),
            FASHION_MNIST,
        )
        test = ImageSet(train.images[:1], train.labels[:1], FASHION_MNIST)
        settings = TrainSettings(arch="small_cnn", variant="standard", epochs=1, batch_size=128)
        return lambda: train_classifier(train, test, settings, torch.device("cpu"), torch.Generator().manual_seed(0))
    if name == "baseline":
        from freqmaps.baselines import agreement

        g = torch.Generator().manual_seed(0)
        labels = torch.arange(300) % 10
        learned = (torch.nn.functional.avg_pool2d(torch.randn(300, 1, 28, 28, generator=g), 3, 1, 1) * 2 + 0.2).clamp(
            0, 1
        )
        baseline = (learned + 0.5 * torch.randn(learned.shape, generator=g)).abs()
        settings = stats.StatsSettings(
            statistics=["cosine", "information_imbalance"], nulls=["random"], k=[1], n_null=20, n_half_samples=20
        )
        return lambda: agreement.compare_with_map(
            baseline, learned, labels, ("B", "E"), settings, ["image"], 0, torch.device("cpu")
        )
    if name == "imbalance":
        import numpy as np

        rng = np.random.default_rng(0)
        X = rng.normal(size=(1500, 3072))
        Y = np.tanh(X @ rng.normal(size=(3072, 1536)) / np.sqrt(3072)) + 0.3 * rng.normal(size=(1500, 1536))
        tX, tY = torch.from_numpy(X), torch.from_numpy(Y)
        return lambda: stats.information_imbalance(tX, tY, k=5)
    raise ValueError(f"unknown workload {name!r}")


def worker(name: str, waits: str, repeats: int) -> None:
    """Runs in its own process: the import order sets the wait policy; prints the median seconds as JSON."""
    os.environ.pop("OMP_WAIT_POLICY", None)
    if waits == "spin":
        import torch  # noqa: F401  (before freqmaps: OpenMP keeps its default, spinning wait)
    import freqmaps

    # isort: split
    import torch

    call = workload(name)
    call()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    print(
        json.dumps(
            {
                "seconds": statistics.median(times),
                "torch_threads": torch.get_num_threads(),
                "idle_threads_spin": freqmaps.IDLE_THREADS_SPIN,
            }
        )
    )


def measure(name: str, waits: str, contend: int, repeats: int) -> dict:
    from measure import busy_processes

    with busy_processes(contend):
        load = os.getloadavg()[0]
        out = subprocess.run(
            [sys.executable, __file__, "--worker", name, waits, str(repeats)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        ).stdout
    return {
        "workload": name,
        "waits": waits,
        "contend": contend,
        "load_average": load,
        **json.loads(out.splitlines()[-1]),
    }


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", nargs="+", default=["maps", "training", "baseline", "imbalance"])
    parser.add_argument("--contend", type=int, default=2, help="competing busy single-thread processes")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--waits", nargs="+", choices=WAITS, default=list(WAITS))
    args = parser.parse_args()
    runs = []
    for name in args.workloads:
        for waits in args.waits:
            quiet = measure(name, waits, 0, args.repeats)
            busy = measure(name, waits, args.contend, args.repeats)
            for run in (quiet, busy):
                print(json.dumps(run), flush=True)
            runs += [quiet, {**busy, "contended_over_quiet": busy["seconds"] / quiet["seconds"]}]
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from measure import bench_report

    print(bench_report("shared_cores", "cpu", runs, contend=args.contend, repeats=args.repeats))


if __name__ == "__main__":
    main()
