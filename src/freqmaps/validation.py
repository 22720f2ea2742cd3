"""One validation of an experiment, before any job: the schema and the bounds between keys (:mod:`freqmaps.config`),
every dataset's files, each model and its weights, and each attack built and run on a stand-in model of each
dataset's inputs (:func:`freqmaps.attacks.try_attack`). ``python -m freqmaps.config FILE``, the workflow
(``workflow/rules/common.smk``) and the library call the same :func:`check_experiment`, so they agree on every
config.

The checks past the schema import torch and the attack libraries (seconds), and Snakemake parses the workflow at
every invocation; so their verdict and the facts the workflow needs from them (:class:`ExperimentFacts`) are kept
in a small cache file, keyed by the config, the library's code and the versions of the packages the checks run,
and valid while none of the files they read (dataset roots, weights, bands: every path the config names) changed
size or time. A repeat parse of an unchanged experiment then imports neither torch nor the attack libraries.

This module imports only the standard library and :mod:`freqmaps.config` at its top; the checks import the rest
when they run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.metadata
import json
import os
import sys
import warnings as warnings_module
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from freqmaps.config import ConfigError, experiment_name, read_config, validate_config

CACHE_FILE = "checked_experiments.json"  # under the cache folder the caller gives
WORKFLOW_CACHE = Path(".snakemake") / "freqmaps"  # the workflow's cache folder, in its working directory
CACHE_ENTRIES = 16  # the most recent checked experiments kept
MAX_WATCHED_FILES = 200_000  # a folder with more entries than this is not watched: the experiment is checked anew
# Installed packages whose code the checks run: an upgrade can change an attack's parameters or a reader.
CHECKED_PACKAGES = ("torch", "torchattacks", "foolbox", "safetensors", "numpy", "pillow", "torchvision", "timm")
PACKAGE_DIR = Path(__file__).resolve().parent


@dataclasses.dataclass(frozen=True)
class ExperimentFacts:
    """What the workflow needs to know from the checked experiment, without importing the checks again.

    ``datasets``: per dataset ``num_classes``, ``channels``, ``size``, ``class_names`` and ``planted_bands``;
    ``models``: the configured models and the frequency-bias study's ``bias_<variant>`` models;
    ``weights``: the weights files each model is built from (workflow inputs); ``baselines``: the configured
    baseline measures per scope (``clean``, ``attack``); ``warnings``: what the run should say before it starts.
    """

    datasets: dict[str, dict[str, Any]]
    models: dict[str, dict[str, Any]]
    weights: dict[str, list[str]]
    baselines: dict[str, list[str]]
    warnings: list[str]


def check_experiment(
    config: Mapping[str, Any],
    source: str = "config",
    configfiles: Iterable[str | Path] = (),
    cache_dir: str | Path | None = None,
) -> ExperimentFacts:
    """Check everything a job would trip over; raise one :class:`~freqmaps.config.ConfigError` naming the key,
    file or value.
    ``source`` names the config in messages; ``configfiles`` (those given, in order) name the experiment.

    With ``cache_dir``, a verdict already reached for the same config, library and package versions, with none of
    the files it read changed since, is reused (``CACHE_FILE``)."""
    validate_config(config, source=source)  # schema and bounds: cheap, always
    experiment_name(dict(config), list(configfiles))
    key = _experiment_key(config)
    cache = Path(cache_dir) / CACHE_FILE if cache_dir is not None else None
    if cache is not None:
        cached = _cached(cache, key)
        if cached is not None:
            return cached
    try:
        facts, watched = _check_everything(config, source)
    except ConfigError:
        raise
    except _check_errors() as err:
        raise ConfigError(str(err)) from err
    if cache is not None:
        _store(cache, key, facts, watched)
    return facts


def _check_errors() -> tuple[type[Exception], ...]:
    """The errors the checks raise for a bad config or bad files (each message names the key or file)."""
    from freqmaps.data.core import DatasetError
    from freqmaps.io import ResultFileError
    from freqmaps.weights import WeightsError

    return ValueError, DatasetError, ResultFileError, WeightsError


def _check_everything(config: Mapping[str, Any], source: str) -> tuple[ExperimentFacts, list[str]]:
    """The checks past the schema, and the paths whose change invalidates their verdict."""
    from freqmaps.attacks import try_attack
    from freqmaps.baselines.measures import SCOPES, of_scope
    from freqmaps.config import check_pool_fits, contrasts, lam_values, setting
    from freqmaps.data.checks import check_source, test_split_size
    from freqmaps.data.core import DataWarning
    from freqmaps.data.generated import has_planted_bands
    from freqmaps.data.registry import dataset_info, dataset_root
    from freqmaps.data.selection import too_few_test_images
    from freqmaps.frequency_bias.variants import variant_models
    from freqmaps.models.loading import weights_inputs
    from freqmaps.synthetic import read_bands
    from freqmaps.training import check_model_config, check_model_fits
    from freqmaps.verdict import null_draws_warning

    warnings: list[str] = []
    watched = _config_paths(config)
    infos = {}
    for name, dataset in config["datasets"].items():
        watched.append(str(dataset_root(name, dataset)))
        with warnings_module.catch_warnings(record=True) as said:
            warnings_module.simplefilter("always", DataWarning)
            check_source(name, dataset)  # missing or damaged files, a bad class list or size
        warnings += [str(w.message) for w in said if issubclass(w.category, DataWarning)]
        infos[name] = dataset_info(name, dataset)
        available = test_split_size(name, dataset)
        few = too_few_test_images(name, setting(config, "datasets", name, "n_test_images"), available or 0)
        if available is not None and few:
            warnings.append(few)
        if dataset.get("bands"):  # a planted-bands file that cannot be read
            read_bands(dataset["bands"], f"datasets.{name}.bands", infos[name].num_classes, infos[name].size)
    check_pool_fits(config, infos)
    for name, model in config["models"].items():
        check_model_config(name, model)  # unknown architecture, absent weights file, impossible training mode
        for info in infos.values():
            check_model_fits(name, model, info)  # images too small for it; weights' keys and shapes (header)
    inputs = {}  # one stand-in per distinct input: channels, size and class count
    for info in infos.values():
        inputs.setdefault((info.channels, info.size, info.num_classes), info)
    for name, attack in config["attacks"].items():
        for info in inputs.values():
            warning = try_attack(name, attack, info)  # method, parameter names and values, on a stand-in model
            if warning:
                warnings.append(warning)
                break
    models = {**config["models"], **variant_models(config)}
    validate_config({**config, "models": models}, source=f"{source} with the frequency_bias models added")
    contrast_entries = contrasts(config, models)  # cells in the experiment, names once, statistics and views computed
    weights = {name: weights_inputs(model) for name, model in models.items()}
    watched += [path for files in weights.values() for path in files]
    main_runs = len(config["datasets"]) * len(config["models"]) * len(config["seeds"]) * len(config["attacks"])
    stats = {key: setting(config, "stats", key) for key in ("statistics", "views", "k", "nulls", "n_null", "p_value")}
    statistics_runs = main_runs * len(lam_values(config))  # every λ's rows join the one family (METHOD §2.1)
    contrast_runs = len(config["datasets"]) * len(config["seeds"])  # each contrast on every dataset and seed
    draws_warning = null_draws_warning(
        stats, statistics_runs, contrasts=contrast_entries, n_contrast_runs=contrast_runs
    )
    if draws_warning:
        warnings.insert(0, draws_warning)
    measures = list(setting(config, "baselines", "measures")) if "baselines" in config else []
    facts = ExperimentFacts(
        datasets={
            name: {
                "num_classes": info.num_classes,
                "channels": info.channels,
                "size": info.size,
                "class_names": list(info.class_names),
                "planted_bands": has_planted_bands(name, config["datasets"][name]),
            }
            for name, info in infos.items()
        },
        models=models,
        weights=weights,
        baselines={scope: of_scope(scope, measures) for scope in SCOPES},
        warnings=list(dict.fromkeys(warnings)),  # each once (a folder is listed by more than one check)
    )
    return facts, sorted({path for path in watched if _watchable(path)})


# ------------------------------------------------------------------ the cache of verdicts
def _experiment_key(config: Mapping[str, Any]) -> str:
    """A hash of the config, the library's files and the checked packages' versions."""
    digest = hashlib.sha256(json.dumps(config, sort_keys=True, default=repr).encode())
    for path in sorted(PACKAGE_DIR.rglob("*")):
        if path.suffix in (".py", ".yaml") and path.is_file():
            digest.update(str(path.relative_to(PACKAGE_DIR)).encode())
            digest.update(path.read_bytes())
    for package in CHECKED_PACKAGES:
        try:
            digest.update(f"{package}=={importlib.metadata.version(package)}".encode())
        except importlib.metadata.PackageNotFoundError:
            digest.update(f"{package} absent".encode())
    digest.update(sys.version.encode())
    return digest.hexdigest()


def _config_paths(config: Any) -> list[str]:
    """Every string in the config that names an existing file or folder (datasets' roots and bands, weights)."""
    if isinstance(config, Mapping):
        return [path for value in config.values() for path in _config_paths(value)]
    if isinstance(config, list | tuple):
        return [path for value in config for path in _config_paths(value)]
    if isinstance(config, str) and config and "\n" not in config and len(config) < 4096:
        try:
            return [config] if Path(config).exists() else []
        except OSError:
            return []
    return []


def _watchable(path: str) -> bool:
    """Not the working folder or one above it: they hold the cache and the results, never a dataset's own files."""
    return Path(path).resolve() not in (Path.cwd(), *Path.cwd().parents)


def _signature(path: str) -> str | None:
    """Size and modification time of a file, or of every entry under a folder; None for a folder too large."""
    target = Path(path)
    if not target.exists():
        return "absent"
    if not target.is_dir():
        stat = target.stat()
        return f"{stat.st_size}:{stat.st_mtime_ns}"
    digest, count = hashlib.sha256(), 0
    for folder, subfolders, files in os.walk(target, followlinks=False):
        subfolders.sort()
        for entry in sorted(files) + subfolders:
            count += 1
            if count > MAX_WATCHED_FILES:
                return None
            entry_path = os.path.join(folder, entry)
            try:
                stat = os.stat(entry_path)  # a link: its target's size and time
                digest.update(f"{entry_path}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
            except OSError:
                digest.update(f"{entry_path}:unreadable\n".encode())
    return digest.hexdigest()


def _read_cache(cache: Path) -> dict[str, Any]:
    try:
        entries = json.loads(cache.read_text())
    except (OSError, ValueError):
        return {}
    return entries if isinstance(entries, dict) else {}


def _cached(cache: Path, key: str) -> ExperimentFacts | None:
    entry = _read_cache(cache).get(key)
    if not isinstance(entry, dict):
        return None
    watched = entry.get("watched", {})
    if any(_signature(path) != signature for path, signature in watched.items()):
        return None
    try:
        return ExperimentFacts(**entry["facts"])
    except (KeyError, TypeError):
        return None


def _store(cache: Path, key: str, facts: ExperimentFacts, watched: Iterable[str]) -> None:
    """Add the verdict to the cache file (atomically; a cache that cannot be written is only slower)."""
    signatures = {path: _signature(path) for path in watched}
    if None in signatures.values():
        return
    entries = _read_cache(cache)
    entries.pop(key, None)
    entries[key] = {"facts": dataclasses.asdict(facts), "watched": signatures}
    entries = dict(list(entries.items())[-CACHE_ENTRIES:])
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        partial = cache.with_name(f".{cache.name}.{os.getpid()}.partial")
        partial.write_text(json.dumps(entries))
        os.replace(partial, cache)
    except OSError:
        pass


# ------------------------------------------------------------------ the command line
def main(argv: list[str]) -> int:
    """``python -m freqmaps.config FILE...`` (or ``python -m freqmaps.validation FILE...``): check each config file
    as the workflow does before any job; print ``FILE: valid`` and the run's warnings, or the problems."""
    status = 0
    # In a workflow's folder the verdict is kept where the workflow's parse looks for it (`make run` checks first)
    cache = WORKFLOW_CACHE if WORKFLOW_CACHE.parent.is_dir() else None
    for name in argv:
        try:
            facts = check_experiment(read_config(name), source=name, configfiles=[name], cache_dir=cache)
        except ConfigError as err:
            print(err, file=sys.stderr)
            status = 1
            continue
        for warning in facts.warnings:
            print(f"{name}: warning: {warning}", file=sys.stderr)
        print(f"{name}: valid")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
