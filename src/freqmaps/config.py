"""Experiment configs: reading them (file, line and column of an error; duplicate keys refused), validating
them against the one schema (key path, value and allowed values of every error), the defaults the schema
declares, and the documentation's configuration reference generated from it.

``workflow/schemas/config.schema.yaml`` (shipped as package data ``freqmaps/schemas/config.schema.yaml``, a
link that a wheel build copies) is the single source of every key, bound and default: the settings
dataclasses take their defaults from it through :func:`schema_defaults`.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import importlib
import importlib.resources
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import yaml

# Package data, so that an installed (non-editable) freqmaps validates configs.
SCHEMA_PATH = importlib.resources.files("freqmaps") / "schemas" / "config.schema.yaml"
MAX_ERRORS = 10  # validation errors listed before "... and N more"
# Keys that were renamed, so that an old config's refusal names the new key: old key path -> new name.
RENAMED_KEYS = {"frequency_bias.image_masks": "image_maps"}  # the study's per-image masks are maps, as elsewhere


class ConfigError(ValueError):
    """A config file cannot be read or a value is not allowed; the message names the file or key at fault."""


# ------------------------------------------------------------------ reading
class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping (YAML itself keeps the last silently)."""

    source = "<config>"

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, yaml.Mark] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                first, again = seen[key].line + 1, key_node.start_mark.line + 1
                raise ConfigError(f"{self.source}: line {again}: key {key!r} appears twice (first on line {first})")
            seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


def read_config(path: str | Path) -> dict[str, Any]:
    """Parse a YAML config file; a syntax error names the file, line and column, a duplicate key its lines."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise ConfigError(f"{path}: cannot be read ({err.strerror})") from err
    loader = _UniqueKeyLoader(text)
    loader.source = str(path)
    try:
        loaded = loader.get_single_data()
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f" line {mark.line + 1}, column {mark.column + 1}:" if mark else ""
        raise ConfigError(f"{path}:{where} not valid YAML ({err.problem or err.context})") from err
    finally:
        loader.dispose()
    if not isinstance(loaded, dict):
        raise ConfigError(
            f"{path}: expected a mapping of keys (seeds, datasets, models, ...), got {type(loaded).__name__}"
        )
    return loaded


# ------------------------------------------------------------------ the schema and its defaults
@functools.cache
def schema() -> dict[str, Any]:
    """The config schema (read once)."""
    return yaml.safe_load(SCHEMA_PATH.read_text())


def _resolve(node: Mapping[str, Any]) -> dict[str, Any]:
    """A schema node with its ``$ref`` followed: the node's own properties first, then the referenced ones."""
    node = dict(node)
    while "$ref" in node:
        ref = node.pop("$ref")
        target = schema()
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]
        own = node.get("properties", {})
        merged = {**target, **node}
        merged["properties"] = {
            key: {**target.get("properties", {}).get(key, {}), **own.get(key, {})}
            for key in [*target.get("properties", {}), *own]
        }
        node = merged
    return node


def schema_at(*keys: str) -> dict[str, Any]:
    """The schema of the config key at ``keys`` (``"*"`` or any name for an entry of a named section;
    ``"$defs", name`` for a shared part), references followed."""
    node: dict[str, Any] = schema() if keys[:1] != ("$defs",) else {"$ref": f"#/$defs/{keys[1]}"}
    for key in keys if keys[:1] != ("$defs",) else keys[2:]:
        node = _resolve(node)
        properties = node.get("properties", {})
        if key in properties:
            node = properties[key]
        elif isinstance(node.get("additionalProperties"), dict):
            node = node["additionalProperties"]
        else:
            raise KeyError(f"the config schema has no key {'.'.join(keys)!r}")
    return _resolve(node)


def defaults_at(*keys: str) -> dict[str, Any]:
    """The declared default of every key under ``keys`` that has one (fresh copies)."""
    properties = schema_at(*keys).get("properties", {})
    return {key: copy.deepcopy(prop["default"]) for key, prop in properties.items() if "default" in prop}


def setting(config: Mapping[str, Any], *keys: str) -> Any:
    """The config's value at ``keys``, or the schema's default when the config leaves it out."""
    node: Any = config
    for key in keys:
        if not isinstance(node, Mapping) or key not in node:
            return copy.deepcopy(schema_at(*keys)["default"])
        node = node[key]
    return node


def schema_defaults(*keys: str) -> Callable[[type], type]:
    """Class decorator (placed under ``@dataclass``): the fields named in the schema at ``keys`` get the
    schema's defaults, so a dataclass never holds a second copy of a default."""

    def decorate(cls: type) -> type:
        annotated = cls.__dict__.get("__annotations__", {})
        for key, value in defaults_at(*keys).items():
            if key in annotated:
                if isinstance(value, list | dict):
                    setattr(cls, key, dataclasses.field(default_factory=functools.partial(copy.deepcopy, value)))
                else:
                    setattr(cls, key, value)
        return cls

    return decorate


