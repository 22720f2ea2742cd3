"""The answer of a run: tidy summary tables, the verdict table and their HTML renderings for the report.

Inputs are the flat rows of :func:`freqmaps.stats.compare_maps` (one per statistic x direction x k, with
``{null}_null_mean``, ``{null}_null_sd``, ``{null}_p_value`` (more related) and ``{null}_p_less`` (less related)
per null), written per model and attack by :func:`freqmaps.stages.correlate` beside a ``view`` column, and the
null draws behind them. This module adds the run's keys in front (:data:`RUN_KEYS`), and from them the verdict
(docs/METHOD.md §4.10): each statistic against each null as an effect size z = (value - null mean) / null sd,
signed so that positive means *more related than the null* (larger values for similarities, smaller for the
information imbalance), the two-sided permutation p-value, the normal-tail p-value of the same null (used
instead of the permutation p-value under ``stats.p_value: normal_tail`` when the draws pass a normality
check, so a p-value can go below the permutation floor 2 / (draws + 1)), the Benjamini-Hochberg adjusted
p-value over every used p-value of the run (one family: all rows and nulls with enough pairs, and the
contrasts), and a plain-words reading at false-discovery rate :data:`FDR_LEVEL`: more related than the null,
less related than the null, not distinguishable from it, or undetermined (a permutation p-value at its floor
that still fails, or too few pairs).
"""

from __future__ import annotations

import html
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from freqmaps.io import read_csv

RUN_KEYS = ("dataset", "model", "seed", "attack", "lam", "view")  # lam: maps.lam (absent in older tables)
ROW_KEYS = ("statistic", "direction", "k")  # with RUN_KEYS: one row of a comparison
FDR_LEVEL = 0.05
CONVERGENCE_WARNING = 0.1  # a share of maps stopped at max_steps above this is a caveat of the reading
OUTCOMES = ("more related than", "less related than", "not distinguishable from", "undetermined against")
P_VALUE_METHODS = ("normal_tail", "permutation")  # stats.p_value: how the verdict's p-values are computed
NORMALITY_LEVEL = 0.05  # draws whose D'Agostino-Pearson normality test gives p below this use the permutation p
MIN_NORMAL_DRAWS = 20  # fewer draws: no normality check (scipy's kurtosis test needs 20), the permutation p
DISPLAY_BOUND = 1e-6  # a normal-tail p below this is shown as "< 1e-06": beyond the draws only its order holds
SUMMARY_DOC = (
    "One row per dataset, model, seed, attack, view, statistic, direction and k. Columns in this order: "
    "dataset, model, seed, attack, lam (the maps' sparsity weight maps.lam), view (what the statistic is "
    "computed on: the flattened maps, or their "
    "radial / angular band energies); statistic; direction (information imbalance: E_to_A is how well the "
    "essential maps predict the adversarial maps' neighbourhoods; empty for symmetric statistics); k (neighbour "
    "order of the information imbalance); n (image pairs with both maps kept); value (on the true pairing); "
    "ci_low, ci_high (95% interval) and ci_method; related_when (larger or smaller values mean more related); "
    "dc (how the zero frequency was treated: include, exclude, separate), value_with_dc (separate only: the "
    "value with DC), E_dc_share and A_dc_share (mean share of each map set's L1 mass at DC), "
    "essential_at_max_steps and adversarial_at_max_steps (share of the pairs whose map stopped at max_steps); "
    "then per null: its mean, standard deviation and the one-sided permutation p-values of being more related "
    "(p_value) and less related (p_less) than the null ((#draws at least as extreme + 1) / (draws + 1)); last "
    "a note when the value could not be computed."
)


def null_names(columns: Iterable[str]) -> list[str]:
    """The nulls of a table, in column order, from its ``{null}_null_mean`` columns."""
    return [c.removesuffix("_null_mean") for c in columns if c.endswith("_null_mean")]


def _number(text: Any) -> Any:
    """A CSV cell back to int or float where it is one (empty stays empty)."""
    if not isinstance(text, str) or text == "":
        return text
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def read_table(path: str | Path) -> list[dict[str, Any]]:
    """A CSV written by the workflow, numbers as numbers (a missing or damaged file names itself)."""
    return [{key: _number(value) for key, value in row.items()} for row in read_csv(path)]


def _key(row: dict[str, Any], keys: Sequence[str]) -> tuple:
    return tuple("" if row.get(k) is None else str(row.get(k)) for k in keys)


def null_draw_counts(draws: Iterable[dict[str, Any]]) -> dict[tuple, int]:
    """(run keys, statistic, direction, k, null) -> number of draws, from the long null-draws table."""
    counts: dict[tuple, int] = defaultdict(int)
    for draw in draws:
        counts[(*_key(draw, RUN_KEYS + ROW_KEYS), str(draw["null"]))] += 1
    return dict(counts)


def null_draw_values(draws: Iterable[dict[str, Any]]) -> dict[tuple, np.ndarray]:
    """(run keys, statistic, direction, k, null) -> the draws' values (float64, table order), from the long
    null-draws table: what :func:`verdict_rows` checks for normality."""
    values: dict[tuple, list[float]] = defaultdict(list)
    for draw in draws:
        values[(*_key(draw, RUN_KEYS + ROW_KEYS), str(draw["null"]))].append(float(draw["value"]))
    return {key: np.asarray(v, dtype=np.float64) for key, v in values.items()}


