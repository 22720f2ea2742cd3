"""Every configured statistic between two row-paired representations, each against its nulls: :func:`compare`.

The statistics are the entries of :data:`STATISTICS` (key = the config's ``stats.statistics`` name): how to
estimate it with its interval and null draws, which direction means related, the interval method and the
rows it outputs (directions, one per k). A new statistic is one entry there.

Nulls re-pair the rows of the second representation against the first: at random, or within the same class,
which keeps the class structure and removes only per-image structure (docs/METHOD.md §4). Every statistic sees
the same re-pairings, drawn from one generator seeded by ``seed``; each statistic draws its interval from its
own stream, seeded from (seed, statistic, stream) (:func:`statistic_generator`), so adding or removing a
statistic changes no other's interval. :func:`compare_maps` handles the zero frequency (``stats.dc``).
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch

from freqmaps.config import schema_defaults
from freqmaps.runtime import fitted_seed
from freqmaps.stats.imbalance import MIN_TWONN_POINTS, idcor
from freqmaps.stats.neighbours import MEMORY_BYTES, gram_precision, space_imbalance_ranks, spaces
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
    pearson_per_image,
    svcca_of_sides,
    svcca_side,
)
from freqmaps.stats.views import DC_MODES, VIEWS, dc_share, features

log = logging.getLogger(__name__)

MIN_IDCOR_PAIRS = MIN_TWONN_POINTS + 1  # TwoNN of the pairs drops the last point of its fit
MIN_IDCOR_HALF_SAMPLE_PAIRS = 2 * MIN_IDCOR_PAIRS  # each random half must itself have a TwoNN
MIN_REPRESENTATION_PAIRS = 2  # CKA and SVCCA centre the rows: one pair leaves nothing to compare
MIN_REPRESENTATION_HALF_SAMPLE_PAIRS = 2 * MIN_REPRESENTATION_PAIRS  # each random half centred too
LEVEL = 0.95  # coverage of every interval
RELATED_WHEN = ("larger", "smaller")


@dataclass
@schema_defaults("stats")
class StatsSettings:
    """Which statistics, how many null draws, the feature view of the maps and the zero frequency's treatment.
    Defaults and meanings: the config schema's ``stats`` section."""

    statistics: list[str]
    nulls: list[str]
    n_null: int
    n_bootstrap: int  # intervals of the per-image means (cosine, Pearson)
    n_half_samples: int  # intervals of the other statistics (random halves)
    k: list[int]
    pool: int  # max_pool2d kernel over the shifted maps (7 for 224 px images, docs/METHOD.md §4.1)
    svcca_variance: float
    views: list[str]  # maps, and their band energies
    n_bands: int
    dc: str  # the zero frequency: include, exclude, or separate (excluded, reported beside)
    min_pairs: int  # fewer pairs read "undetermined" in the verdict
    p_value: str  # the verdict's p-values: normal_tail or permutation (freqmaps.verdict; the statistics ignore it)

    def __post_init__(self) -> None:
        for name in self.statistics:
            if name not in STATISTICS:
                raise ValueError(f"stats.statistics: unknown statistic {name!r}; known: {tuple(STATISTICS)}")
        for name in self.views:
            if name not in VIEWS:
                raise ValueError(f"stats.views: unknown view {name!r}; known: {VIEWS}")
        if self.dc not in DC_MODES:
            raise ValueError(f"stats.dc: {self.dc!r} is not one of {DC_MODES}")
        for name in self.nulls:
            if name not in NULLS:
                raise ValueError(f"stats.nulls: unknown null {name!r}; known: {NULLS}")
        if self.n_half_samples < 2:
            raise ValueError(f"stats.n_half_samples must be at least 2, got {self.n_half_samples}")
        if self.n_null < 1 or self.pool < 1 or any(k < 1 for k in self.k):
            raise ValueError("stats.n_null, stats.pool and every stats.k must be at least 1")


@dataclass
class Paired:
    """What every statistic sees: the paired rows, the nulls' re-pairings and the shared random stream; it
    leaves per-image values and diagnostics in ``per_image`` and ``details``."""

    E: torch.Tensor
    A: torch.Tensor
    repairings: dict[str, list[torch.Tensor]]
    settings: StatsSettings
    generator: torch.Generator
    names: tuple[str, str]
    per_image: dict[str, torch.Tensor] = field(default_factory=dict)
    details: dict[str, dict[str, Any]] = field(default_factory=dict)
    intervals: bool = True  # False: values only (NaN intervals), for callers that resample the pairs themselves

    @property
    def n(self) -> int:
        return len(self.E)

    def directions(self) -> tuple[str, str]:
        """Row names of the two directions of a directional statistic, first → second first."""
        first, second = self.names
        return f"{first}_to_{second}", f"{second}_to_{first}"