# ------------------------------------------------------------------ validation
def _strict_types() -> jsonschema.TypeChecker:
    """JSON Schema counts 1.0 as an integer and True as a number; a config means neither."""
    base = jsonschema.Draft202012Validator.TYPE_CHECKER
    return base.redefine_many(
        {
            "integer": lambda _, value: isinstance(value, int) and not isinstance(value, bool),
            "number": lambda _, value: isinstance(value, int | float) and not isinstance(value, bool),
        }
    )


@functools.cache
def _validator() -> jsonschema.protocols.Validator:
    cls = jsonschema.validators.extend(jsonschema.Draft202012Validator, type_checker=_strict_types())
    return cls(schema())


def _key(path: Iterable[Any]) -> str:
    return ".".join(str(part) for part in path) or "(top level)"


def _allowed_keys(node: Mapping[str, Any]) -> list[str]:
    return list(_resolve(node).get("properties", {}))


def _describe(error: jsonschema.ValidationError) -> str:
    """One line: the key path, the value and what is allowed, never the schema."""
    where, value = _key(error.absolute_path), error.instance
    kind = error.validator
    if kind in ("additionalProperties", "unevaluatedProperties"):
        extra = [key for key in value if key not in _allowed_keys(error.schema)]
        renamed = [
            f"{key!r} is now called {RENAMED_KEYS[f'{where}.{key}']!r}"
            for key in extra
            if f"{where}.{key}" in RENAMED_KEYS
        ]
        hint = f" ({'; '.join(renamed)})" if renamed else ""
        return f"{where}: unknown key(s) {extra}; allowed: {_allowed_keys(error.schema)}{hint}"
    if kind == "required":
        return f"{where}: {error.message}"
    if kind == "enum":
        return f"{where}: {value!r} is not one of {error.validator_value}"
    if kind == "type":
        expected = error.validator_value
        hint = f" (write {int(value)})" if isinstance(value, float) and value.is_integer() else ""
        return f"{where}: {value!r} is not of type {expected!r}{hint}"
    if kind == "propertyNames" or error.schema_path and "propertyNames" in error.schema_path:
        return f"{where}: the name {value!r} is not allowed ({_name_rule(error)})"
    if kind in ("minItems", "maxItems", "minProperties"):
        bound = "at least" if kind.startswith("min") else "at most"
        return f"{where}: {value!r} has too few or too many entries ({bound} {error.validator_value})"
    if kind == "uniqueItems":
        repeated = sorted({repr(v) for i, v in enumerate(value) if v in value[:i]})
        return (
            f"{where}: {value!r} repeats {', '.join(repeated)}; list each once "
            "(a repeat would be counted as a second, identical replicate or test)"
        )
    if kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        bound = {"minimum": "≥", "maximum": "≤", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}[kind]
        return f"{where}: {value!r} is out of range (allowed: {bound} {error.validator_value})"
    return f"{where}: {value!r}: {error.message}"


def _name_rule(error: jsonschema.ValidationError) -> str:
    if "enum" in error.schema:
        return f"allowed: {error.schema['enum']}"
    if "anyOf" in error.schema:
        return "allowed: " + " or ".join(
            str(sub["enum"]) if "enum" in sub else f"a name matching {_resolve(sub)['pattern']}"
            for sub in error.schema["anyOf"]
        )
    pattern = _resolve(error.schema).get("pattern")
    return f"a name must match {pattern} in full, without a line break" if pattern else error.message


def _errors(config: Mapping[str, Any]) -> list[str]:
    found = sorted(_validator().iter_errors(config), key=lambda e: [str(p) for p in e.absolute_path])
    return [_describe(error) for error in found]


def _check_ranges(config: Mapping[str, Any]) -> list[str]:
    """Bounds between keys that a JSON schema cannot express."""
    problems = []
    pairs = [(("maps",), "min_steps", "max_steps")]
    if "frequency_bias" in config:
        pairs += [
            (("frequency_bias", "image_maps"), "min_steps", "max_steps"),
            (("frequency_bias", "class_maps"), "min_iterations", "max_iterations"),
        ]
    for keys, low, high in pairs:
        lo, hi = setting(config, *keys, low), setting(config, *keys, high)
        if hi < lo:
            where = ".".join(keys)
            problems.append(f"{where}.{high}: {hi} is below {where}.{low} ({lo}); every image would stop at {high}")
    problems += _name_clashes(config)
    study = config.get("frequency_bias")
    if study:
        for key, section in (("dataset", "datasets"), ("attack", "attacks")):
            if study[key] not in config[section]:
                problems.append(f"frequency_bias.{key}: {study[key]!r} is not under {section}: {list(config[section])}")
    return problems