def effect_size(value: float, null_mean: float, null_sd: float, related_when: str) -> float:
    """z of the observed value against the null, positive when it is more related than the null."""
    if related_when not in ("larger", "smaller"):
        raise ValueError(f"related_when must be 'larger' or 'smaller', not {related_when!r}")
    if not all(math.isfinite(v) for v in (value, null_mean, null_sd)) or null_sd <= 0:
        return math.nan
    z = (value - null_mean) / null_sd
    return z if related_when == "larger" else -z


def adjusted_p_values(p_values: Sequence[float]) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (scipy's ``false_discovery_control``); NaN stays NaN."""
    from scipy.stats import false_discovery_control

    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, math.nan)
    finite = np.isfinite(p)
    if finite.any():
        out[finite] = false_discovery_control(p[finite], method="bh")
    return out


def null_phrase(null: str) -> str:
    """'within_class' -> 'the within-class re-pairing'."""
    return f"the {null.replace('_', '-')} re-pairing"


def two_sided_p(p_more: float, p_less: float) -> float:
    """Two-sided permutation p-value from the two one-sided ones: min(1, 2 min(p_more, p_less)); NaN when
    either is missing."""
    if not (math.isfinite(p_more) and math.isfinite(p_less)):
        return math.nan
    return min(1.0, 2 * min(p_more, p_less))


def at_floor(p: float, draws: int, method: str = "permutation") -> bool:
    """Whether a two-sided permutation p-value is the smallest its draws allow, 2 / (draws + 1): more draws
    could lower it. A normal-tail p-value (``method="normal_tail"``) has no floor: never."""
    if method == "normal_tail":
        return False
    return draws > 0 and math.isfinite(p) and p <= min(1.0, 2.0 / (draws + 1)) * (1 + 1e-9)


def normality_p(draws: Sequence[float] | np.ndarray) -> float:
    """p-value of D'Agostino and Pearson's omnibus test that the draws come from a normal distribution
    (``scipy.stats.normaltest``: sample skewness and kurtosis together); NaN for fewer than
    :data:`MIN_NORMAL_DRAWS` finite draws or draws that do not vary."""
    from scipy.stats import normaltest

    x = np.asarray(draws, dtype=np.float64)
    x = x[np.isfinite(x)]
    if len(x) < MIN_NORMAL_DRAWS or not np.ptp(x) > 0:
        return math.nan
    return float(normaltest(x).pvalue)


def normal_tail_p(z: float, draws: int) -> float:
    """Two-sided p-value of a value ``z`` null standard deviations from the mean of ``draws`` normal null draws
    (z with the draws' population sd, as :func:`effect_size` and the stats tables compute it): if the value and
    the draws are independent draws of one normal distribution, (value - mean) / (s * sqrt(1 + 1/draws)), s the
    draws' sample sd, follows Student's t with draws - 1 degrees of freedom, and that statistic is
    z * sqrt((draws - 1) / (draws + 1)). So p = 2 t_{draws-1}(-|z| sqrt((draws - 1)/(draws + 1))), which allows
    for the mean and sd being estimated from the draws (2 Phi(-|z|) treats them as known and is too small).
    NaN when z is not finite or there are fewer than 2 draws."""
    from scipy.stats import t

    if draws < 2 or not math.isfinite(z):
        return math.nan
    return float(min(1.0, 2 * t.sf(abs(z) * math.sqrt((draws - 1) / (draws + 1)), draws - 1)))


def chosen_p(permutation: float, normal: float, normality: float, draws: int, method: str) -> tuple[float, str]:
    """The p-value a reading uses and its method: the normal-tail p under ``method="normal_tail"`` when there
    are at least :data:`MIN_NORMAL_DRAWS` draws and their normality test does not reject at
    :data:`NORMALITY_LEVEL`, otherwise the permutation p (``method="permutation"``: always)."""
    if method not in P_VALUE_METHODS:
        raise ValueError(f"stats.p_value must be one of {P_VALUE_METHODS}, not {method!r}")
    usable = draws >= MIN_NORMAL_DRAWS and math.isfinite(normal) and math.isfinite(normality)
    if method == "normal_tail" and usable and normality >= NORMALITY_LEVEL:
        return normal, "normal_tail"
    return permutation, "permutation"


def null_outcome(row: dict[str, Any], null: str, level: float = FDR_LEVEL) -> str:
    """One of :data:`OUTCOMES` for one null of a verdict row: its BH-adjusted p at ``level`` and the sign of z
    say more or less related; a permutation p-value (``{null}_p_method``) at the floor of its draws that still
    fails is undetermined (a normal-tail p-value has no floor)."""
    adjusted, z = float(row[f"{null}_p_adjusted"]), float(row[f"{null}_z"])
    if math.isfinite(adjusted) and adjusted <= level:
        more = z > 0 if math.isfinite(z) else row[f"{null}_p_value"] <= row.get(f"{null}_p_less", math.inf)
        return OUTCOMES[0] if more else OUTCOMES[1]
    method = row.get(f"{null}_p_method") or "permutation"
    if at_floor(float(row[f"{null}_p_two_sided"]), int(row.get(f"{null}_draws") or 0), method):
        return OUTCOMES[3]
    return OUTCOMES[2]


def caveats(row: dict[str, Any]) -> list[str]:
    """What qualifies a reading: maps that stopped at max_steps (above :data:`CONVERGENCE_WARNING`)."""
    out = []
    for kind in ("essential", "adversarial"):
        share = row.get(f"{kind}_at_max_steps")
        if isinstance(share, int | float) and math.isfinite(share) and share > CONVERGENCE_WARNING:
            out.append(f"{share:.0%} of the {kind} maps stopped at max_steps")
    return out


