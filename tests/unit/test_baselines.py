"""Cheap baselines: known answers for every measure, the batched heat map against the per-frequency loop."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from torch import nn

from freqmaps import maps
from freqmaps.baselines import agreement, measures
from freqmaps.baselines.measures import BASELINES, BaselineInputs, HeatMapSettings
from freqmaps.fourier import apply_mask, full_spectrum, shifted
from freqmaps.outcomes import KEPT, TARGET_LOST

SCHEMA = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"


class BandDetector(nn.Module):
    """Class 1 when the image's (mean-free) spectrum has energy in the band, class 0 otherwise."""

    def __init__(self, band: torch.Tensor, threshold: float) -> None:
        super().__init__()
        self.register_buffer("band", band)  # bool [H, W], unshifted
        self.threshold = threshold

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        energy = (torch.fft.fft2(x - 0.5).abs() ** 2 * self.band).flatten(1).sum(1)
        score = 50.0 * (energy - self.threshold)
        return torch.stack([torch.zeros_like(score), score], 1)


def tiny_classifier(channels: int = 1, size: int = 8, classes: int = 3) -> nn.Module:
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(channels, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * size * size, classes)
    )
    return model.eval()


def test_heat_map_of_a_one_band_model_lights_up_that_band_only():
    size = 8
    band = torch.zeros(size, size, dtype=torch.bool)
    band[1, 2] = band[-1, -2] = True  # one frequency and its mirror (unshifted)
    band[2, 0] = band[-2, 0] = True
    norm = 1.0
    model = BandDetector(band, threshold=size * size * norm**2 / 4)
    images = torch.full((5, 1, size, size), 0.5)
    labels = torch.zeros(5, dtype=torch.long)
    heat = measures.fourier_heat_map(model, images, labels, HeatMapSettings(norm=norm, batch_size=64), "cpu")
    expected = shifted(band.double())
    assert torch.equal(heat["error_rate"], expected)
    assert (heat["loss_change"][expected.bool()] > 1).all()
    assert (heat["loss_change"][~expected.bool()] == 0).all()