# The workflow names some of an attack's files ``<attack>_<suffix>`` beside ``<attack>.<ext>`` (workflow/rules/
# common.smk; tests/unit/test_config.py reads them there): an attack called ``<other attack>_<suffix>`` would
# give two rules the same output file.
ATTACK_FILE_SUFFIXES = ("_per_image", "_null_draws", "_mean_maps", "_gather")


def _name_clashes(config: Mapping[str, Any]) -> list[str]:
    """Attack names whose output files would be another attack's (Snakemake reports that as an ambiguous rule
    naming no config key)."""
    names = list(config.get("attacks", {}))
    return [
        f"attacks.{name}: is attack {other!r} plus {suffix!r}, a suffix the workflow gives {other!r}'s own files "
        f"(e.g. stats/{other}{suffix}.csv), so two rules would write the same file; rename one of them"
        for name in names
        for other in names
        for suffix in ATTACK_FILE_SUFFIXES
        if name == other + suffix
    ]


def validate_config(config: Mapping[str, Any], source: str = "config") -> None:
    """Check the config against the schema and the bounds between keys; raise one :class:`ConfigError`
    listing every problem as ``key.path: value ... allowed ...``."""
    problems = _errors(config)
    if not problems:
        problems = _check_ranges(config)
    if problems:
        more = len(problems) - MAX_ERRORS
        shown = problems[:MAX_ERRORS] + ([f"... and {more} more"] if more > 0 else [])
        raise ConfigError(f"{source} is not valid:\n  " + "\n  ".join(shown))


def lam_values(config: Mapping[str, Any]) -> list[float]:
    """The sparsity weights the maps are learned with: ``maps.lam`` as a list (a number is a list of one). The
    first keeps the single-λ layout of every path; each other value has its own (docs/METHOD.md §2.1)."""
    lam = setting(config, "maps", "lam")
    return [float(v) for v in lam] if isinstance(lam, list) else [float(lam)]


def lam_label(value: float) -> str:
    """A λ as it appears in paths and wildcards (``lam0.1``): the shortest form that reads back to the value."""
    return repr(float(value))


def contrast_name(entry: Mapping[str, Any]) -> str:
    """A contrast's name: its ``name``, else <model>_<attack>_vs_<model>_<attack> of its cells a and b."""
    a, b = entry["a"], entry["b"]
    return entry.get("name") or f"{a['model']}_{a['attack']}_vs_{b['model']}_{b['attack']}"


def contrasts(config: Mapping[str, Any], models: Iterable[str]) -> list[dict[str, Any]]:
    """The config's contrasts (docs/METHOD.md §4.11) with name, statistics and views filled in (default: every
    configured statistic and view). ``models`` are the names a cell may use (the config's models and the
    frequency-bias study's). A cell that is not in the experiment, two contrasts of one name, a contrast of a
    cell with itself, or a statistic or view the stats section does not compute is a :class:`ConfigError`
    naming the key."""
    models = list(models)
    attacks = list(config.get("attacks", {}))
    computed = {key: setting(config, "stats", key) for key in ("statistics", "views")}
    problems, out, seen = [], [], {}
    for i, entry in enumerate(setting(config, "contrasts")):
        name = contrast_name(entry)
        for side in ("a", "b"):
            cell = entry[side]
            if cell["model"] not in models:
                problems.append(
                    f"contrasts.{i}.{side}.model: {cell['model']!r} is not a model of the experiment {models}"
                )
            if cell["attack"] not in attacks:
                problems.append(f"contrasts.{i}.{side}.attack: {cell['attack']!r} is not under attacks: {attacks}")
        if entry["a"] == entry["b"]:
            problems.append(f"contrasts.{i}: a and b are the same cell {entry['a']}; a contrast needs two cells")
        if name in seen:
            problems.append(f"contrasts.{i}.name: {name!r} is already the name of contrasts.{seen[name]}")
        seen.setdefault(name, i)
        for key, configured in computed.items():
            extra = [value for value in entry.get(key, []) if value not in configured]
            if extra:
                problems.append(f"contrasts.{i}.{key}: {extra} not computed by stats.{key} {configured}")
        chosen = {
            key: [v for v in configured if v in entry.get(key, configured)] for key, configured in computed.items()
        }
        out.append({"name": name, "a": dict(entry["a"]), "b": dict(entry["b"]), **chosen})
    if problems:
        raise ConfigError("contrasts are not valid:\n  " + "\n  ".join(problems))
    return out


