"""The experiment's answer: the summary of every statistic, the null draws and the verdict (workflow rule
`summary`)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from freqmaps import verdict
from freqmaps.io import atomic_path, sidecar_path, write_csv, write_json
from freqmaps.runtime import provenance

log = logging.getLogger(__name__)


def summarise(
    *,
    runs: list[dict[str, Any]],
    table_paths: list[str | Path],
    null_draws_paths: list[str | Path],
    summary_path: str | Path,
    all_draws_path: str | Path,
    verdict_path: str | Path,
    verdict_html: str | Path,
    min_pairs: int = 1,
    verdict_md: str | Path | None = None,
    contrasts: list[dict[str, Any]] = (),
    contrast_paths: list[str | Path] = (),
    contrasts_path: str | Path | None = None,
    p_value: str = "normal_tail",
) -> None:
    """The run's tables: every statistic (summary), every null draw (long), and the verdict (CSV and HTML).

    ``runs[i]`` names the dataset, model, seed and attack of ``table_paths[i]`` and ``null_draws_paths[i]``;
    rows with fewer than ``min_pairs`` pairs read undetermined (``stats.min_pairs``). ``verdict_md``: the
    headline per dataset, model and attack and the table, in Markdown (the HTML page opens with the same).
    ``contrasts[i]`` names the contrast, dataset, seed and cells of ``contrast_paths[i]``: their p-values join
    the verdict's Benjamini-Hochberg family, and ``contrasts_path`` gets them adjusted and read (docs/METHOD.md
    §4.11). ``p_value`` (``stats.p_value``): the normal-tail p-value where the null draws pass the normality
    check, or the permutation p-value everywhere (:func:`freqmaps.verdict.chosen_p`); the log says how many
    p-values fell back to the permutation p and how many of those read undetermined.
    """
    if not len(runs) == len(table_paths) == len(null_draws_paths):
        raise ValueError(f"{len(runs)} runs but {len(table_paths)} tables and {len(null_draws_paths)} null-draw tables")
    summary, draws = [], []
    for run, table, draw_table in zip(runs, table_paths, null_draws_paths, strict=True):
        keys = {key: run[key] for key in verdict.RUN_KEYS if key != "view" and key in run}
        summary += [{**keys, **row} for row in verdict.read_table(table)]
        draws += [{**keys, **row} for row in verdict.read_table(draw_table)]
    if len(contrasts) != len(contrast_paths):
        raise ValueError(f"{len(contrasts)} contrasts but {len(contrast_paths)} contrast tables")
    raw_contrasts = [
        {**{key: about[key] for key in verdict.CONTRAST_KEYS if key != "view"}, **row}
        for about, path in zip(contrasts, contrast_paths, strict=True)
        for row in verdict.read_table(path)
    ]
    values = verdict.null_draw_values(draws)
    rows, contrast_table = verdict.verdict_tables(summary, values, min_pairs, contrasts=raw_contrasts, p_value=p_value)
    fallback = verdict.fallback_message(rows, contrast_table, p_value)
    if fallback:
        log.warning("%s", fallback)
    for row in rows:
        if "undetermined" in row["reading"] or "caveat" in row["reading"] or int(row["n"]) == 0:
            where = "/".join(str(row[key]) for key in ("dataset", "model", "seed", "attack", "view", "statistic"))
            log.warning("%s %s%s: %s", where, row["direction"], f" k={row['k']}" if row["k"] else "", row["reading"])
    write_csv(summary_path, summary)
    write_csv(all_draws_path, draws)
    write_csv(verdict_path, rows)
    with atomic_path(verdict_html) as tmp:
        tmp.write_text(
            verdict.html_page(
                "Verdict: are essential and adversarial maps related beyond chance?",
                verdict.VERDICT_DOC,
                [
                    ("Verdict", verdict.rendered_verdict(rows)),
                    *([("Contrasts between cells (contrasts.csv)", contrast_table)] if contrast_table else []),
                    ("Every statistic (summary.csv)", summary),
                ],
                verdict.headlines(rows, min_pairs),
            )
        )
    if contrasts_path is not None:
        write_csv(contrasts_path, contrast_table)
        write_json(
            sidecar_path(contrasts_path),
            {"columns": verdict.CONTRAST_DOC, "tables": [str(t) for t in contrast_paths], **provenance("cpu", None)},
        )
    if verdict_md is not None:
        with atomic_path(verdict_md) as tmp:
            tmp.write_text(verdict.verdict_markdown(rows, min_pairs))
    write_json(
        sidecar_path(summary_path),
        {
            "columns": verdict.SUMMARY_DOC,
            "verdict": verdict.VERDICT_DOC,
            "tables": [str(t) for t in table_paths],
            "rows": len(summary),
            **provenance("cpu", None),
        },
    )