@dataclass(frozen=True)
class Estimate:
    """One output row before the nulls' summaries: the value, its interval and its null draws per null."""

    value: float
    ci: tuple[float, float]
    nulls: dict[str, np.ndarray]
    direction: str = ""
    k: int | None = None
    note: str = ""  # why the value is NaN, when it is


def not_computed(reason: str, direction: str = "", k: int | None = None) -> Estimate:
    """A row that could not be computed: NaN value, no interval, no null draws, and the reason (logged)."""
    log.warning("%s", reason)
    return Estimate(math.nan, (math.nan, math.nan), {}, direction, k, reason)


@dataclass(frozen=True)
class Statistic:
    """A registry entry: ``estimate(paired)`` gives its rows; ``related_when`` says which direction of the
    value means related ("larger" or "smaller"); ``ci_method`` names its interval; ``directional``: one row
    per direction; ``per_k``: one row per ``stats.k``; ``sides``: (side, combination) for statistics that
    reduce each representation once and combine (null draws permute a side)."""

    estimate: Callable[[Paired], list[Estimate]]
    related_when: str
    ci_method: str
    directional: bool = False
    per_k: bool = False
    sides: tuple[Callable[[torch.Tensor, StatsSettings], Any], Callable[[Any, Any], float]] | None = None

    def layout(self, paired: Paired) -> list[tuple[str, int | None]]:
        """The (direction, k) of every row it outputs, in order."""
        directions = paired.directions() if self.directional else ("",)
        ks: list[int | None] = list(paired.settings.k) if self.per_k else [None]
        return [(direction, k) for k in ks for direction in directions]


# ------------------------------------------------------------------ estimators of each family
def defined_mean(values: torch.Tensor) -> float:
    """The mean of the finite entries (NaN when there is none): per-image similarities are undefined for a
    pair whose map has no variation left, e.g. a map that keeps only the zero frequency once DC is left out
    (``stats.dc: separate`` or ``exclude``): its cosine with anything is 0 / 0."""
    finite = values[torch.isfinite(values)]
    return finite.mean().item() if finite.numel() else math.nan


