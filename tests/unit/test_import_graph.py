"""The library's import structure (docs/ARCHITECTURE.md): no import cycles, and nothing imports upward, so a
stage's code inputs are what it runs and a module can be understood with only the layers below it."""

from __future__ import annotations

import pytest

from freqmaps._dependencies import PACKAGE_DIR, imported_modules

# Layers from the bottom; a module may import its own layer and those below. A prefix names a package's modules.
LAYERS = {
    "foundations": [
        "freqmaps",
        "freqmaps._dependencies",
        "freqmaps.config",
        "freqmaps.fourier",
        "freqmaps.io",
        "freqmaps.jobs",
        "freqmaps.outcomes",
        "freqmaps.plotting",
        "freqmaps.runtime",
    ],
    "data and models": [
        "freqmaps.classifier",
        "freqmaps.data",
        "freqmaps.models",
        "freqmaps.synthetic",
        "freqmaps.training",
        "freqmaps.weights",
    ],
    "methods": [
        "freqmaps.alignment",
        "freqmaps.attacks",
        "freqmaps.baselines",
        "freqmaps.contrasts",
        "freqmaps.figures",
        "freqmaps.frequency_bias",
        "freqmaps.maps",
        "freqmaps.shared_masks",
        "freqmaps.stats",
        "freqmaps.verdict",
    ],
    "stages": [
        "freqmaps.docs_numbers",
        "freqmaps.frequency_bias.stages",
        "freqmaps.frequency_bias.study",
        "freqmaps.known_answer",
        "freqmaps.stages",
        "freqmaps.suggest",
        "freqmaps.validation",
    ],
}


def module_name(path) -> str:
    parts = path.relative_to(PACKAGE_DIR).with_suffix("").parts
    return ".".join(("freqmaps", *parts[: -1 if parts[-1] == "__init__" else None]))


MODULES = {module_name(path): path for path in sorted(PACKAGE_DIR.rglob("*.py"))}
IMPORTS = {name: imported_modules(path, name) & set(MODULES) for name, path in MODULES.items()}


def layer(module: str) -> int:
    """The layer of the longest prefix that names the module (the root package names only itself)."""
    best = max(
        (
            (len(prefix), rank)
            for rank, prefixes in enumerate(LAYERS.values())
            for prefix in prefixes
            if module == prefix or (prefix != "freqmaps" and module.startswith(prefix + "."))
        ),
        default=None,
    )
    if best is None:
        pytest.fail(f"{module} has no layer: add it to LAYERS here and to docs/ARCHITECTURE.md")
    return best[1]


def test_no_module_imports_a_higher_layer():
    upward = [
        f"{module} ({list(LAYERS)[layer(module)]}) imports {target} ({list(LAYERS)[layer(target)]})"
        for module, targets in IMPORTS.items()
        for target in sorted(targets)
        if layer(target) > layer(module)
    ]
    assert not upward, upward


def test_no_import_cycles():
    """Depth-first search over every import, at the top of a module or inside a function."""
    state: dict[str, str] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for target in sorted(IMPORTS[module]):
            if state.get(target) == "open":
                cycle = path[path.index(target) :] + [target] if target in path else [module, target]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target, [*path, target])
        state[module] = "done"

    for module in IMPORTS:
        if module not in state:
            visit(module, [module])


def test_the_graph_is_read():
    """A check of the checks: the graph holds the imports it should."""
    assert "freqmaps.attacks.success" in IMPORTS["freqmaps.attacks.deepfool"]
    assert "freqmaps.stats" in IMPORTS["freqmaps.stages.correlate"]


def test_the_schema_is_package_data_that_the_workflow_links_to():
    """A non-editable install validates configs: the schema ships inside the package (importlib.resources), the
    same file as workflow/schemas/ holds."""
    from freqmaps.config import SCHEMA_PATH, schema
    from tests.conftest import REPO

    assert SCHEMA_PATH.is_file() and SCHEMA_PATH.name == "config.schema.yaml"
    shipped = (PACKAGE_DIR / "schemas/config.schema.yaml").resolve()
    assert shipped == (REPO / "workflow/schemas/config.schema.yaml").resolve()
    assert "schemas/*.yaml" in (REPO / "pyproject.toml").read_text()
    assert schema()["properties"]["attacks"]