def check_pool_fits(config: Mapping[str, Any], dataset_infos: Mapping[str, Any]) -> None:
    """``stats.pool`` is a max-pool kernel over the maps: it must not exceed the shorter side of any map
    (the image side; the half spectrum's width for the hermitian parameterisation)."""
    from freqmaps.fourier import mask_shape

    pool = setting(config, "stats", "pool")
    parameterisation = setting(config, "maps", "parameterisation")
    for name, info in dataset_infos.items():
        side = min(mask_shape(parameterisation, info.channels, info.size, info.size)[1:])
        if pool > side:
            raise ConfigError(
                f"stats.pool: {pool} is larger than the {name} maps ({parameterisation} maps of {info.size} px images "
                f"are {side} wide); at most {side}"
            )


# ------------------------------------------------------------------ the documentation's configuration reference
def _type_text(node: Mapping[str, Any]) -> str:
    node = _resolve(node)
    if "enum" in node:
        return " \\| ".join(f"`{value}`" for value in node["enum"])
    kind = node.get("type", "")
    kinds = kind if isinstance(kind, list) else [kind]
    text = " or ".join(k for k in kinds if k) or "object"
    if "items" in node:
        items = _resolve(node["items"])
        text += " of " + (" \\| ".join(f"`{v}`" for v in items["enum"]) if "enum" in items else items.get("type", ""))
    bounds = [
        f"{sign} {node[key]}"
        for key, sign in (("minimum", "≥"), ("exclusiveMinimum", ">"), ("maximum", "≤"), ("exclusiveMaximum", "<"))
        if key in node and node[key] != 18446744073709551615
    ]
    return text + (f" ({', '.join(bounds)})" if bounds else "")


def _yaml_value(value: Any) -> str:
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()


def _rows(node: Mapping[str, Any], prefix: str, seen: dict[str, str]) -> Iterable[tuple[str, str, str, str]]:
    """Rows of every key under ``node``; a shared part ($defs) is listed in full once, later only by name."""
    for key, raw in _resolve(node).get("properties", {}).items():
        prop, path = _resolve(raw), f"{prefix}{key}"
        default = f"`{_yaml_value(prop['default'])}`" if "default" in prop else ""
        description = prop.get("description", "").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
        ref = raw.get("$ref", "")
        shared = ref if ref.startswith("#/$defs/") and _resolve({"$ref": ref}).get("properties") else ""
        if shared in seen:
            target = _resolve({"$ref": ref})["properties"]
            changed = {k: v["default"] for k, v in raw.get("properties", {}).items() if "default" in v and k in target}
            own = {k: v for k, v in raw.get("properties", {}).items() if k not in target}
            note = f"the keys of `{seen[shared]}`" + (
                f", with defaults {', '.join(f'`{k}: {_yaml_value(v)}`' for k, v in changed.items())}"
                if changed
                else ""
            )
            yield path, _type_text(prop), default, f"{description}; {note}".lstrip("; ")
            yield from _rows({"properties": own}, f"{path}.", seen)
            continue
        if shared:
            seen[shared] = path
        yield path, _type_text(prop), default, description
        if isinstance(prop.get("additionalProperties"), dict) and prop.get("type") == "object":
            yield from _rows({"properties": {"<name>": prop["additionalProperties"]}}, f"{path}.", seen)
        elif prop.get("properties"):
            yield from _rows(raw if shared else prop, f"{path}.", seen)


def configuration_reference() -> str:
    """The configuration reference (the documentation's configuration page): every key of the schema with its type,
    default and description, as one Markdown table."""
    lines = ["| key | type | default | meaning |", "|---|---|---|---|"]
    lines += [f"| `{path}` | {kind} | {default} | {text} |" for path, kind, default, text in _rows(schema(), "", {})]
    return "\n".join(lines)


EXPERIMENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def experiment_name(config: dict, configfiles: list) -> str:
    """The experiment a config runs, which names ``results/<experiment>``: its ``experiment`` key, else the stem
    of the last config file given, else ``default`` (config.yaml is the default experiment)."""
    name = config.get("experiment") or (Path(configfiles[-1]).stem if configfiles else "default")
    name = "default" if name == "config" else str(name)
    if not EXPERIMENT_NAME.fullmatch(name):
        raise ConfigError(
            f"experiment: {name!r} must be letters, digits, '_', '.' or '-' (it names results/<experiment>)"
        )
    return name


def main(argv: list[str]) -> int:
    """``python -m freqmaps.config FILE...`` checks config files as the workflow does before any job
    (:func:`freqmaps.validation.check_experiment`: the schema, the bounds between keys, the files, the models and
    the attacks); ``--experiment [FILE]`` prints the experiment FILE (default config.yaml) runs, as the workflow
    names it."""
    if argv[:1] == ["--experiment"]:
        files = argv[1:]
        print(experiment_name(read_config(files[-1] if files else "config.yaml"), files))
        return 0
    # The check lives above this foundation (it runs datasets, models and attacks): named here, not imported, so
    # that the config module stays below everything it checks.
    return importlib.import_module("freqmaps.validation").main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