def _per_image_mean(name: str, per_image: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> Callable:
    """Mean over images of a per-image similarity; percentile bootstrap interval over images (a mean of
    independent per-image values: resampling images with replacement is valid). A pair where the similarity is
    undefined (:func:`defined_mean`) is left out of the value, of its bootstrap and of every null draw (where a
    re-pairing brings such a map in); how many were left out is logged and kept in the details."""

    def estimate(paired: Paired) -> list[Estimate]:
        values = per_image(paired.E, paired.A)
        paired.per_image[name] = values.cpu()
        defined = values[torch.isfinite(values)]
        undefined = int(values.numel() - defined.numel())
        paired.details[name] = {
            "per_image_sd": defined.std(unbiased=False).item() if defined.numel() else math.nan,
            "undefined_pairs": undefined,
        }
        if not defined.numel():
            return [not_computed(f"{name}: undefined for all {values.numel()} pairs (maps without variation)")]
        if undefined:
            log.warning(
                "%s: undefined for %d of %d pairs (a map without variation, e.g. one that keeps only the zero "
                "frequency, which stats.dc leaves out): left out of the mean, its interval and every null draw",
                name,
                undefined,
                values.numel(),
            )
        ci = (math.nan, math.nan)
        if paired.intervals:
            ci = bootstrap_interval(defined, paired.settings.n_bootstrap, paired.generator, LEVEL)
        nulls = {
            kind: np.array([defined_mean(per_image(paired.E, paired.A[p])) for p in perms])
            for kind, perms in paired.repairings.items()
        }
        return [Estimate(defined.mean().item(), ci, nulls)]

    return estimate


def _of_sides(name: str) -> Callable:
    """A representation statistic from its registry entry's sides; null draws permute one side.

    Interval from random halves of the pairs (:func:`half_sample_interval`), not the bootstrap: resampling
    pairs with replacement duplicates rows, and a duplicated pair aligns with itself in both representations,
    so CKA and SVCCA of a bootstrap sample are inflated and the percentile interval sits above the estimate
    (11 of 18 default-run intervals excluded it). Halves hold distinct rows; their spread about their mean is
    the full-size standard error for statistics whose variance scales as 1/N, and the interval is centred on
    the estimate. Coverage is checked on data with a known population value (tests)."""

    def estimate(paired: Paired) -> list[Estimate]:
        if paired.n < MIN_REPRESENTATION_PAIRS:
            return [not_computed(f"{name}: needs at least {MIN_REPRESENTATION_PAIRS} pairs, got n={paired.n}")]
        side, combine = STATISTICS[name].sides
        of_e, of_a = side(paired.E, paired.settings), side(paired.A, paired.settings)
        nulls = {
            kind: np.array([combine(of_e, of_a.permuted(p)) for p in perms])
            for kind, perms in paired.repairings.items()
        }
        value = combine(of_e, of_a)
        ci = (math.nan, math.nan)  # halves of fewer than two pairs have nothing to centre
        if paired.intervals and paired.n >= MIN_REPRESENTATION_HALF_SAMPLE_PAIRS:
            ci = _half_sample_ci(
                lambda rows: combine(side(paired.E[rows], paired.settings), side(paired.A[rows], paired.settings)),
                value,
                paired,
            )
        return [Estimate(value, ci, nulls)]

    return estimate


def _half_sample_ci(statistic: Callable[[torch.Tensor], float], value: float, paired: Paired) -> tuple[float, float]:
    """:func:`half_sample_interval` of one scalar statistic of a subset of the pairs (rows on the device)."""
    (low,), (high,) = half_sample_interval(
        lambda rows: np.array([statistic(rows.to(paired.E.device))]),
        np.array([value]),
        paired.n,
        paired.settings.n_half_samples,
        paired.generator,
        LEVEL,
    )
    return float(low), float(high)


def _idcor(paired: Paired) -> list[Estimate]:
    """IdCor with its nulls; interval from random halves (neighbour statistics have no bootstrap)."""
    E, A, n = paired.E, paired.A, paired.n
    if n < MIN_IDCOR_PAIRS:
        return [not_computed(f"idcor: needs at least {MIN_IDCOR_PAIRS} pairs, got n={n}")]
    kinds = list(paired.repairings)
    result = idcor(E, A, [p for kind in kinds for p in paired.repairings[kind]])
    draws = np.split(result.get("null", np.array([])), np.cumsum([len(paired.repairings[k]) for k in kinds])[:-1])
    first, second = paired.names
    paired.details["idcor"] = {f"id_{first}": result["id_E"], f"id_{second}": result["id_A"]}
    paired.details["idcor"][f"id_{first}{second}"] = result["id_EA"]
    ci = (math.nan, math.nan)
    if paired.intervals and n >= MIN_IDCOR_HALF_SAMPLE_PAIRS:
        ci = _half_sample_ci(lambda rows: idcor(E[rows], A[rows])["value"], result["value"], paired)
    return [Estimate(result["value"], ci, dict(zip(kinds, draws, strict=True)) if kinds else {})]


def _information_imbalance(paired: Paired) -> list[Estimate]:
    """Δ in both directions at every k, one pass per space for the observation and all null draws; interval
    from random halves of the pairs, reusing the full spaces' Gram distances. A k that is not below the
    number of pairs gives a NaN row with the reason."""
    n, settings = paired.n, paired.settings
    directions = list(zip(paired.directions(), ("x_to_y", "y_to_x"), strict=True))
    ks = [k for k in settings.k if k < n]
    estimates: dict[int, list[Estimate]] = {
        k: [not_computed(f"information_imbalance: k={k} >= n={n} pairs", name, k) for name, _ in directions]
        for k in settings.k
        if k >= n
    }
    if ks:
        kmax = max(ks)
        draws = [(kind, p) for kind, perms in paired.repairings.items() for p in perms]
        precision = gram_precision(kmax * (1 + len(draws)), max(paired.E.shape[1], paired.A.shape[1]))
        full = spaces(paired.E, paired.A, memory_bytes=MEMORY_BYTES, precision=precision)
        ranks = space_imbalance_ranks(*full, kmax, [p for _, p in draws])
        paired.details["information_imbalance"] = {"ties": ranks["ties"]}

        def delta(rank_list: list[torch.Tensor], k: int) -> list[float]:
            return [r[:, :k].double().mean().item() / (len(r) / 2.0) for r in rank_list]

        def deltas(rows: torch.Tensor) -> np.ndarray:  # every (k, direction) on a half of the pairs; nan: k too large
            usable = [k for k in ks if k < len(rows)]
            halves = [space.subset(rows.to(paired.E.device)) for space in full]
            sub = space_imbalance_ranks(*halves, max(usable)) if usable else {}
            return np.array([delta(sub[d], k)[0] if k in usable else math.nan for k in ks for _, d in directions])

        observed = np.array([delta(ranks[d][:1], k)[0] for k in ks for _, d in directions])
        lows = highs = np.full(len(observed), math.nan)
        if paired.intervals:
            lows, highs = half_sample_interval(deltas, observed, n, settings.n_half_samples, paired.generator, LEVEL)
        for position, (k, (name, direction)) in enumerate((k, d) for k in ks for d in directions):
            _, *null_values = delta(ranks[direction], k)
            nulls = {
                kind: np.array([v for (kd, _), v in zip(draws, null_values, strict=True) if kd == kind])
                for kind in paired.repairings
            }
            ci = (float(lows[position]), float(highs[position]))
            estimates.setdefault(k, []).append(Estimate(float(observed[position]), ci, nulls, name, k))
    return [estimate for k in settings.k for estimate in estimates[k]]


# ------------------------------------------------------------------ the registry
STATISTICS: dict[str, Statistic] = {
    "cosine": Statistic(_per_image_mean("cosine", cosine_per_image), "larger", "bootstrap"),
    "pearson": Statistic(_per_image_mean("pearson", pearson_per_image), "larger", "bootstrap"),
    "cka": Statistic(_of_sides("cka"), "larger", "half_samples", sides=(lambda X, s: cka_side(X), cka_of_sides)),
    "svcca": Statistic(
        _of_sides("svcca"),
        "larger",
        "half_samples",
        sides=(lambda X, s: svcca_side(X, s.svcca_variance), svcca_of_sides),
    ),
    "idcor": Statistic(_idcor, "larger", "half_samples"),
    "information_imbalance": Statistic(_information_imbalance, "smaller", "half_samples", directional=True, per_k=True),
}


def matrix_statistics(settings: StatsSettings) -> dict[str, tuple[Callable, Callable]]:
    """name -> (side, combination) of the configured statistics that reduce each side once (CKA, SVCCA)."""
    return {
        name: (lambda X, side=entry.sides[0]: side(X, settings), entry.sides[1])
        for name, entry in STATISTICS.items()
        if entry.sides is not None and name in settings.statistics
    }


def statistic_values(
    name: str, E: torch.Tensor, A: torch.Tensor, settings: StatsSettings
) -> tuple[np.ndarray, torch.Tensor | None]:
    """The values of registry statistic ``name`` between the paired rows E and A, one per row of its layout
    (direction, k), without interval or null draws (NaN where it cannot be computed, e.g. k >= pairs), and its
    per-image values when the statistic is their mean (cosine, Pearson; else None): the engine of callers
    that resample the pairs themselves (:mod:`freqmaps.contrasts`)."""
    paired = Paired(E, A, {}, settings, torch.Generator().manual_seed(0), ("E", "A"), intervals=False)
    values = np.array([e.value for e in STATISTICS[name].estimate(paired)], dtype=np.float64)
    return values, paired.per_image.get(name)


def statistic_layout(name: str, settings: StatsSettings) -> list[tuple[str, int | None]]:
    """(direction, k) of each row registry statistic ``name`` outputs, directions named E_to_A and A_to_E."""
    empty = torch.zeros(0, 1)
    return STATISTICS[name].layout(Paired(empty, empty, {}, settings, torch.Generator(), ("E", "A")))


# ------------------------------------------------------------------ compare
@dataclass
class Comparison:
    """What :func:`compare` returns: flat ``rows`` (one per statistic × direction × k, in :data:`COLUMNS`
    order then the nulls' columns and ``note``), ``null_draws`` (long format), ``per_image`` values and
    ``details`` (diagnostics that are not table columns)."""

    rows: list[dict[str, Any]]
    null_draws: list[dict[str, Any]]
    per_image: list[dict[str, float]]
    details: dict[str, dict[str, Any]]


COLUMNS = ("statistic", "direction", "k", "n", "value", "ci_low", "ci_high", "ci_method", "related_when")
NULL_COLUMNS = ("null_mean", "null_sd", "p_value", "p_less")  # per null, prefixed by its name


def statistic_generator(seed: int, statistic: str, stream: str = "") -> torch.Generator:
    """The random stream of one statistic's interval, seeded from (seed, statistic, stream): ``stream`` names
    what else the table varies over (the view; the baselines' level and map), so no two statistics and no two
    tables share draws, and a statistic's interval does not depend on which other statistics run."""
    digest = hashlib.sha256(f"{seed}\x1f{statistic}\x1f{stream}".encode()).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest[:8], "little") >> 1)


