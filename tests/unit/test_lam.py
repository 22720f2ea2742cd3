"""λ sensitivity (maps.lam a list, docs/METHOD.md §2.1): the config's values, and the verdict's λ column."""

import pytest
import yaml

from freqmaps import verdict
from freqmaps.config import ConfigError, lam_label, lam_values, validate_config
from tests.conftest import TINY_CONFIG
from tests.unit.test_verdict import summary_row


def test_lam_values_are_a_list_whose_first_is_the_single_lam():
    config = yaml.safe_load(TINY_CONFIG.read_text())
    assert lam_values(config) == [0.05]
    config["maps"]["lam"] = [0.05, 0.1, 1e-05]
    validate_config(config)
    assert lam_values(config) == [0.05, 0.1, 1e-05]
    assert [lam_label(v) for v in lam_values(config)] == ["0.05", "0.1", "1e-05"]
    del config["maps"]["lam"]
    assert lam_values(config) == [0.5]  # the schema's default


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda c: c["maps"].update(lam=[0.05, 0.05]), "maps.lam: [0.05, 0.05] repeats 0.05"),
        (lambda c: c["maps"].update(lam=[]), "maps.lam: [] has too few"),
        (lambda c: c["maps"].update(lam=[0.1, -1]), "maps.lam.1: -1 is out of range"),
        (
            lambda c: c["frequency_bias"]["image_maps"].update(lam=[0.1, 0.2]),
            "image_maps.lam: [0.1, 0.2] is not of type",
        ),
    ],
)
def test_bad_lam_lists_are_refused_naming_the_key(edit, expected):
    config = yaml.safe_load(TINY_CONFIG.read_text())
    edit(config)
    with pytest.raises(ConfigError) as caught:
        validate_config(config)
    assert expected in str(caught.value)


def test_verdict_keeps_each_lam_apart():
    """Rows of two λ values: the verdict carries lam, groups seeds within a λ only, and gives one headline per
    λ that names it; rows without lam (older tables) read as before."""
    rows = [
        summary_row(seed=0, value=0.5) | {"lam": 0.05},
        summary_row(seed=1, value=0.7) | {"lam": 0.05},
        summary_row(seed=0, value=0.1) | {"lam": 0.1},
    ]
    out = verdict.verdict_rows(rows, {})
    assert [r["lam"] for r in out] == [0.05, 0.05, 0.1]
    assert [r["seeds"] for r in out] == [2, 2, 1]
    assert out[2]["seed_mean"] == pytest.approx(0.1)
    lines = verdict.headlines(out)
    assert len(lines) == 2 and "λ = 0.05" in lines[0] and "λ = 0.1" in lines[1]
    plain = verdict.verdict_rows([summary_row()], {})
    assert "lam" not in plain[0] and "λ" not in verdict.headlines(plain)[0]
    assert verdict.rendered_verdict(out)[2]["lam"] == "0.100"


def test_run_facts_say_how_sparse_the_kept_maps_are(tmp_path):
    """run.csv's sparsity per λ: two kept maps of 4 entries, [1, 0.5, 0, 0] and [0.25, 0.25, 0.25, 0.25] (and
    a dropped one of ones, not counted): mean entry 2.5 / 8, share of entries >= 0.5 two in eight."""
    import torch

    from freqmaps.io import save_tensors
    from freqmaps.outcomes import ATTACK_FAILED, KEPT
    from freqmaps.stages.run_facts import maps_outcomes

    maps = torch.tensor([[1.0, 0.5, 0.0, 0.0], [0.25] * 4, [1.0] * 4]).reshape(3, 1, 2, 2)
    outcome = torch.tensor([KEPT, KEPT, ATTACK_FAILED])
    tensors = {"maps": maps, "outcome": outcome, "selection": outcome.clone(), "steps": torch.ones(3, dtype=torch.long)}
    save_tensors(tmp_path / "maps.safetensors", tensors, {"settings": {"max_steps": 10}})
    facts = maps_outcomes("essential", tmp_path / "maps.safetensors")
    assert facts["essential_mean_l1"] == pytest.approx(2.5 / 8)
    assert facts["essential_share_at_least_half"] == pytest.approx(0.25)


def test_the_lam_figure_draws_each_statistic_and_the_sparsity_against_lam(tmp_path, monkeypatch):
    from freqmaps import figures
    from freqmaps.io import write_csv

    summary = []
    for lam, value in ((0.05, 0.5), (0.1, 0.4)):
        summary.append(summary_row(value=value) | {"lam": lam})
        for direction in ("E_to_A", "A_to_E"):
            for k in (1, 5):  # the smallest k only
                row = summary_row(statistic="information_imbalance", direction=direction, k=k, value=0.3)
                summary.append(row | {"lam": lam})
    facts = [
        {
            "model": "cnn",
            "attack": "pgd",
            "seed": 0,
            "lam": lam,
            f"{kind}_mean_l1": 0.2,
            f"{kind}_share_at_least_half": 0.1,
        }
        for lam in (0.05, 0.1)
        for kind in ("essential",)
    ]
    for row in facts:
        row.update(adversarial_mean_l1=0.1, adversarial_share_at_least_half=0.05)
    write_csv(tmp_path / "summary.csv", summary)
    write_csv(tmp_path / "run.csv", facts)
    saved = []
    monkeypatch.setattr(figures, "_save", lambda fig, path: saved.append(path))
    titles = figures.lam_sensitivity(tmp_path / "summary.csv", tmp_path / "run.csv", tmp_path / "lam.png")
    assert titles == [
        "cosine",
        "information_imbalance E_to_A k=1",
        "information_imbalance A_to_E k=1",
        "map sparsity",
    ]
    assert saved == [tmp_path / "lam.png"]