def reading(row: dict[str, Any], nulls: Sequence[str], level: float = FDR_LEVEL, min_pairs: int = 1) -> str:
    """Plain words: against each null, more related, less related, not distinguishable, or undetermined (too
    few null draws); undetermined for the whole row below ``min_pairs`` pairs; then the caveats."""
    if row.get("note") and int(row["n"]) == 0:  # a branch with no pairs at all: its cause is the reading
        return str(row["note"])
    if row.get("note") or not math.isfinite(float(row["value"])):
        return f"not computed ({row.get('note') or 'no value'})"
    if int(row["n"]) < min_pairs:
        text = f"undetermined (n = {int(row['n'])} pairs, fewer than {min_pairs})"
    else:
        by_outcome: dict[str, list[str]] = defaultdict(list)
        for n in nulls:
            by_outcome[null_outcome(row, n, level)].append(null_phrase(n))
        parts = []
        for outcome in OUTCOMES:
            if by_outcome[outcome]:
                joined = " and ".join(by_outcome[outcome])
                parts.append(
                    f"undetermined (too few null draws) against {joined}"
                    if outcome == OUTCOMES[3]
                    else f"{outcome} {joined}"
                )
        text = "; ".join(parts)
    found = caveats(row)
    return text + ("; caveat: " + ", ".join(found) if found else "")


PASSED_THROUGH = (  # stats-table columns the verdict carries as they are, when present
    "dc",
    "value_with_dc",
    "E_dc_share",
    "A_dc_share",
    "essential_at_max_steps",
    "adversarial_at_max_steps",
)


Draws = Mapping[tuple, "np.ndarray | int"]  # (run keys, row keys, null) -> the draws, or only their number


def _float(value: Any) -> float:
    """A table cell as a float: empty or missing is NaN."""
    return math.nan if value is None or value == "" else float(value)


def _draws_of(draws: Draws, key: tuple) -> tuple[int, float]:
    """The number of draws of one row and null, and their normality p-value (NaN when only the number is known)."""
    entry = draws.get(key)
    if entry is None:
        return 0, math.nan
    if isinstance(entry, int | np.integer):
        return int(entry), math.nan
    return len(entry), normality_p(entry)


def null_p_columns(row: dict[str, Any], null: str, draws: int, normality: float, method: str) -> dict[str, Any]:
    """The p-value columns of one summary row against one null: ``p_two_sided`` (permutation,
    :func:`two_sided_p`), ``normality_p`` of its draws, ``p_normal`` (:func:`normal_tail_p` of its z), and
    ``p_method``, which of the two the reading uses (:func:`chosen_p`); then ``p``, the one used, and ``z``, the
    effect size both come from."""
    permutation = two_sided_p(_float(row[f"{null}_p_value"]), _float(row.get(f"{null}_p_less")))
    z = effect_size(
        _float(row["value"]), _float(row[f"{null}_null_mean"]), _float(row[f"{null}_null_sd"]), row["related_when"]
    )
    normal = normal_tail_p(z, draws)
    p, used = chosen_p(permutation, normal, normality, draws, method)
    return {"p_two_sided": permutation, "normality_p": normality, "p_normal": normal, "p_method": used, "p": p, "z": z}


def contrast_p_columns(row: dict[str, Any], method: str) -> dict[str, Any]:
    """The p-value columns of one contrast row (:func:`freqmaps.contrasts.contrast_rows`): ``p_normal``, the
    normal-tail p of its difference against the swap draws' mean and sd (``null_mean``, ``null_sd``;
    ``permutations`` draws), and ``p_method``, which of it and the permutation ``p_value`` the reading uses
    (:func:`chosen_p`, with the draws' ``normality_p``); then ``p``, the one used. A table written before the
    contrasts kept their draws' mean, sd and normality has the permutation p only."""
    draws = int(row.get("permutations") or 0)
    mean, sd = _float(row.get("null_mean")), _float(row.get("null_sd"))
    z = effect_size(_float(row["difference"]), mean, sd, "larger")
    normal = normal_tail_p(z, draws)
    p, used = chosen_p(_float(row["p_value"]), normal, _float(row.get("normality_p")), draws, method)
    return {"p_normal": normal, "p_method": used, "p": p}


def _family(
    summary: Sequence[dict[str, Any]],
    contrasts: Sequence[dict[str, Any]],
    draws: Draws,
    min_pairs: int,
    method: str,
) -> tuple[dict[tuple[int, str], dict[str, Any]], dict[tuple[int, str], float], list[dict[str, Any]], list[float]]:
    """The run's one Benjamini-Hochberg family: the used p-value (:func:`null_p_columns`) of every summary row
    with at least ``min_pairs`` pairs against each null, and of every contrast (:func:`contrast_p_columns`) with
    at least ``min_pairs`` pairs. Returns the summary's p-value columns and draw count per (row, null), their
    adjusted values, and the contrasts' p-value columns and adjusted p-values (NaN outside the family)."""
    nulls = null_names(summary[0]) if summary else []
    columns = {}
    for i, row in enumerate(summary):
        for n in nulls:
            count, normality = _draws_of(draws, (*_key(row, RUN_KEYS + ROW_KEYS), n))
            columns[(i, n)] = {**null_p_columns(row, n, count, normality, method), "draws": count}
    contrast_columns = [contrast_p_columns(row, method) for row in contrasts]
    family = [(i, n) for (i, n) in columns if int(summary[i]["n"]) >= min_pairs]
    in_family = [i for i, row in enumerate(contrasts) if int(row["n_pairs"]) >= min_pairs]
    adjusted = adjusted_p_values(
        [columns[pair]["p"] for pair in family] + [contrast_columns[i]["p"] for i in in_family]
    )
    adjusted_of = {pair: float(p) for pair, p in zip(family, adjusted[: len(family)], strict=True)}
    contrast_adjusted = [math.nan] * len(contrasts)
    for i, p in zip(in_family, adjusted[len(family) :], strict=True):
        contrast_adjusted[i] = float(p)
    return columns, adjusted_of, contrast_columns, contrast_adjusted


