"""freqmaps: which Fourier frequencies a classifier needs, which an adversarial attack exploits,
and how the two are related.

The library holds all the logic; the Snakemake workflow only wires its functions together.
It never imports snakemake.
"""

__version__ = "0.1.0"
