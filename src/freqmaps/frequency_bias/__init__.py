"""The frequency-bias study of [P1] (docs/METHOD.md §6) and the class-level maps of [P2] (§5).

Per (variant model, seed): a dataset-level mask with the invariance loss, single-image maps with the
[P1] objective, and class-level maps with the undo-the-attack evaluation (``stages``). Across variants
(``study``): one table of accuracies (clean, attacked, masked, complement), band energies and their
differences against the standard model, a low-frequency index with confidence intervals over images and
seeds, and a linear classifier on the single-image maps with a scrambled-label control (``statistics``).
The study's models, one per training variant, are added to the config by ``variants``.
"""