def verdict_tables(
    summary: Sequence[dict[str, Any]],
    draws: Draws,
    min_pairs: int = 1,
    level: float = FDR_LEVEL,
    contrasts: Sequence[dict[str, Any]] = (),
    p_value: str = "normal_tail",
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The verdict table (:func:`verdict_rows`) and the contrasts table (:func:`contrast_rows`) of one run, from
    one Benjamini-Hochberg family (the normality checks and p-values computed once for both)."""
    family = _family(summary, contrasts, draws, min_pairs, p_value)
    return _verdict(summary, family, min_pairs, level), _contrasts(contrasts, family, min_pairs, level)


def verdict_rows(
    summary: Sequence[dict[str, Any]],
    draws: Draws,
    min_pairs: int = 1,
    level: float = FDR_LEVEL,
    contrasts: Sequence[dict[str, Any]] = (),
    p_value: str = "normal_tail",
) -> list[dict[str, Any]]:
    """The verdict table from summary rows: value, interval, DC and convergence columns, per null mean, sd, z,
    one- and two-sided permutation p, the draws' normality p, the normal-tail p, which p is used (``p_value``,
    the config's ``stats.p_value``: :func:`chosen_p`) and its BH adjustment, across-seed mean and spread, and
    the reading. One row per summary row (so per seed); rows of the same dataset x model x attack x view x
    statistic x direction x k share the across-seed columns. ``draws``: per (run keys, row keys, null) the null
    draws (:func:`null_draw_values`), or only their number (:func:`null_draw_counts`: normality cannot be
    checked, and the permutation p is used). Rows with fewer than ``min_pairs`` pairs stay out of the BH
    family; the ``contrasts`` rows' p-values (:func:`contrast_rows`) join it. Both tables at once:
    :func:`verdict_tables`."""
    return _verdict(summary, _family(summary, contrasts, draws, min_pairs, p_value), min_pairs, level)


def _verdict(summary: Sequence[dict[str, Any]], family: tuple, min_pairs: int, level: float) -> list[dict[str, Any]]:
    if not summary:
        return []
    nulls = null_names(summary[0])
    columns, adjusted_of, _, _ = family
    group_keys = ("dataset", "model", "attack", "lam", "view", *ROW_KEYS)
    groups: dict[tuple, list[float]] = defaultdict(list)
    for row in summary:
        groups[_key(row, group_keys)].append(float(row["value"]))
    out = []
    for i, row in enumerate(summary):
        shown = [key for key in (*group_keys[:5], *ROW_KEYS, "seed", "n", "value") if key in row]
        verdict: dict[str, Any] = {key: row[key] for key in shown}
        verdict.update({key: row[key] for key in ("ci_low", "ci_high", "ci_method", "related_when")})
        verdict.update({key: row[key] for key in PASSED_THROUGH if key in row})
        for n in nulls:
            p = columns[(i, n)]
            verdict[f"{n}_null_mean"] = row[f"{n}_null_mean"]
            verdict[f"{n}_null_sd"] = row[f"{n}_null_sd"]
            verdict[f"{n}_z"] = p["z"]
            verdict[f"{n}_p_value"] = row[f"{n}_p_value"]
            verdict[f"{n}_p_less"] = row.get(f"{n}_p_less", math.nan)
            for column in ("p_two_sided", "normality_p", "p_normal", "p_method"):
                verdict[f"{n}_{column}"] = p[column]
            verdict[f"{n}_p_adjusted"] = adjusted_of.get((i, n), math.nan)
            verdict[f"{n}_draws"] = p["draws"]
        values = np.array(groups[_key(row, group_keys)])
        finite = values[np.isfinite(values)]
        verdict["seeds"] = len(values)
        verdict["seed_mean"] = float(finite.mean()) if len(finite) else math.nan
        verdict["seed_sd"] = float(finite.std(ddof=1)) if len(finite) > 1 else math.nan
        verdict["reading"] = reading(verdict | {"note": row.get("note", "")}, nulls, level, min_pairs)
        verdict["note"] = row.get("note", "")
        out.append(verdict)
    return out


def used_p(row: dict[str, Any], null: str = "") -> float:
    """The p-value a verdict row's reading used against ``null`` (``{null}_p_method``: the two-sided
    permutation p or the normal-tail p); ``null=""``: a contrast row's (``p_method``: ``p_value`` or
    ``p_normal``)."""
    prefix = f"{null}_" if null else ""
    method = row.get(f"{prefix}p_method") or "permutation"
    if method == "normal_tail":
        return _float(row[f"{prefix}p_normal"])
    return _float(row[f"{prefix}p_two_sided" if null else "p_value"])


# ------------------------------------------------------------------ contrasts between cells (docs/METHOD.md §4.11)
CONTRAST_KEYS = ("contrast", "dataset", "seed", "model_a", "attack_a", "model_b", "attack_b", "view")
CONTRAST_DOC = (
    "One row per contrast, dataset, seed, view, statistic, direction and k: two (model, attack) cells a and b "
    "compared on the test images whose maps are kept in both (n_pairs). value_a and value_b are the statistic "
    "in each cell on those images (so they can differ from the verdict's values, which use every pair kept in "
    "one cell), difference = value_a - value_b, ci_low and ci_high its 95% paired interval (the same images "
    "resampled in both cells; ci_method as the verdict's), related_when which sign of the value means more "
    "related, p_value the two-sided paired permutation p-value (each draw trades the two cells' pairs of a "
    "random half of the images; permutations = draws), null_mean and null_sd the draws' mean and standard "
    "deviation and normality_p their D'Agostino-Pearson normality p-value, p_normal the normal-tail two-sided "
    "p-value of the difference against them (as the verdict's), p_method which of p_value and p_normal the "
    "reading uses (as the verdict's), p_adjusted its Benjamini-Hochberg adjustment in one family with every "
    "used p-value of the verdict, and reading in plain words: a more related than b, b more related than a, not "
    "distinguishable, or undetermined (too few permutations or pairs)."
)


def contrast_reading(row: dict[str, Any], level: float = FDR_LEVEL, min_pairs: int = 1) -> str:
    """Plain words for one contrast row: which cell is more related (BH-adjusted p at ``level`` and the sign
    of the difference read through ``related_when``), not distinguishable, or undetermined."""
    difference, adjusted = float(row["difference"]), float(row["p_adjusted"])
    if row.get("note") or not math.isfinite(difference):
        return f"not computed ({row.get('note') or 'no value'})"
    if int(row["n_pairs"]) < min_pairs:
        return f"undetermined (n = {int(row['n_pairs'])} pairs, fewer than {min_pairs})"
    a = f"a ({row['model_a']} / {row['attack_a']})"
    b = f"b ({row['model_b']} / {row['attack_b']})"
    if math.isfinite(adjusted) and adjusted <= level:
        a_more = (difference > 0) == (row["related_when"] == "larger")
        return f"{a} more related than {b}" if a_more else f"{b} more related than {a}"
    draws = int(row.get("permutations") or 0)
    permutation = (row.get("p_method") or "permutation") == "permutation"
    if permutation and draws and float(row["p_value"]) <= 1 / (draws + 1) * (1 + 1e-9):
        return "undetermined (too few permutations: raise stats.n_null)"
    return "not distinguishable"


def contrast_rows(
    summary: Sequence[dict[str, Any]],
    contrasts: Sequence[dict[str, Any]],
    min_pairs: int = 1,
    level: float = FDR_LEVEL,
    draws: Draws | None = None,
    p_value: str = "normal_tail",
) -> list[dict[str, Any]]:
    """contrasts.csv: the contrasts' rows with ``p_normal`` and ``p_method`` (:func:`contrast_p_columns`),
    ``p_adjusted`` (one BH family with the verdict built from ``summary``, ``draws`` and ``p_value``: pass
    what :func:`verdict_rows` gets) and ``reading``. Both tables at once: :func:`verdict_tables`."""
    return _contrasts(contrasts, _family(summary, contrasts, draws or {}, min_pairs, p_value), min_pairs, level)


def _contrasts(
    contrasts: Sequence[dict[str, Any]], family: tuple, min_pairs: int, level: float
) -> list[dict[str, Any]]:
    _, _, columns, adjusted = family
    out = []
    for row, p, column in zip(contrasts, adjusted, columns, strict=True):
        shown = {key: row[key] for key in row if key != "note"}
        shown["p_normal"], shown["p_method"] = column["p_normal"], column["p_method"]
        shown["p_adjusted"] = p
        shown["reading"] = contrast_reading({**shown, "note": row.get("note", "")}, level, min_pairs)
        out.append(shown)
    return out


def fallback_message(
    rows: Sequence[dict[str, Any]], contrasts: Sequence[dict[str, Any]], p_value: str, level: float = FDR_LEVEL
) -> str | None:
    """Under ``stats.p_value: normal_tail``, what the summary's log says after the run: how many of the
    adjusted p-values of the verdict (``rows``, :func:`verdict_rows`) and of the contrasts (:func:`contrast_rows`)
    are permutation p-values, their draws too few or failing the normality check, and how many of those read
    undetermined (at their floor, yet failing); None when there are none, or under ``permutation`` (the
    configuration's validation warned before the run)."""
    if p_value != "normal_tail":
        return None
    nulls = null_names(rows[0]) if rows else []
    read = [(r, n) for r in rows for n in nulls if math.isfinite(_float(r[f"{n}_p_adjusted"]))]
    fell = [(r, n) for r, n in read if r[f"{n}_p_method"] == "permutation"]
    stuck = sum(null_outcome(r, n, level) == OUTCOMES[3] for r, n in fell)
    read_contrasts = [c for c in contrasts if math.isfinite(_float(c["p_adjusted"]))]
    fell_contrasts = [c for c in read_contrasts if c["p_method"] == "permutation"]
    stuck += sum(contrast_reading(c, level).startswith("undetermined") for c in fell_contrasts)
    if not fell and not fell_contrasts:
        return None
    return (
        f"stats.p_value: normal_tail: {len(fell)} of {len(read)} p-values of the verdict and {len(fell_contrasts)} "
        f"of {len(read_contrasts)} of the contrasts are permutation p-values (null draws fewer than "
        f"{MIN_NORMAL_DRAWS} or failing the normality check at {NORMALITY_LEVEL}); {stuck} of them read "
        "'undetermined' (at their floor, yet failing: raise stats.n_null)"
    )


def _rows(statistics: Iterable[str], k: Sequence[int]) -> int:
    """Rows per view of these statistics: the information imbalance has one per direction and k."""
    return sum(2 * len(k) if name == "information_imbalance" else 1 for name in statistics)


def family_size(
    stats_cfg: dict[str, Any], n_runs: int, contrasts: Sequence[dict[str, Any]] = (), n_contrast_runs: int = 0
) -> int:
    """How many p-values one run's verdict adjusts together: runs x views x rows x nulls (the information
    imbalance has a row per direction and k), plus per contrast (:func:`freqmaps.config.contrasts`: its
    ``statistics`` and ``views``) ``n_contrast_runs`` (datasets x seeds) x its views x its rows."""
    rows = _rows(stats_cfg["statistics"], stats_cfg["k"])
    verdict = n_runs * len(stats_cfg["views"]) * rows * len(stats_cfg["nulls"])
    contrast = sum(len(c["views"]) * _rows(c["statistics"], stats_cfg["k"]) for c in contrasts)
    return verdict + n_contrast_runs * contrast


def null_draws_warning(
    stats_cfg: dict[str, Any],
    n_runs: int,
    level: float = FDR_LEVEL,
    contrasts: Sequence[dict[str, Any]] = (),
    n_contrast_runs: int = 0,
) -> str | None:
    """A warning when ``stats.n_null`` is too small for the number of tests m (:func:`family_size`, the
    contrasts counted) wherever the verdict uses permutation p-values: a statistic alone at its permutation
    floor, two-sided p = 2 / (n_null + 1), passes Benjamini-Hochberg over m tests only when
    m * 2 / (n_null + 1) <= level; with fewer draws a strong effect among null ones reads undetermined. Under
    ``stats.p_value: permutation`` that is every row. Under ``normal_tail`` it is only the rows whose draws fail
    the normality check, which no one knows before the run (the summary's log counts them): no warning, unless
    n_null is below :data:`MIN_NORMAL_DRAWS`, where every row uses the permutation p."""
    m = family_size(stats_cfg, n_runs, contrasts, n_contrast_runs)
    n_null = stats_cfg["n_null"]
    method = stats_cfg["p_value"]
    if m * 2 / (n_null + 1) <= level or (method == "normal_tail" and n_null >= MIN_NORMAL_DRAWS):
        return None
    needed = math.ceil(2 * m / level) - 1
    why = (
        f"(stats.p_value: normal_tail needs at least {MIN_NORMAL_DRAWS} draws; until then every p-value is the "
        "permutation p)"
        if method == "normal_tail"
        else "(stats.p_value: permutation; normal_tail goes below that floor where the draws look normal)"
    )
    return (
        f"stats.n_null: {n_null} null draws give a smallest two-sided permutation p of {2 / (n_null + 1):.3g} "
        f"{why}; over the verdict's {m} tests a lone strong effect cannot pass the false-discovery rate {level} "
        f"unless stats.n_null >= {needed} (such readings say 'undetermined (too few null draws)')"
    )


VERDICT_DOC = (
    "The verdict: for each dataset, model, attack, view and statistic (and direction and k for the information "
    "imbalance) and seed, the value on the true pairing of essential and adversarial maps with its 95% interval; "
    "for each null (random: maps of different images re-paired at random; within-class: re-paired only among "
    "images of the same true class, which keeps what the maps share through the class), the null's mean and "
    "standard deviation, the effect size z = (value - null mean) / null sd signed so that positive means more "
    "related than the null, the one-sided permutation p-values of being more related (p_value) and less related "
    "(p_less), the two-sided permutation p-value min(1, 2 min of the two) (p_two_sided; its floor is "
    "2 / (draws + 1)), the p-value of D'Agostino and Pearson's normality test on the null draws (normality_p), "
    "the normal-tail two-sided p-value 2 t_{draws-1}(-|z| sqrt((draws - 1) / (draws + 1))) (p_normal: the null "
    "taken as normal with the draws' mean and sd, which can go below the permutation floor), which of the two "
    f"the reading uses (p_method: normal_tail under stats.p_value: normal_tail when there are at least "
    f"{MIN_NORMAL_DRAWS} draws and normality_p >= {NORMALITY_LEVEL}, else permutation), the Benjamini-Hochberg "
    "adjustment of the used p-value over every used p-value of the run and every contrast's (contrasts.csv; "
    f"false-discovery rate {FDR_LEVEL}) (p_adjusted), and how many null draws there were. "
    "Statistics are computed as stats.dc says (separate, the default: without the zero frequency, with "
    "value_with_dc and each map set's DC share beside); essential_at_max_steps and adversarial_at_max_steps are "
    "the shares of pairs whose map stopped at max_steps. ``seeds``, ``seed_mean`` and ``seed_sd`` are the "
    "number of seeds and the across-seed mean and standard deviation of the value. ``reading`` says in words, "
    "per null: more related than it, less related than it, not distinguishable from it, or undetermined (too "
    "few null draws: a permutation p-value at its floor that still fails); 'undetermined (n = ...)' below "
    "stats.min_pairs pairs; a branch with no pair at all reads its cause (e.g. 'no successful attacks (0 of N)'); "
    "caveats follow (maps stopped at max_steps, above "
    f"{CONVERGENCE_WARNING:.0%})."
)


# ------------------------------------------------------------------ headline
def statistic_label(row: dict[str, Any]) -> str:
    """'cosine', or 'information imbalance E_to_A (k = 1)'."""
    name = str(row["statistic"]).replace("_", " ")
    if row.get("direction"):
        name += f" {row['direction']}"
    if row.get("k") not in (None, ""):
        name += f" (k = {row['k']})"
    return name


def _outcomes(row: dict[str, Any], nulls: Sequence[str]) -> dict[str, list[str]]:
    """null phrase per outcome of one verdict row, from its reading's inputs (empty for a row not read)."""
    out: dict[str, list[str]] = defaultdict(list)
    for n in nulls:
        out[null_outcome(row, n)].append(n)
    return out


def headline(rows: Sequence[dict[str, Any]], min_pairs: int = 1, view: str = "maps", with_lam: bool = False) -> str:
    """One paragraph in plain words for the verdict rows of one (dataset, model, attack): what is more or less
    related than chance, by which statistic, how strongly (value and z) and beyond which nulls; what could not
    be told apart; then the caveats: the zero frequency (its share, and the statistics it moves by more than
    two null standard deviations), unconverged maps, too few draws or pairs. ``with_lam``: name the rows' λ
    (a maps.lam list gives one headline per λ)."""
    if not rows:
        return ""
    nulls = null_names(rows[0])
    shown = [r for r in rows if r["view"] == view] or list(rows)
    first = shown[0]
    seeds = sorted({r["seed"] for r in shown})
    multiple = len(seeds) > 1
    where = f"{first['dataset']} / {first['model']} / {first['attack']}"
    if with_lam:
        where += f" / λ = {first['lam']}"
    pairs = ", ".join(str(n) for n in sorted({int(r["n"]) for r in shown}))
    dc = first.get("dc", "include")
    intro = (
        f"**{where}** ({'seeds ' + ', '.join(map(str, seeds)) if multiple else f'seed {seeds[0]}'}; {pairs} image "
        f"pairs; {first['view'].replace('_', ' ')} view{', zero frequency left out' if dc != 'include' else ''}): "
    )
    causes = sorted({str(r["note"]) for r in shown if int(r["n"]) == 0 and r.get("note")})
    if causes and all(int(r["n"]) == 0 for r in shown):  # the branch had nothing to compare, and says why
        return intro + f"**Not compared**: {'; '.join(causes)}."
    more, less, unclear, too_few, undecided, failed = [], [], [], [], [], []
    for row in shown:
        label = statistic_label(row) + (f" (seed {row['seed']})" if multiple else "")
        if row.get("note") or not math.isfinite(float(row["value"])):
            failed.append(label)
            continue
        if int(row["n"]) < min_pairs:
            too_few.append(label)
            continue
        outcome = _outcomes(row, nulls)
        beaten = outcome[OUTCOMES[0]] or outcome[OUTCOMES[1]]
        if beaten:
            z = ", ".join(f"z = {float(row[f'{n}_z']):+.1f} vs {null_phrase(n)}" for n in beaten)
            (more if outcome[OUTCOMES[0]] else less).append(f"{label} {format_number(row['value'])} ({z})")
        elif outcome[OUTCOMES[3]]:
            undecided.append(label)
        else:
            unclear.append(label)
    sentences = []
    if more:
        sentences.append("The maps are **more related than chance** by " + "; ".join(more) + ".")
    if less:
        sentences.append("They are **less related than chance** (they avoid each other) by " + "; ".join(less) + ".")
    if unclear:
        sentences.append("Not distinguishable from chance: " + ", ".join(unclear) + ".")
    if not more and not less:  # "apart from chance" only when some statistic was read; else nothing was decided
        sentences.insert(
            0,
            "No statistic tells the maps apart from chance."
            if unclear
            else "**Undetermined**: no statistic could be read (see the caveats).",
        )
    notes = []
    if dc == "separate":
        with_dc = [r for r in shown if math.isfinite(float(r.get("value_with_dc", math.nan)))]
        # DC moves a statistic when it shifts the value by more than two standard deviations of the first null
        moved = [
            r
            for r in with_dc
            if abs(float(r["value_with_dc"]) - float(r["value"])) > 2 * float(r.get(f"{nulls[0]}_null_sd", math.inf))
        ]
        shares = f"DC holds {float(first['E_dc_share']):.0%} (essential) and {float(first['A_dc_share']):.0%} "
        shares += "(adversarial) of a map's L1 mass"
        if moved:
            changes = ", ".join(
                f"{statistic_label(r)} {format_number(r['value_with_dc'])} instead of {format_number(r['value'])}"
                for r in moved[:3]
            )
            shares += f"; with DC, {changes}"
        notes.append(shares)
    found = sorted({c for r in shown for c in caveats(r)})
    notes += found
    if undecided:
        notes.append(f"undetermined (too few null draws: raise stats.n_null): {', '.join(undecided)}")
    if too_few:
        notes.append(f"undetermined (fewer than {min_pairs} pairs): {', '.join(too_few)}")
    if failed:
        notes.append(f"not computed: {', '.join(failed)}")
    text = intro + " ".join(sentences)
    return text + (" Caveats: " + "; ".join(notes) + "." if notes else "")


def headlines(rows: Sequence[dict[str, Any]], min_pairs: int = 1) -> list[str]:
    """One :func:`headline` per dataset, model, attack and λ, in the verdict's order."""
    groups: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[_key(row, ("dataset", "model", "attack", "lam"))].append(row)
    several = len({str(row.get("lam", "")) for row in rows}) > 1  # a maps.lam list: say which λ
    return [headline(group, min_pairs, with_lam=several) for group in groups.values()]


def verdict_markdown(rows: Sequence[dict[str, Any]], min_pairs: int = 1) -> str:
    """verdict.md: the headlines, then the rendered verdict table."""
    lines = ["# Verdict", "", "## Headline", ""]
    for text in headlines(rows, min_pairs):
        lines += [text, ""]
    shown = rendered_verdict(rows)
    if shown:
        columns = list(shown[0])
        lines += ["## Every statistic", "", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        lines += ["| " + " | ".join(row[c].replace("|", "\\|") for c in columns) + " |" for row in shown]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ rendering
def format_p(p: float, draws: int, sides: int = 1, method: str = "permutation") -> str:
    """A p-value for reading: at the permutation floor sides/(draws + 1) it is an upper bound ('< 0.01'); a
    normal-tail p-value (``method``) has no floor, and below :data:`DISPLAY_BOUND` it reads '< 1e-06'."""
    if not math.isfinite(p):
        return ""
    if p < DISPLAY_BOUND:
        return f"< {DISPLAY_BOUND:g}"
    floor = min(1.0, sides / (draws + 1)) if draws and method == "permutation" else 0.0
    if draws and p <= floor * (1 + 1e-9):
        bound = 10 ** math.ceil(math.log10(floor))  # 1/101 -> 0.01, 1/1001 -> 0.001
        return f"< {bound:g}" if floor < bound < 1.1 * floor else f"≤ {floor:.2g}"  # 1/21 -> ≤ 0.048
    return f"{p:.2g}" if p < 0.01 else f"{p:.3f}"


def format_number(value: Any, digits: int = 3) -> str:
    """Numbers to a fixed precision, NaN and None blank, everything else as text."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return ""
        return (
            f"{value:.{digits}g}"
            if abs(value) >= 1000 or (value != 0 and abs(value) < 10**-digits)
            else (f"{value:.{digits}f}")
        )
    return str(value)


def rendered_verdict(rows: Sequence[dict[str, Any]]) -> list[dict[str, str]]:
    """Verdict rows as a reader sees them: value [interval], the value with DC and the DC shares, the shares
    stopped at max_steps, null mean ± sd, z, the two-sided p the reading used ('≤ 0.02' at the permutation
    floor), which method gave it, and its BH adjustment."""
    if not rows:
        return []
    nulls = null_names(rows[0])
    out = []
    for row in rows:
        keys = ("dataset", "model", "attack", "lam", "view", *ROW_KEYS, "seed")
        shown = {key: format_number(row[key]) for key in keys if key in row}
        shown["n"] = format_number(row["n"])
        shown["value [95% interval]"] = (
            f"{format_number(row['value'])} [{format_number(row['ci_low'])}, {format_number(row['ci_high'])}]"
        )
        if row.get("dc") == "separate":
            shown["with DC"] = format_number(row.get("value_with_dc"))
        if "E_dc_share" in row:
            shown["DC share E / A"] = f"{format_number(row['E_dc_share'], 2)} / {format_number(row['A_dc_share'], 2)}"
        if "essential_at_max_steps" in row:
            shares = (format_number(row[f"{kind}_at_max_steps"], 2) for kind in ("essential", "adversarial"))
            shown["at max_steps E / A"] = " / ".join(shares)
        for n in nulls:
            label = n.replace("_", "-")
            shown[f"{label} null mean ± sd"] = (
                f"{format_number(row[f'{n}_null_mean'])} ± {format_number(row[f'{n}_null_sd'])}"
            )
            shown[f"{label} z"] = format_number(row[f"{n}_z"], 1)
            method, draws = row.get(f"{n}_p_method") or "permutation", int(row[f"{n}_draws"])
            shown[f"{label} p (two-sided)"] = format_p(used_p(row, n), draws, 2, method)
            if f"{n}_p_method" in row:
                shown[f"{label} p from"] = method.replace("_", " ")
            shown[f"{label} p (BH)"] = format_p(float(row[f"{n}_p_adjusted"]), draws, 2, method)
        if any(int(r["seeds"]) > 1 for r in rows):
            shown["across seeds mean ± sd"] = f"{format_number(row['seed_mean'])} ± {format_number(row['seed_sd'])}"
        shown["reading"] = row["reading"]
        out.append(shown)
    return out


def _inline_literals(text: str) -> str:
    """reST inline literals (````name````) of an escaped text as HTML code (verdict.html showed the backquotes)."""
    return re.sub(r"``(.+?)``", r"<code>\1</code>", text)


def html_page(
    title: str, intro: str, tables: Sequence[tuple[str, Sequence[dict[str, Any]]]], headline: Sequence[str] = ()
) -> str:
    """A self-contained HTML page of titled tables (shown inside Snakemake's report), with headline paragraphs
    (``**bold**`` kept) above them."""
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title>",
        "<style>body{font-family:sans-serif;font-size:13px}table{border-collapse:collapse;margin-bottom:1.5em}"
        "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}th{background:#eee}"
        "td:last-child{text-align:left}</style></head><body>",
        f"<h2>{html.escape(title)}</h2>",
    ]
    if headline:
        parts.append("<h3>Headline</h3>")
        for text in headline:
            bold = html.escape(text).split("**")
            parts.append("<p>" + "".join(f"<b>{t}</b>" if i % 2 else t for i, t in enumerate(bold)) + "</p>")
    parts.append(f"<p>{_inline_literals(html.escape(intro))}</p>")
    for caption, rows in tables:
        parts.append(f"<h3>{html.escape(caption)}</h3>")
        if not rows:
            parts.append("<p>(no rows)</p>")
            continue
        columns = list(dict.fromkeys(key for row in rows for key in row))
        parts.append("<table><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in columns) + "</tr>")
        for row in rows:
            cells = "".join(f"<td>{html.escape(format_number(row.get(c, '')))}</td>" for c in columns)
            parts.append(f"<tr>{cells}</tr>")
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts)
