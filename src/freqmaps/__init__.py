"""freqmaps: which Fourier frequencies a classifier needs, which an adversarial attack exploits,
and how the two are related.

The library holds all the logic; the Snakemake workflow only wires its functions together.
It never imports snakemake.
"""

import os
import sys
from importlib.metadata import PackageNotFoundError, version

# Idle OpenMP threads sleep instead of spinning: on cores shared with other processes, threads spinning at
# torch's barriers take the cores from the working ones (information imbalance several times slower under two
# busy processes, BENCHMARKS.md "Shared cores"). OpenMP reads this once, when torch loads, so it is set here,
# before any freqmaps module imports torch; a value the user set is kept. IDLE_THREADS_SPIN says whether the
# policy in effect may spin (torch loaded first without the variable, or another value chosen): then
# freqmaps.runtime.shared_core_threads keeps the neighbour engine off cores other processes hold, and where
# torch came first the heavy calls say so once (freqmaps.runtime.note_spinning_threads).
TORCH_FIRST = "torch" in sys.modules and "OMP_WAIT_POLICY" not in os.environ  # OpenMP chose its default
IDLE_THREADS_SPIN = TORCH_FIRST or os.environ.get("OMP_WAIT_POLICY", "PASSIVE").upper() != "PASSIVE"
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

try:
    __version__ = version("freqmaps")  # the one version: pyproject.toml's, as installed
except PackageNotFoundError:  # a source tree on sys.path without an install
    __version__ = "0+unknown"
