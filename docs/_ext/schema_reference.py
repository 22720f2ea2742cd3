"""The configuration reference, generated from ``workflow/schemas/config.schema.yaml`` at every build.

``freqmaps.config.configuration_reference`` renders every key of the schema (type, default, description) as one
table; this extension writes it to ``guide/_generated/configuration_table.md`` (git-ignored), which
``guide/configuration.md`` includes. The build then fails if a key declared in the schema is missing from the
table, so the reference cannot fall behind the schema, and nothing in it is written by hand.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError

GENERATED = Path("guide") / "_generated" / "configuration_table.md"


def schema_keys(node: Mapping[str, Any], schema: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    """Every key path the schema declares (``<name>`` for a user-named entry); the keys of a shared part
    (``$defs``) are listed at their first use only, as the table lists them."""
    yield from _keys(node, schema, prefix, set())


def _target(ref: str, schema: Mapping[str, Any]) -> Mapping[str, Any]:
    target: Any = schema
    for part in ref.removeprefix("#/").split("/"):
        target = target[part]
    return target


def _keys(node: Mapping[str, Any], schema: Mapping[str, Any], prefix: str, seen: set[str]) -> Iterator[str]:
    if "$ref" in node:
        ref = node["$ref"]
        target = _target(ref, schema)
        own = {k: v for k, v in node.get("properties", {}).items() if k not in target.get("properties", {})}
        if ref in seen and target.get("properties"):
            yield from _keys({"properties": own}, schema, prefix, seen)  # only what this use adds
            return
        if target.get("properties"):
            seen.add(ref)
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        node["properties"] = {**target.get("properties", {}), **own}
    for key, prop in node.get("properties", {}).items():
        path = f"{prefix}{key}"
        yield path
        yield from _keys(prop, schema, f"{path}.", seen)
    extra = node.get("additionalProperties")
    if isinstance(extra, Mapping) and node.get("type") == "object":
        yield f"{prefix}<name>"
        yield from _keys(extra, schema, f"{prefix}<name>.", seen)


def write_reference(app: Sphinx) -> None:
    from freqmaps import config

    table = config.configuration_reference()
    missing = [key for key in schema_keys(config.schema(), config.schema()) if f"| `{key}` |" not in table]
    if missing:
        raise ExtensionError(f"configuration reference: schema keys missing from the generated table: {missing}")
    path = Path(app.srcdir) / GENERATED
    path.parent.mkdir(parents=True, exist_ok=True)
    text = (
        f"<!-- generated from {config.SCHEMA_PATH.name} by docs/_ext/schema_reference.py: do not edit -->\n\n{table}\n"
    )
    if not path.exists() or path.read_text() != text:  # unchanged: no rebuild of the page
        path.write_text(text)


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("builder-inited", write_reference)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