def not_compared(settings: StatsSettings, reason: str, names: tuple[str, str] = ("E", "A")) -> Comparison:
    """The table :func:`compare_maps` would give with nothing to compare (no pairs): one row per configured
    statistic, direction and k with n = 0, every value NaN, no null draws, and ``reason`` as the note, so a
    branch without pairs keeps its place in the verdict and says why."""
    empty = Paired(torch.empty(0), torch.empty(0), {}, settings, torch.Generator(), names)
    rows = []
    for name, statistic in STATISTICS.items():
        if name not in settings.statistics:
            continue
        for direction, k in statistic.layout(empty):
            row: dict[str, Any] = {"statistic": name, "direction": direction, "k": k, "n": 0, "value": math.nan}
            row |= {"ci_low": math.nan, "ci_high": math.nan, "ci_method": statistic.ci_method}
            row["related_when"] = statistic.related_when
            row |= {f"{kind}_{column}": math.nan for kind in settings.nulls for column in NULL_COLUMNS}
            row["dc"] = settings.dc
            if settings.dc == "separate":
                row["value_with_dc"] = math.nan
            row |= {f"{names[0]}_dc_share": math.nan, f"{names[1]}_dc_share": math.nan, "note": reason}
            rows.append(row)
    return Comparison(rows, [], [], {})


