"""The answer of a run: tidy summary tables, the verdict table and their HTML renderings for the report.

Inputs are the flat rows of :func:`freqmaps.stats.compare_maps` (one per statistic x direction x k, with
``{null}_null_mean``, ``{null}_null_sd``, ``{null}_p_value`` (more related) and ``{null}_p_less`` (less related)
per null), written per model and attack by :func:`freqmaps.stages.correlate` beside a ``view`` column. This
module adds the run's keys in front (:data:`RUN_KEYS`), and from them the verdict (docs/METHOD.md §4.10): each
statistic against each null as an effect size z = (value - null mean) / null sd, signed so that positive means
*more related than the null* (larger values for similarities, smaller for the information imbalance), the
two-sided permutation p-value, the Benjamini-Hochberg adjusted p-value over every two-sided p-value of the
run (one family: all rows and nulls with enough pairs), and a plain-words reading at false-discovery rate
:data:`FDR_LEVEL`: more related than the null, less related than the null, not distinguishable from it, or
undetermined (too few null draws to ever pass, or too few pairs).
"""

from __future__ import annotations

import html
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from freqmaps.io import read_csv

RUN_KEYS = ("dataset", "model", "seed", "attack", "lam", "view")  # lam: maps.lam (absent in older tables)
ROW_KEYS = ("statistic", "direction", "k")  # with RUN_KEYS: one row of a comparison
FDR_LEVEL = 0.05
CONVERGENCE_WARNING = 0.1  # a share of maps stopped at max_steps above this is a caveat of the reading
OUTCOMES = ("more related than", "less related than", "not distinguishable from", "undetermined against")
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


def at_floor(p: float, draws: int) -> bool:
    """Whether a two-sided p-value is the smallest its draws allow, 2 / (draws + 1): more draws could lower it."""
    return draws > 0 and math.isfinite(p) and p <= min(1.0, 2.0 / (draws + 1)) * (1 + 1e-9)


def null_outcome(row: dict[str, Any], null: str, level: float = FDR_LEVEL) -> str:
    """One of :data:`OUTCOMES` for one null of a verdict row: its two-sided BH-adjusted p at ``level`` and the
    sign of z say more or less related; a p-value at the floor of its draws that still fails is undetermined."""
    adjusted, z = float(row[f"{null}_p_adjusted"]), float(row[f"{null}_z"])
    if math.isfinite(adjusted) and adjusted <= level:
        more = z > 0 if math.isfinite(z) else row[f"{null}_p_value"] <= row.get(f"{null}_p_less", math.inf)
        return OUTCOMES[0] if more else OUTCOMES[1]
    if at_floor(float(row[f"{null}_p_two_sided"]), int(row.get(f"{null}_draws") or 0)):
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


def _family(
    summary: Sequence[dict[str, Any]], contrasts: Sequence[dict[str, Any]], nulls: Sequence[str], min_pairs: int
) -> tuple[dict[tuple[int, str], float], dict[tuple[int, str], float], list[float]]:
    """The run's one Benjamini-Hochberg family: every two-sided p-value of the summary (rows with at least
    ``min_pairs`` pairs, each null) and every contrast's paired p-value (contrasts with at least ``min_pairs``
    pairs). Returns the summary's two-sided p per (row, null), their adjusted values, and the contrasts'
    adjusted p-values (NaN outside the family)."""
    two_sided = {
        (i, n): two_sided_p(float(row[f"{n}_p_value"]), float(row.get(f"{n}_p_less", math.nan)))
        for i, row in enumerate(summary)
        for n in nulls
    }
    family = [(i, n) for (i, n) in two_sided if int(summary[i]["n"]) >= min_pairs]
    in_family = [i for i, row in enumerate(contrasts) if int(row["n_pairs"]) >= min_pairs]
    adjusted = adjusted_p_values(
        [two_sided[pair] for pair in family] + [float(contrasts[i]["p_value"]) for i in in_family]
    )
    adjusted_of = {pair: float(p) for pair, p in zip(family, adjusted[: len(family)], strict=True)}
    contrast_adjusted = [math.nan] * len(contrasts)
    for i, p in zip(in_family, adjusted[len(family) :], strict=True):
        contrast_adjusted[i] = float(p)
    return two_sided, adjusted_of, contrast_adjusted


