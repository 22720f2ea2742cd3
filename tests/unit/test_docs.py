"""The documentation's own checks can fail: the schema walk behind the configuration reference, the offline
internal-link check of the built site, and the README's size and links. (`make docs`, run by `make test`,
builds the site itself with these checks and the executed tutorial.)"""

from __future__ import annotations

import sys

import pytest

from tests.conftest import REPO

sys.path.insert(0, str(REPO / "docs" / "_ext"))
internal_links = pytest.importorskip("internal_links", reason="the docs extra (Sphinx) is not installed")
schema_reference = pytest.importorskip("schema_reference", reason="the docs extra (Sphinx) is not installed")


def test_schema_keys_follow_refs_and_named_entries_and_list_a_shared_part_once():
    schema = {
        "$defs": {"recipe": {"type": "object", "properties": {"epochs": {}, "lr": {}}}},
        "properties": {
            "models": {
                "type": "object",
                "additionalProperties": {"type": "object", "properties": {"train": {"$ref": "#/$defs/recipe"}}},
            },
            "study": {"properties": {"train": {"$ref": "#/$defs/recipe", "properties": {"extra": {}}}}},
        },
    }
    assert list(schema_reference.schema_keys(schema, schema)) == [
        "models",
        "models.<name>",
        "models.<name>.train",
        "models.<name>.train.epochs",
        "models.<name>.train.lr",
        "study",
        "study.train",
        "study.train.extra",  # what the second use adds; epochs and lr are listed at the first
    ]


def test_every_schema_key_is_in_the_generated_reference():
    from freqmaps import config

    table = config.configuration_reference()
    keys = list(schema_reference.schema_keys(config.schema(), config.schema()))
    assert len(keys) > 100
    assert [key for key in keys if f"| `{key}` |" not in table] == []


def test_internal_link_check_finds_a_missing_page_and_a_missing_anchor(tmp_path):
    (tmp_path / "guide").mkdir()
    (tmp_path / "index.html").write_text(
        '<h1 id="top">x</h1><a href="guide/a.html#usage">ok</a><a href="#top">ok</a>'
        '<a href="guide/gone.html">gone</a><a href="guide/a.html#nowhere">no anchor</a>'
        '<a href="https://example.org/x.html">external, not checked</a>'
    )
    (tmp_path / "guide" / "a.html").write_text('<section id="usage"><a href="../index.html">up</a></section>')
    assert internal_links.broken_links(tmp_path) == [
        "index.html: guide/gone.html (no such file)",
        "index.html: guide/a.html#nowhere (no anchor #nowhere)",
    ]


def test_readme_is_a_short_start_page_whose_links_resolve():
    readme = REPO / "README.md"
    assert len(readme.read_text().splitlines()) < 150
    assert internal_links.broken_readme_links(readme) == []
    assert "make run" in readme.read_text() and "make test" in readme.read_text()