def compare(
    X: torch.Tensor,
    Y: torch.Tensor,
    labels: torch.Tensor,
    settings: StatsSettings,
    seed: int,
    device: torch.device,
    names: tuple[str, str] = ("E", "A"),
    stream: str = "",
) -> Comparison:
    """Every configured statistic between the paired rows of X and Y, each against every configured null
    (docs/METHOD.md §4).

    Args:
        X: ``[N, D]`` float, one row per image (e.g. the essential maps through :func:`freqmaps.stats.features`,
            which turns shifted maps ``[N, C, H, W]`` into rows ``[N, D]``; for maps use :func:`compare_maps`,
            which also handles the zero frequency).
        Y: ``[N, D']`` float, row i paired with row i of X (the adversarial maps of the same images); D' may
            differ from D.
        labels: int64 ``[N]``, the images' true classes: the within-class null re-pairs only inside a class.
        settings: which statistics, nulls, draws, k (:class:`StatsSettings`; its defaults are the schema's).
        seed: seeds the re-pairings (one generator: every statistic sees the same ones) and, with each
            statistic's name and ``stream``, that statistic's interval draws (:func:`statistic_generator`).
        device: where to compute (rows are moved there and to float64).
        names: the two sides' names in the directional rows' ``direction`` (``"E_to_A"``, ``"A_to_E"``).
        stream: what else the caller varies over (a view, a level), so no two tables share interval draws.

    Returns:
        A :class:`Comparison`. ``rows``: one dict per statistic x direction x k, keys :data:`COLUMNS`
        (``statistic``, ``direction``, ``k``, ``n`` = N, ``value``, ``ci_low``, ``ci_high`` (95%),
        ``ci_method``, ``related_when``: ``larger`` or ``smaller`` values mean more related), then per null
        ``{null}_null_mean``, ``{null}_null_sd``, ``{null}_p_value`` (one-sided permutation p of being more
        related than the null) and ``{null}_p_less`` (less related), then ``note`` (why a value is NaN, else
        empty). ``null_draws``: one dict per draw (statistic, direction, k, null, draw, value).
        ``per_image``: N dicts of per-image values (cosine, Pearson). ``details``: diagnostics (e.g. IdCor's
        intrinsic dimensions).

    Example:
        >>> import torch
        >>> from freqmaps import stats
        >>> E = torch.rand(40, 64)
        >>> settings = stats.StatsSettings(statistics=["cosine"], nulls=["random"], n_null=99)
        >>> row = stats.compare(E, E + 0.01 * torch.rand(40, 64), torch.arange(40) % 4, settings, 0, "cpu").rows[0]
        >>> row["statistic"], row["n"], row["value"] > 0.99, row["random_p_value"] <= 0.02
        ('cosine', 40, True, True)
    """
    X, Y = X.to(device).double(), Y.to(device).double()
    generator = torch.Generator().manual_seed(fitted_seed(seed, 32))  # any admitted seed; < 2**32 as it is
    null_perms = {kind: repairings(labels, kind, settings.n_null, generator) for kind in settings.nulls}
    paired = Paired(X, Y, {k: [p.to(device) for p in v] for k, v in null_perms.items()}, settings, generator, names)
    rows: list[dict[str, Any]] = []
    null_draws: list[dict[str, Any]] = []
    for name, statistic in STATISTICS.items():
        if name not in settings.statistics:
            continue
        paired.generator = statistic_generator(seed, name, stream)
        estimates = statistic.estimate(paired)
        layout = [(e.direction, e.k) for e in estimates]
        if layout != statistic.layout(paired):
            raise RuntimeError(f"statistic {name!r} gave rows {layout}, its entry declares {statistic.layout(paired)}")
        for e in estimates:
            row: dict[str, Any] = {
                "statistic": name,
                "direction": e.direction,
                "k": e.k,
                "n": paired.n,
                "value": e.value,
                "ci_low": e.ci[0],
                "ci_high": e.ci[1],
                "ci_method": statistic.ci_method,
                "related_when": statistic.related_when,
            }
            for kind in settings.nulls:
                null = e.nulls.get(kind, np.array([]))
                computed = len(null) > 0 and not e.note
                row[f"{kind}_null_mean"] = float(np.mean(null)) if computed else math.nan
                row[f"{kind}_null_sd"] = float(np.std(null)) if computed else math.nan
                larger = statistic.related_when == "larger"
                row[f"{kind}_p_value"] = permutation_p(e.value, null, larger) if computed else math.nan
                row[f"{kind}_p_less"] = permutation_p(e.value, null, not larger) if computed else math.nan
                null_draws += [
                    {"statistic": name, "direction": e.direction, "k": e.k, "null": kind, "draw": i, "value": float(v)}
                    for i, v in enumerate(null)
                ]
            row["note"] = e.note
            rows.append(row)
    per_image = [{name: float(values[i]) for name, values in paired.per_image.items()} for i in range(paired.n)]
    return Comparison(rows, null_draws, per_image, paired.details)