def test_basis_is_the_ports_normalised_inverse_rfft_of_a_one_hot_spectrum():
    height, width = 6, 7
    entries = measures.half_spectrum_entries(height, width)
    one_hot = torch.zeros(len(entries), height, width // 2 + 1, dtype=torch.complex128)
    one_hot[torch.arange(len(entries)), entries[:, 0], entries[:, 1]] = 1
    port = torch.fft.irfft2(one_hot, s=(height, width))
    port = port / port.flatten(1).norm(dim=1)[:, None, None]
    assert torch.allclose(measures.fourier_basis(entries, height, width).double(), port, atol=1e-6)


@pytest.mark.parametrize("channels", [1, 3])
def test_batched_heat_map_equals_the_per_frequency_loop(channels):
    model = tiny_classifier(channels)
    images = torch.rand(6, channels, 8, 8, generator=torch.Generator().manual_seed(1))
    labels = model(images).argmax(1)
    settings = HeatMapSettings(norm=2.0, batch_size=37)  # batches that straddle frequencies
    batched = measures.fourier_heat_map(model, images, labels, settings, "cpu", seed=3)
    loop = measures.fourier_heat_map_loop(model, images, labels, settings, "cpu", seed=3)
    assert torch.equal(batched["error_rate"], loop["error_rate"])
    assert torch.allclose(batched["loss_change"], loop["loss_change"], atol=1e-5)
    assert batched["error_rate"].max() > 0  # the comparison is not between two empty maps
    assert torch.equal(batched["error_rate"], batched["error_rate"].flip(0, 1).roll((1, 1), (0, 1)))  # v(-k) = v(k)


@pytest.mark.parametrize("parameterisation", ["per_channel", "shared", "hermitian"])
@pytest.mark.parametrize("objective", ["essential", "invariance"])
def test_saliency_is_autograd_of_the_mask_forward_at_one(parameterisation, objective):
    model = tiny_classifier(3)
    images = torch.rand(4, 3, 8, 8, generator=torch.Generator().manual_seed(2))
    targets = torch.tensor([0, 1, 2, 1])
    settings = maps.MapSettings(lam=0.3, parameterisation=parameterisation, objective=objective)
    saliency = measures.mask_saliency(model, images, targets, settings, "cpu", batch_size=3)
    for i in range(len(images)):  # one image at a time, written out: CE(f(x'), t) + lam |M|_1
        x, t = images[i : i + 1], targets[i : i + 1]
        shape = (1, *measures.mask_shape(parameterisation, 3, 8, 8))
        mask = torch.ones(shape, requires_grad=True)
        ce = nn.functional.cross_entropy(model(apply_mask(x, mask, parameterisation)), t)
        if objective == "essential":
            loss = ce + settings.lam * maps.l1_norm(mask, maps.l1_weights(parameterisation, 8)).sum()
        else:
            clean = nn.functional.cross_entropy(model(x), t)
            entries = shape[1] * 64
            loss = (
                torch.exp((ce - clean) ** 2)
                + settings.lam / entries * maps.l1_norm(mask, maps.l1_weights(parameterisation, 8)).sum()
            )
        (grad,) = torch.autograd.grad(loss, mask)
        expected = full_spectrum(grad.abs(), parameterisation, 8)[0]
        assert torch.allclose(saliency[i], expected, atol=1e-6)


@pytest.mark.parametrize("parameterisation", ["per_channel", "shared", "hermitian"])
@pytest.mark.parametrize("objective", ["essential", "invariance"])
@pytest.mark.parametrize("name", ["data_saliency", "adversarial_data_saliency"])
def test_data_saliency_is_autograd_of_the_data_term_through_the_mask_forward_at_one(parameterisation, objective, name):
    model = tiny_classifier(3)
    generator = torch.Generator().manual_seed(3)
    clean = torch.rand(4, 3, 8, 8, generator=generator)
    adversarial = (clean + 0.1 * torch.randn(clean.shape, generator=generator)).clamp(0, 1)
    inputs = BaselineInputs(clean, torch.tensor([0, 1, 2, 1]), adversarial, torch.tensor([2, 0, 1, 0]))
    images, targets = (clean, inputs.labels) if name == "data_saliency" else (adversarial, inputs.adversarial_labels)
    settings = maps.MapSettings(lam=0.3, parameterisation=parameterisation, objective=objective)
    saliency = BASELINES[name].compute(model, inputs, settings, "cpu")
    for i in range(len(images)):  # one image at a time, written out: CE(f(x'), t) alone, lam = 0
        shape = (1, *measures.mask_shape(parameterisation, 3, 8, 8))
        mask = torch.ones(shape, requires_grad=True)
        logits = model(apply_mask(images[i : i + 1], mask, parameterisation))
        ce = nn.functional.cross_entropy(logits, targets[i : i + 1])
        (grad,) = torch.autograd.grad(ce, mask)
        expected = shifted(full_spectrum(grad.abs(), parameterisation, 8))[0]
        assert torch.allclose(saliency[i], expected, atol=1e-6)
    if objective == "essential" and parameterisation != "hermitian":  # every entry weighs 1 in the L1 term
        full = shifted(measures.mask_saliency(model, images, targets, settings, "cpu"))
        signed = full - settings.lam  # |g + lam| - lam = g where g + lam > 0
        positive = signed > 0
        assert positive.any() and torch.allclose(signed[positive], saliency[positive], atol=1e-5)


def test_perturbation_spectrum_recovers_the_planted_frequencies():
    size = 16
    i = torch.arange(size, dtype=torch.float64)[:, None]
    j = torch.arange(size, dtype=torch.float64)[None, :]
    planted = {(2, 3): 0.02, (5, 0): 0.01, (1, 7): 0.03}  # (row, column) frequency -> amplitude
    delta = sum(a * torch.cos(2 * math.pi * (r * i + c * j) / size) for (r, c), a in planted.items())
    clean = torch.full((2, 3, size, size), 0.5)
    inputs = BaselineInputs(
        clean, torch.zeros(2, dtype=torch.long), clean + delta.float(), torch.ones(2, dtype=torch.long)
    )
    spectrum = BASELINES["perturbation_spectrum"].compute(None, inputs, maps.MapSettings(), "cpu")
    expected = torch.zeros(size, size, dtype=torch.float64)
    for (r, c), a in planted.items():
        expected[r, c] = expected[-r % size, -c % size] = a * size * size / 2
    assert torch.allclose(spectrum.double(), shifted(expected).expand_as(spectrum), atol=1e-4)


def test_gradient_spectrum_of_a_linear_model_sits_on_its_templates_frequencies():
    size = 8
    i = torch.arange(size, dtype=torch.float32)[:, None]
    j = torch.arange(size, dtype=torch.float32)[None, :]
    templates = torch.stack([torch.cos(2 * math.pi * (r * i + c * j) / size) for r, c in ((1, 2), (3, 1))])
    model = nn.Sequential(nn.Flatten(), nn.Linear(size * size, 2, bias=False))
    model[1].weight.data = templates.flatten(1)
    images = torch.rand(3, 1, size, size, generator=torch.Generator().manual_seed(4))
    inputs = BaselineInputs(images, torch.tensor([0, 1, 0]))
    spectrum = BASELINES["gradient_spectrum"].compute(model.eval(), inputs, maps.MapSettings(), "cpu")
    support = torch.zeros(size, size, dtype=torch.bool)
    for r, c in ((1, 2), (3, 1)):
        support[r, c] = support[-r % size, -c % size] = True
    support = shifted(support)
    assert (spectrum[..., ~support].abs() < 1e-5).all()
    assert (spectrum[..., support] > 1e-3).all()


@pytest.mark.parametrize("name", list(BASELINES))
def test_every_registered_baseline_runs_on_a_tiny_model(name):
    model = tiny_classifier(3)
    clean = torch.rand(5, 3, 8, 8, generator=torch.Generator().manual_seed(5))
    adversarial = (clean + 0.05 * torch.randn(clean.shape, generator=torch.Generator().manual_seed(6))).clamp(0, 1)
    inputs = BaselineInputs(clean, model(clean).argmax(1), adversarial, model(adversarial).argmax(1))
    baseline = BASELINES[name]
    assert baseline.description and baseline.scope in measures.SCOPES
    if baseline.scope == "model":
        heat = measures.fourier_heat_map(model, clean, inputs.labels, HeatMapSettings(batch_size=100), "cpu")
        values = heat["error_rate"]
        assert values.shape == (8, 8)
    else:
        values = measures.per_image_baselines([name], model, inputs, maps.MapSettings(), "cpu")[name]
        assert values.shape == clean.shape
    assert torch.isfinite(values).all() and (values >= 0).all() and values.max() > 0


def test_unknown_baseline_names_itself():
    with pytest.raises(ValueError, match="fourier_heatmap"):
        measures.check_names(["fourier_heatmap"])


def test_attack_baselines_need_attacked_images():
    inputs = BaselineInputs(torch.rand(2, 1, 8, 8), torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError, match="attacked images"):
        measures.per_image_baselines(["perturbation_spectrum"], tiny_classifier(1), inputs, maps.MapSettings(), "cpu")


@pytest.mark.parametrize("height,width", [(6, 6), (7, 5), (8, 7)])
def test_heat_map_measures_each_frequency_pair_once(height, width):
    entries = {tuple(e) for e in measures.half_spectrum_entries(height, width).tolist()}
    for r in range(height):
        for c in range(width):
            mirror = (-r % height, -c % width)
            assert ((r, c) in entries) + (mirror in entries and mirror != (r, c)) == 1


def test_top_m_keeps_the_m_largest_entries_of_each_row():
    values = torch.tensor([[3.0, 1.0, 2.0, 5.0], [0.0, 4.0, 4.0, 1.0]])
    chosen = agreement.top_m(values, torch.tensor([2, 1]))
    assert chosen.tolist() == [[True, False, False, True], [False, True, False, False]]


def test_matched_level_compares_the_baselines_top_m_with_the_maps_support():
    learned = torch.zeros(3, 1, 4, 4)
    learned[0, 0, 1, 1] = learned[0, 0, 2, 2] = 1.0
    learned[1, 0, 0, :3] = 0.8
    baseline = torch.rand(3, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    baseline[0, 0, 1, 1] = baseline[0, 0, 2, 2] = 2.0  # image 0: the baseline's top two are the map's support
    X, Y, labels = agreement.level_inputs("matched", baseline, learned, torch.tensor([0, 1, 2]))
    assert labels.tolist() == [0, 1]  # image 2 has an empty map: nothing to match
    assert X.flatten(1).sum(1).tolist() == Y.flatten(1).sum(1).tolist() == [2.0, 3.0]
    assert torch.equal(X[0], Y[0])


def test_class_mean_level_averages_each_class():
    values = torch.arange(8.0).view(4, 1, 1, 2)
    X, Y, classes = agreement.level_inputs("class_mean", values, values * 2, torch.tensor([1, 0, 1, 0]))
    assert classes.tolist() == [0, 1]
    assert X.flatten(1).tolist() == [[4.0, 5.0], [2.0, 3.0]]
    assert torch.equal(Y, 2 * X)


def test_band_recovery_known_answers():
    bands = torch.zeros(2, 4, 4, dtype=torch.bool)
    bands[0, 0, :] = True  # class 0: the first row (4 entries)
    bands[1, 3, :] = True
    classes = torch.tensor([0, 0, 1])
    chosen = torch.zeros(3, 4, 4, dtype=torch.bool)
    chosen[0, 0, :2] = True  # half of its band
    chosen[1, 0, 2:] = True  # the other half: the class's union is all of it
    chosen[2, 0, :] = True  # all outside its band
    values = chosen[:, None].float()
    result = agreement.band_recovery(values, chosen, bands, classes)
    assert result["band_area"] == pytest.approx(0.25)
    assert result["mass_in_band"] == pytest.approx(2 / 3)
    assert result["chosen_in_band"] == pytest.approx(2 / 3)
    assert result["recall_image"] == pytest.approx((0.5 + 0.5 + 0) / 3)
    assert result["recall_class"] == pytest.approx((1.0 + 0.0) / 2)


def _imbalance(direction, k, value, p, ci_low, n=50):
    return {
        "statistic": "information_imbalance",
        "direction": direction,
        "k": k,
        "n": n,
        "value": value,
        "ci_low": ci_low,
        "random_p_value": p,
    }


def test_map_adds_is_read_at_every_k_and_says_when_they_disagree():
    """k = 1: Δ(B→E) at its floor (k + 1) / n = 0.04 within its interval: nothing; k = 3: below its null but
    well above the floor 0.08: some; a third k not below the null: everything."""
    rows = [
        _imbalance("B_to_E", 1, 0.05, 0.01, 0.03),
        _imbalance("E_to_B", 1, 0.3, 0.01, 0.2),
        _imbalance("B_to_E", 3, 0.4, 0.01, 0.3),
        _imbalance("E_to_B", 3, 0.4, 0.01, 0.3),
        _imbalance("B_to_E", 5, 0.95, 0.4, 0.9),
        _imbalance("E_to_B", 5, 0.2, 0.01, 0.1),
    ]
    reading = agreement.reading(rows, ("B", "E"))
    assert reading["map_adds"] == "depends on k"
    assert reading["map_adds_per_k"] == "k=1: nothing; k=3: some; k=5: everything"
    assert reading["k"] == 1 and reading["delta_floor"] == pytest.approx(2 / 50)
    assert agreement.reading(rows[:2], ("B", "E"))["map_adds"] == "nothing"


def test_a_baseline_equal_to_the_map_agrees_at_every_level():
    from freqmaps import stats

    generator = torch.Generator().manual_seed(7)
    learned = (torch.rand(40, 1, 6, 6, generator=generator) > 0.7).float()
    labels = torch.arange(40) % 4
    settings = stats.StatsSettings(statistics=["cosine", "information_imbalance"], n_null=20, k=[1], n_half_samples=4)
    rows, draws = agreement.compare_with_map(
        learned * 3.0, learned, labels, ("B", "E"), settings, list(agreement.LEVELS), 0, torch.device("cpu")
    )
    for level in agreement.LEVELS:
        mine = {(r["statistic"], r["direction"]): r for r in rows if r["level"] == level}
        assert mine[("cosine", "")]["value"] == pytest.approx(1.0)
        imbalance = mine[("information_imbalance", "B_to_E")]
        assert imbalance["value"] == pytest.approx(2 / imbalance["n"])  # every nearest neighbour kept: rank 1
        assert "within_class_p_value" in mine[("cosine", "")] or level == "class_mean"
    assert {d["level"] for d in draws} == set(agreement.LEVELS)
    image = [r for r in rows if r["level"] == "image"]
    reading = agreement.reading(image, ("B", "E"), [d for d in draws if d["level"] == "image"])
    assert reading["map_adds"] == "nothing"


def test_an_unrelated_baseline_leaves_the_map_unexplained():
    from freqmaps import stats

    generator = torch.Generator().manual_seed(8)
    learned = (torch.rand(60, 1, 6, 6, generator=generator) > 0.7).float()
    baseline = torch.rand(60, 1, 6, 6, generator=generator)
    settings = stats.StatsSettings(statistics=["information_imbalance"], n_null=50, k=[1], n_half_samples=4)
    rows, _ = agreement.compare_with_map(
        baseline, learned, torch.arange(60) % 3, ("B", "E"), settings, ["image"], 0, torch.device("cpu")
    )
    assert agreement.reading(rows, ("B", "E"))["map_adds"] == "everything"


def test_agreement_job_uses_the_baselines_own_nulls_and_k_and_keeps_the_known_answer(tmp_path):
    """The job's defaults (baselines.nulls [random], k [1]) and the known answer through the whole job: a
    baseline that is the map times 3 has Δ(B → M) = 2/n at k = 1 (every nearest neighbour kept), cosine 1."""
    from freqmaps.io import read_json, save_tensors
    from freqmaps.stages.baseline_agreement import agreement_tables

    generator = torch.Generator().manual_seed(9)
    n = 30
    learned = (torch.rand(n, 1, 6, 6, generator=generator) > 0.6).float()
    labels = torch.arange(n) % 3
    ids = torch.arange(n)
    for kind in ("essential", "adversarial"):
        outcome = torch.full((n,), KEPT)
        tensors = {"maps": learned, "ids": ids, "labels": labels, "targets": labels.clone(), "outcome": outcome}
        save_tensors(tmp_path / f"{kind}.safetensors", tensors, {})
    baselines = {"copy": learned * 3.0, "ids": ids, "labels": labels, "targets": labels.clone()}
    save_tensors(tmp_path / "clean.safetensors", baselines, {"baselines": ["copy"]})
    stats_cfg = {"n_null": 30, "n_bootstrap": 10, "n_half_samples": 4, "k": [1, 2], "nulls": ["random", "within_class"]}
    agreement_tables(
        essential_path=tmp_path / "essential.safetensors",
        adversarial_path=tmp_path / "adversarial.safetensors",
        baseline_paths=[tmp_path / "clean.safetensors"],
        heat_map_path=None,
        stats_cfg=stats_cfg,
        baseline_cfg={},  # every key from the schema's baselines defaults
        seed=0,
        device="cpu",
        table_path=tmp_path / "table.csv",
        draws_path=tmp_path / "draws.csv",
    )
    rows = read_json(tmp_path / "table.json")["rows"]
    assert {r["level"] for r in rows} == set(agreement.LEVELS)
    imbalance = [r for r in rows if r["statistic"] == "information_imbalance"]
    assert {r["k"] for r in imbalance} == {1}  # baselines.k, not stats.k
    assert all("within_class_p_value" not in r for r in rows)  # baselines.nulls, not stats.nulls
    for r in imbalance:
        if r["direction"] in ("B_to_E", "B_to_A"):
            assert r["value"] == pytest.approx(2 / r["n"])
    assert all(r["value"] == pytest.approx(1.0) for r in rows if r["statistic"] == "cosine")
    readings = read_json(tmp_path / "table.json")["readings"]
    assert {r["map_adds"] for r in readings if r["level"] == "image"} == {"nothing"}


def test_each_map_set_meets_the_baselines_on_its_own_kept_images(tmp_path):
    """Essential and adversarial maps are each compared on their own kept images (not only on those kept in
    both, as freqmaps.outcomes.both_kept would give), in the maps file's order, with the baseline rows found by
    image id whatever the baseline file's order."""
    from freqmaps.baselines import files
    from freqmaps.io import read_json, save_tensors
    from freqmaps.stages.baseline_agreement import agreement_tables

    n = 12
    generator = torch.Generator().manual_seed(3)
    learned = torch.rand(n, 1, 4, 4, generator=generator)
    ids = torch.tensor([5, 0, 7, 2, 9, 1, 11, 3, 8, 4, 10, 6])  # a maps file's order need not be ascending
    labels = ids % 2
    dropped = {"essential": {0, 7}, "adversarial": {2, 9, 11}}
    for kind, gone in dropped.items():
        outcome = torch.tensor([TARGET_LOST if int(i) in gone else KEPT for i in ids])
        tensors = {"maps": learned, "ids": ids, "labels": labels, "targets": labels.clone(), "outcome": outcome}
        save_tensors(tmp_path / f"{kind}.safetensors", tensors, {})
    order = torch.argsort(ids, descending=True)  # the baseline file in another order: rows by id
    baselines = {
        "copy": learned[order] * 2.0,
        "ids": ids[order],
        "labels": labels[order],
        "targets": labels[order].clone(),
    }
    save_tensors(tmp_path / "clean.safetensors", baselines, {"baselines": ["copy"]})

    means = files.class_mean_baselines(tmp_path / "adversarial.safetensors", [tmp_path / "clean.safetensors"])
    kept = torch.tensor([int(i) not in dropped["adversarial"] for i in ids])
    for c in (0, 1):
        expected = learned[kept & (labels == c)].double().mean((0, 1))
        assert torch.allclose(means["map"][c], expected)
        assert torch.allclose(means["copy"][c], 2 * expected)

    agreement_tables(
        essential_path=tmp_path / "essential.safetensors",
        adversarial_path=tmp_path / "adversarial.safetensors",
        baseline_paths=[tmp_path / "clean.safetensors"],
        heat_map_path=None,
        stats_cfg={"n_null": 5, "n_bootstrap": 5, "n_half_samples": 2},
        baseline_cfg={"statistics": ["cosine"], "levels": ["image"]},
        seed=0,
        device="cpu",
        table_path=tmp_path / "table.csv",
        draws_path=tmp_path / "draws.csv",
    )
    rows = read_json(tmp_path / "table.json")["rows"]
    assert {r["map"]: r["n"] for r in rows} == {kind: n - len(gone) for kind, gone in dropped.items()}
    assert all(r["value"] == pytest.approx(1.0) for r in rows)


def test_summary_names_each_table_by_the_run_the_workflow_passes_not_by_its_path(tmp_path):
    """The readings are labelled from the runs given with the tables (no parsing of where a file lies), and a
    mismatch between runs and tables stops the summary."""
    from freqmaps.io import read_csv, write_json
    from freqmaps.stages.baseline_summary import summarise

    reading = {"baseline": "gradient_spectrum", "map": "essential", "level": "image", "map_adds": "nothing"}
    rows = [
        {"baseline": "gradient_spectrum", "map": "essential", "level": "image", "statistic": "cosine", "value": 0.5}
    ]
    sidecar = tmp_path / "anywhere.json"
    write_json(sidecar, {"readings": [reading], "rows": rows})
    run = {"dataset": "fashion_mnist", "model": "cnn", "seed": 3, "attack": "pgd"}
    out = tmp_path / "summary.csv"
    summarise(runs=[run], sidecars=[sidecar], out_path=out)
    (row,) = read_csv(out)
    assert (row["dataset"], row["model"], row["seed"], row["attack"]) == ("fashion_mnist", "cnn", "3", "pgd")
    assert row["map_adds"] == "nothing" and float(row["cosine"]) == 0.5
    with pytest.raises(ValueError, match="2 runs but 1 agreement tables"):
        summarise(runs=[run, run], sidecars=[sidecar], out_path=out)
