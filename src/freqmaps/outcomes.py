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


def why_no_pairs(essential: Mapping[str, torch.Tensor], adversarial: Mapping[str, torch.Tensor]) -> str:
    """In plain words, why no image has both a kept essential and a kept adversarial map (the verdict's reading
    for that branch), from the two maps files' ``selection`` (the outcome of every configured image)."""
    counts = {
        kind: {name: int((maps["selection"] == code).sum()) for code, name in enumerate(OUTCOMES)}
        for kind, maps in (("essential", essential), ("adversarial", adversarial))
    }
    n = len(adversarial["selection"])
    attacked = n - counts["adversarial"]["misclassified_clean"]
    if attacked == 0:
        return f"no correctly classified image (0 of {n})"
    adversarial_ = counts["adversarial"]
    if adversarial_["attack_failed"] + adversarial_["on_boundary"] == attacked:
        boundary = adversarial_["on_boundary"]
        return f"no successful attacks (0 of {attacked})" + (f"; {boundary} left on the boundary" if boundary else "")
    for kind in ("adversarial", "essential"):
        if counts[kind]["kept"] == 0:
            dropped = ", ".join(f"{count} {name.replace('_', ' ')}" for name, count in counts[kind].items() if count)
            return f"no {kind} map kept (0 of {n}: {dropped})"
    return (
        f"no image with both maps kept (essential kept {counts['essential']['kept']}, adversarial kept "
        f"{counts['adversarial']['kept']} of {n})"
    )
