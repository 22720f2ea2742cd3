"""One entry module per workflow stage: plain paths and settings in, result files out.

Each Snakemake script imports exactly one of these modules, which imports only what its stage runs, so a rule's
code inputs (freqmaps._dependencies) are what the stage really runs: editing the statistics reruns the
statistics, not the training.

- :mod:`~freqmaps.stages.train`: prepare one classifier;
- :mod:`~freqmaps.stages.attack`: attack a shard of the analysed images, merge the shards;
- :mod:`~freqmaps.stages.learn_maps`: learn a shard of essential or adversarial maps;
- :mod:`~freqmaps.stages.shards`: the scatter item, merging shards, the map shards' gather;
- :mod:`~freqmaps.stages.correlate`: every statistic between E and A against its nulls;
- :mod:`~freqmaps.stages.summary`: the experiment's summary and verdict;
- :mod:`~freqmaps.stages.run_facts`: what ran.

The stage functions whose names differ from their module's are also reachable as ``freqmaps.stages.<name>``,
imported on first use only (PEP 562), so importing one stage module never runs the others. ``train``,
``attack``, ``correlate`` and ``run_facts`` are reached through their modules
(``freqmaps.stages.correlate.correlate``): importing a submodule makes its name an attribute of the package,
so a lazily re-exported function of the same name would turn into the module once its module is imported.
"""

from __future__ import annotations

from freqmaps._lazy import lazy_exports

__getattr__, __all__ = lazy_exports(
    __name__,
    {  # the module that defines them -> public names
        "freqmaps.stages.attack": ("gather_attack",),
        "freqmaps.stages.learn_maps": ("learn_maps_shard",),
        "freqmaps.stages.shards": ("parse_shard", "merge_shards", "gather_maps", "PROVENANCE_KEYS"),
        "freqmaps.stages.correlate": ("kept_pairs",),
        "freqmaps.stages.summary": ("summarise",),
        "freqmaps.stages.run_facts": ("maps_outcomes", "RUN_FACTS_DOC"),
        "freqmaps.classifier": ("analysed_images",),
    },
)
