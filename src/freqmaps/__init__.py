"""freqmaps: which Fourier frequencies a classifier needs, which an adversarial attack exploits,
and how the two are related.

The library holds all the logic; the Snakemake workflow only wires its functions together.
It never imports snakemake.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("freqmaps")  # the one version: pyproject.toml's, as installed
except PackageNotFoundError:  # a source tree on sys.path without an install
    __version__ = "0+unknown"