def verdict_rows(
    summary: Sequence[dict[str, Any]],
    draw_counts: dict[tuple, int],
    min_pairs: int = 1,
    level: float = FDR_LEVEL,
    contrasts: Sequence[dict[str, Any]] = (),
) -> list[dict[str, Any]]:
    """The verdict table from summary rows: value, interval, DC and convergence columns, per null mean, sd, z,
    one- and two-sided p and BH-adjusted two-sided p, across-seed mean and spread, and the reading. One row
    per summary row (so per seed); rows of the same dataset x model x attack x view x statistic x direction x
    k share the across-seed columns. Rows with fewer than ``min_pairs`` pairs stay out of the BH family; the
    ``contrasts`` rows' p-values (:func:`contrast_rows`) join it."""
    if not summary:
        return []
    nulls = null_names(summary[0])
    two_sided, adjusted_of, _ = _family(summary, contrasts, nulls, min_pairs)
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
            draws = draw_counts.get((*_key(row, RUN_KEYS + ROW_KEYS), n), 0)
            verdict[f"{n}_null_mean"] = row[f"{n}_null_mean"]
            verdict[f"{n}_null_sd"] = row[f"{n}_null_sd"]
            verdict[f"{n}_z"] = effect_size(
                float(row["value"]), float(row[f"{n}_null_mean"]), float(row[f"{n}_null_sd"]), row["related_when"]
            )
            verdict[f"{n}_p_value"] = row[f"{n}_p_value"]
            verdict[f"{n}_p_less"] = row.get(f"{n}_p_less", math.nan)
            verdict[f"{n}_p_two_sided"] = two_sided[(i, n)]
            verdict[f"{n}_p_adjusted"] = adjusted_of.get((i, n), math.nan)
            verdict[f"{n}_draws"] = draws
        values = np.array(groups[_key(row, group_keys)])
        finite = values[np.isfinite(values)]
        verdict["seeds"] = len(values)
        verdict["seed_mean"] = float(finite.mean()) if len(finite) else math.nan
        verdict["seed_sd"] = float(finite.std(ddof=1)) if len(finite) > 1 else math.nan
        verdict["reading"] = reading(verdict | {"note": row.get("note", "")}, nulls, level, min_pairs)
        verdict["note"] = row.get("note", "")
        out.append(verdict)
    return out


