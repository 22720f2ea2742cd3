"""Statistics between essential maps E and adversarial maps A, one row per image (docs/METHOD.md §4).

One module per method family, over private kernels:

- ``views``: the feature rows (maps, band energies);
- ``similarity``: cosine, Pearson, linear CKA and SVCCA, with their reusable sides;
- ``neighbours``: the certified exact neighbour and rank engine;
- ``imbalance``: information imbalance, TwoNN and IdCor;
- ``resampling``: re-pairing nulls, permutation p-values, intervals;
- ``compare``: the registry of statistics and :func:`compare`.

Everything runs in torch (GPU when present).
"""

from freqmaps.stats.compare import (
    COLUMNS,
    STATISTICS,
    Comparison,
    Estimate,
    Paired,
    Statistic,
    StatsSettings,
    compare,
    compare_maps,
    matrix_statistics,
    not_compared,
    statistic_generator,
    statistic_layout,
    statistic_values,
)
from freqmaps.stats.imbalance import idcor, idcor_prepare, information_imbalance, two_nearest, twonn, twonn_dadapy
from freqmaps.stats.neighbours import (
    Space,
    computed_exactly,
    gram_precision,
    imbalance_ranks,
    nearest_neighbours,
    query_ranks,
    space_imbalance_ranks,
    spaces,
    summed_terms,
)
from freqmaps.stats.resampling import (
    NULLS,
    bootstrap_interval,
    half_sample_interval,
    permutation_p,
    repairings,
)
from freqmaps.stats.similarity import (
    cka_of_sides,
    cka_side,
    cosine_per_image,
    linear_cka,
    pearson_per_image,
    svcca,
    svcca_of_sides,
    svcca_side,
)
from freqmaps.stats.views import DC_MODES, VIEWS, dc_share, features, without_dc

__all__ = [
    "COLUMNS",
    "DC_MODES",
    "NULLS",
    "STATISTICS",
    "VIEWS",
    "Comparison",
    "Estimate",
    "Paired",
    "Space",
    "Statistic",
    "StatsSettings",
    "bootstrap_interval",
    "cka_of_sides",
    "cka_side",
    "compare",
    "compare_maps",
    "dc_share",
    "cosine_per_image",
    "features",
    "computed_exactly",
    "gram_precision",
    "summed_terms",
    "half_sample_interval",
    "idcor",
    "idcor_prepare",
    "imbalance_ranks",
    "information_imbalance",
    "linear_cka",
    "matrix_statistics",
    "nearest_neighbours",
    "not_compared",
    "pearson_per_image",
    "permutation_p",
    "query_ranks",
    "repairings",
    "space_imbalance_ranks",
    "spaces",
    "statistic_generator",
    "statistic_layout",
    "statistic_values",
    "svcca",
    "svcca_of_sides",
    "svcca_side",
    "two_nearest",
    "twonn",
    "twonn_dadapy",
    "without_dc",
]
