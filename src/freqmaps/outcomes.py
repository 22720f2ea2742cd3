"""What became of each configured image in a maps file: its map kept, or dropped and why (docs/METHOD.md §2).

The maps engine (``freqmaps.maps``) drops an image whose masked version lost its target or whose loss became
NaN; the maps stage (``freqmaps.stages``) never admits an image that was misclassified clean or, for
adversarial maps, whose attack failed or left the clean or the attacked image on the boundary
(``freqmaps.attacks.attack_outcomes``). The codes are stored as small integers next to the maps, so their
order is part of the file format: new codes go at the end.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

OUTCOMES = ("kept", "target_lost", "nan_loss", "misclassified_clean", "attack_failed", "on_boundary")
KEPT, TARGET_LOST, NAN_LOSS, MISCLASSIFIED_CLEAN, ATTACK_FAILED, ON_BOUNDARY = range(len(OUTCOMES))


def stopped_at_max_steps(steps: torch.Tensor, max_steps: int) -> torch.Tensor:
    """Which maps used their whole budget of ``max_steps`` updates (the engine's hard stop, docs/METHOD.md §2)
    instead of converging: one rule for run.csv's counts and the verdict's convergence columns."""
    return steps >= max_steps


def both_kept(
    essential: Mapping[str, torch.Tensor], adversarial: Mapping[str, torch.Tensor]
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The images with a kept essential and a kept adversarial map: their ids (ascending) and their rows in
    each maps file's tensors (``ids`` and ``outcome`` of a gathered maps file)."""
    e_row, a_row = (_kept_rows(maps) for maps in (essential, adversarial))
    common = sorted(e_row.keys() & a_row.keys())
    return (
        torch.tensor(common, dtype=torch.long),
        torch.tensor([e_row[i] for i in common], dtype=torch.long),
        torch.tensor([a_row[i] for i in common], dtype=torch.long),
    )


def _kept_rows(maps: Mapping[str, torch.Tensor]) -> dict[int, int]:
    """Image id -> row of every kept map of a maps file."""
    kept = (maps["outcome"] == KEPT).tolist()
    return {int(i): row for row, i in enumerate(maps["ids"].tolist()) if kept[row]}