# ------------------------------------------------------------------ contrasts between cells (docs/METHOD.md §4.11)
CONTRAST_KEYS = ("contrast", "dataset", "seed", "model_a", "attack_a", "model_b", "attack_b", "view")
CONTRAST_DOC = (
    "One row per contrast, dataset, seed, view, statistic, direction and k: two (model, attack) cells a and b "
    "compared on the test images whose maps are kept in both (n_pairs). value_a and value_b are the statistic "
    "in each cell on those images (so they can differ from the verdict's values, which use every pair kept in "
    "one cell), difference = value_a - value_b, ci_low and ci_high its 95% paired interval (the same images "
    "resampled in both cells; ci_method as the verdict's), related_when which sign of the value means more "
    "related, p_value the two-sided paired permutation p-value (each draw trades the two cells' pairs of a "
    "random half of the images; permutations = draws), p_adjusted its Benjamini-Hochberg adjustment in one "
    "family with every two-sided p-value of the verdict, and reading in plain words: a more related than b, b "
    "more related than a, not distinguishable, or undetermined (too few permutations or pairs)."
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
    if draws and float(row["p_value"]) <= 1 / (draws + 1) * (1 + 1e-9):
        return "undetermined (too few permutations: raise stats.n_null)"
    return "not distinguishable"


def contrast_rows(
    summary: Sequence[dict[str, Any]],
    contrasts: Sequence[dict[str, Any]],
    min_pairs: int = 1,
    level: float = FDR_LEVEL,
) -> list[dict[str, Any]]:
    """contrasts.csv: the contrasts' rows with ``p_adjusted`` (one BH family with the verdict built from
    ``summary``, :func:`verdict_rows`) and ``reading``."""
    nulls = null_names(summary[0]) if summary else []
    _, _, adjusted = _family(summary, contrasts, nulls, min_pairs)
    out = []
    for row, p in zip(contrasts, adjusted, strict=True):
        shown = {key: row[key] for key in row if key != "note"}
        shown["p_adjusted"] = p
        shown["reading"] = contrast_reading({**shown, "note": row.get("note", "")}, level, min_pairs)
        out.append(shown)
    return out


def family_size(stats_cfg: dict[str, Any], n_runs: int) -> int:
    """How many two-sided p-values one run's verdict adjusts together: runs x views x rows x nulls (the
    information imbalance has a row per direction and k)."""
    rows = sum(2 * len(stats_cfg["k"]) if name == "information_imbalance" else 1 for name in stats_cfg["statistics"])
    return n_runs * len(stats_cfg["views"]) * rows * len(stats_cfg["nulls"])


def null_draws_warning(stats_cfg: dict[str, Any], n_runs: int, level: float = FDR_LEVEL) -> str | None:
    """A warning when ``stats.n_null`` is too small for the number of tests: a statistic alone at its
    permutation floor, two-sided p = 2 / (n_null + 1), passes Benjamini-Hochberg over m tests only when
    m * 2 / (n_null + 1) <= level; with fewer draws a strong effect among null ones reads undetermined."""
    m = family_size(stats_cfg, n_runs)
    n_null = stats_cfg["n_null"]
    if m * 2 / (n_null + 1) <= level:
        return None
    needed = math.ceil(2 * m / level) - 1
    return (
        f"stats.n_null: {n_null} null draws give a smallest two-sided p of {2 / (n_null + 1):.3g}; over the "
        f"verdict's {m} tests a lone strong effect cannot pass the false-discovery rate {level} unless "
        f"stats.n_null >= {needed} (such readings say 'undetermined (too few null draws)')"
    )


VERDICT_DOC = (
    "The verdict: for each dataset, model, attack, view and statistic (and direction and k for the information "
    "imbalance) and seed, the value on the true pairing of essential and adversarial maps with its 95% interval; "
    "for each null (random: maps of different images re-paired at random; within-class: re-paired only among "
    "images of the same true class, which keeps what the maps share through the class), the null's mean and "
    "standard deviation, the effect size z = (value - null mean) / null sd signed so that positive means more "
    "related than the null, the one-sided permutation p-values of being more related (p_value) and less related "
    "(p_less), the two-sided p-value min(1, 2 min of the two), its Benjamini-Hochberg adjustment over every "
    f"two-sided p-value of the run and every contrast's p-value (contrasts.csv; false-discovery rate {FDR_LEVEL}), "
    "and how many null draws there were. "
    "Statistics are computed as stats.dc says (separate, the default: without the zero frequency, with "
    "value_with_dc and each map set's DC share beside); essential_at_max_steps and adversarial_at_max_steps are "
    "the shares of pairs whose map stopped at max_steps. ``seeds``, ``seed_mean`` and ``seed_sd`` are the "
    "number of seeds and the across-seed mean and standard deviation of the value. ``reading`` says in words, "
    "per null: more related than it, less related than it, not distinguishable from it, or undetermined (too "
    "few null draws: the p-value is at its floor and still fails); 'undetermined (n = ...)' below stats."
    "min_pairs pairs; a branch with no pair at all reads its cause (e.g. 'no successful attacks (0 of N)'); "
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
def format_p(p: float, draws: int, sides: int = 1) -> str:
    """A p-value for reading: at the permutation floor sides/(draws + 1) it is an upper bound ('< 0.01')."""
    if not math.isfinite(p):
        return ""
    floor = min(1.0, sides / (draws + 1)) if draws else 0.0
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
    stopped at max_steps, null mean ± sd, z, two-sided p ('≤ 0.02' at the floor) and its BH adjustment."""
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
            shown[f"{label} p (two-sided)"] = format_p(float(row[f"{n}_p_two_sided"]), int(row[f"{n}_draws"]), 2)
            shown[f"{label} p (BH)"] = format_p(float(row[f"{n}_p_adjusted"]), int(row[f"{n}_draws"]), 2)
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
