"""The measurements behind ``stats.p_value: normal_tail`` (docs/METHOD.md §4.7): how often the verdict's
normal-tail p-value falls at or below a threshold under a true null whose draws are normal or not, with and
without the normality check, and how normal the re-pairing nulls of constructed maps are.

``tails``: per null distribution (normal; gamma of skewness 0.25 to 1; Student's t of 30, 10 and 5 degrees of
freedom), ``--sets`` sets of ``--draws`` draws. For each set the probability that a further value of the same
distribution gets a normal-tail p at or below alpha is computed from the distribution's exact tail (so no rare
event has to be counted); its mean over the sets, divided by alpha, is the ratio reported (1: calibrated; 2: the
p-value is half what it should be). Also the plug-in 2 Phi(-|z|), which takes the draws' mean and sd as known.
The thresholds include 0.05 / 108, what a lone effect among the default run's 108 verdict tests must reach.

``maps`` (``--maps``, minutes): the skewness, excess kurtosis and D'Agostino-Pearson p-value of every statistic's
re-pairing null (``--null-draws`` draws) on constructed maps: 440 pairs of 1x28x28 sigmoid masks sharing a sparse
class pattern (10 classes) and a little per-image structure, in the maps and radial-bands views.

    PYTHONPATH=src python bench/normal_tail_calibration.py [--sets 20000] [--draws 100] [--maps]
"""

from __future__ import annotations

import argparse
import json
import math

import numpy as np
import scipy.stats as st

from freqmaps.verdict import MIN_NORMAL_DRAWS, NORMALITY_LEVEL

DISTRIBUTIONS = {
    "normal": st.norm(),
    "gamma, skewness 0.25": st.gamma(64),
    "gamma, skewness 0.33": st.gamma(36),
    "gamma, skewness 0.5": st.gamma(16),
    "gamma, skewness 1": st.gamma(4),
    "t, 30 df": st.t(30),
    "t, 10 df": st.t(10),
    "t, 5 df": st.t(5),
}
ALPHAS = (0.05, 0.01, 0.05 / 108, 1e-4)
CHECK_LEVELS = (NORMALITY_LEVEL, 0.1, 0.2)


def tails(sets: int, draws: int, seed: int = 0) -> list[dict]:
    """Per distribution: the share of sets passing the normality check at each level, and P(p <= alpha) / alpha
    for the normal-tail p always, after the check (a set failing it uses the permutation p, which is never below
    2 / (draws + 1), above every alpha but 0.05), and for the plug-in Gaussian."""
    rng = np.random.default_rng(seed)
    out = []
    for name, dist in DISTRIBUTIONS.items():
        null = dist.rvs(size=(sets, draws), random_state=rng)
        mean, sd = null.mean(1), null.std(1)
        normality = st.normaltest(null, axis=1).pvalue
        row = {"null": name, "passes": {str(level): float((normality >= level).mean()) for level in CHECK_LEVELS}}
        for label in ("normal_tail", "normal_tail_after_check", "plug_in_gaussian"):
            row[label] = {}
        for alpha in ALPHAS:
            if alpha >= 2 / (draws + 1):
                continue  # the permutation p of a failing set could reach it: not computed here
            t_cut = st.t.isf(alpha / 2, draws - 1) * math.sqrt((draws + 1) / (draws - 1))  # in units of sd
            z_cut = st.norm.isf(alpha / 2)
            rate = {
                cut: dist.cdf(mean - cut * sd) + dist.sf(mean + cut * sd) for cut in (t_cut, z_cut)
            }  # P(|value - mean| >= cut * sd | draws)
            row["normal_tail"][f"{alpha:.3g}"] = float(rate[t_cut].mean() / alpha)
            row["normal_tail_after_check"][f"{alpha:.3g}"] = {
                str(level): float((rate[t_cut] * (normality >= level)).mean() / alpha) for level in CHECK_LEVELS
            }
            row["plug_in_gaussian"][f"{alpha:.3g}"] = float(rate[z_cut].mean() / alpha)
        out.append(row)
    return out


def maps_nulls(null_draws: int) -> list[dict]:
    """Skewness, excess kurtosis and normality p-value of each statistic's nulls on constructed maps."""
    from collections import defaultdict

    import torch

    from freqmaps import stats

    torch.manual_seed(0)
    n, classes = 440, 10
    labels = torch.arange(n) % classes
    sparse = lambda *shape: torch.randn(*shape) * (torch.rand(*shape) < 0.05)  # noqa: E731
    pattern, own_e, own_a = sparse(classes, 1, 28, 28), sparse(n, 1, 28, 28), sparse(n, 1, 28, 28)
    E = torch.sigmoid(4 * (pattern[labels] + own_e) - 3)
    A = torch.sigmoid(4 * (0.3 * pattern[labels] + own_a + 0.2 * own_e) - 3)
    out = []
    for view, names in (
        ("maps", ["cosine", "pearson", "cka", "idcor", "information_imbalance"]),
        ("radial_bands", list(stats.STATISTICS)),
    ):
        settings = stats.StatsSettings(
            statistics=names, n_null=null_draws, n_bootstrap=2, n_half_samples=2, k=[1, 5], views=[view], n_bands=32
        )
        result = stats.compare_maps(E, A, labels, settings, 0, torch.device("cpu"), view)
        draws = defaultdict(list)
        for d in result.null_draws:
            draws[(d["statistic"], d["direction"], d["k"], d["null"])].append(d["value"])
        for (name, direction, k, null), values in draws.items():
            values = np.asarray(values)
            out.append(
                {
                    "view": view,
                    "statistic": name,
                    "direction": direction,
                    "k": k,
                    "null": null,
                    "skewness": float(st.skew(values)),
                    "excess_kurtosis": float(st.kurtosis(values)),
                    "normality_p": float(st.normaltest(values).pvalue),
                }
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=int, default=20_000)
    parser.add_argument("--draws", type=int, default=100)
    parser.add_argument("--maps", action="store_true", help="also the nulls of constructed maps (minutes)")
    parser.add_argument("--null-draws", type=int, default=400)
    args = parser.parse_args()
    if args.draws < MIN_NORMAL_DRAWS:
        parser.error(f"--draws: the normal tail needs at least {MIN_NORMAL_DRAWS}")
    report = {"benchmark": "normal_tail_calibration", "sets": args.sets, "draws": args.draws}
    report["tails"] = tails(args.sets, args.draws)
    if args.maps:
        report["maps_nulls"] = maps_nulls(args.null_draws)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