def compare_maps(
    essential: torch.Tensor,
    adversarial: torch.Tensor,
    labels: torch.Tensor,
    settings: StatsSettings,
    seed: int,
    device: torch.device,
    view: str = "maps",
    names: tuple[str, str] = ("E", "A"),
    stream: str | None = None,
) -> Comparison:
    """:func:`compare` of two sets of shifted maps [N, C, H, W] in one view, the zero frequency handled as
    ``settings.dc`` says (docs/METHOD.md §4.1): ``include`` compares the maps as they are; ``exclude`` and
    ``separate`` compare them without DC, and ``separate`` adds ``value_with_dc`` beside each value (the
    statistic with DC, without nulls or interval), so a reader sees how much of it DC carries. Every row also
    carries ``dc`` (the mode) and ``{name}_dc_share``, the mean share of each set's L1 mass at DC."""
    include = settings.dc == "include"

    def rows_of(dc: bool) -> tuple[torch.Tensor, torch.Tensor]:
        return (
            features(essential, settings.pool, view, settings.n_bands, dc=dc),
            features(adversarial, settings.pool, view, settings.n_bands, dc=dc),
        )

    result = compare(*rows_of(include), labels, settings, seed, device, names, view if stream is None else stream)
    with_dc: dict[tuple, float] = {}
    if settings.dc == "separate":  # values only: one re-pairing and the fewest resampling draws
        cheap = replace(settings, nulls=["random"], n_null=1, n_bootstrap=1, n_half_samples=2)
        values = compare(*rows_of(True), labels, cheap, seed, device, names, "with_dc")
        with_dc = {(r["statistic"], r["direction"], r["k"]): r["value"] for r in values.rows}
    shares = {
        f"{names[0]}_dc_share": float(dc_share(essential).mean()) if len(essential) else math.nan,
        f"{names[1]}_dc_share": float(dc_share(adversarial).mean()) if len(adversarial) else math.nan,
    }
    for i, row in enumerate(result.rows):
        note = row.pop("note")
        row["dc"] = settings.dc
        if with_dc:
            row["value_with_dc"] = with_dc[(row["statistic"], row["direction"], row["k"])]
        result.rows[i] = {**row, **shares, "note": note}
    return result
