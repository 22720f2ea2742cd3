"""The library's import structure (docs/ARCHITECTURE.md): no import cycles, and nothing imports upward, so a
stage's code inputs are what it runs and a module can be understood with only the layers below it."""

from __future__ import annotations

import ast

import pytest

from freqmaps._dependencies import PACKAGE_DIR, imported_modules, library_files
from tests.conftest import REPO

# Layers from the bottom; a module may import its own layer and those below. A prefix names a package's modules.
LAYERS = {
    "foundations": [
        "freqmaps",
        "freqmaps._dependencies",
        "freqmaps._lazy",
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

    assert SCHEMA_PATH.is_file() and SCHEMA_PATH.name == "config.schema.yaml"
    shipped = (PACKAGE_DIR / "schemas/config.schema.yaml").resolve()
    assert shipped == (REPO / "workflow/schemas/config.schema.yaml").resolve()
    assert "schemas/*.yaml" in (REPO / "pyproject.toml").read_text()
    assert schema()["properties"]["attacks"]


def _static_names(tree: ast.Module) -> set[str]:
    """The names a module binds at its top level: definitions, assignments and imports."""
    names = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {n.id for target in targets for n in ast.walk(target) if isinstance(n, ast.Name)}
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    return names


def _lazy_packages() -> dict[str, set[str]]:
    """Packages whose __init__ defines a module-level __getattr__, with the names the __init__ binds itself: any
    other name imported from them is resolved at run time, by code the import walk (freqmaps._dependencies) cannot
    see."""
    found = {}
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text())
        if path.name == "__init__.py" and "__getattr__" in _static_names(tree):
            found[name] = _static_names(tree)
    return found


LAZY_PACKAGES = _lazy_packages()


def _own(package: str, name: str) -> bool:
    """Whether a name of a lazy package is its submodule or bound by its own __init__ (both seen by the walk)."""
    return f"{package}.{name}" in MODULES or name in LAZY_PACKAGES[package]


def _names_through_lazy_packages(path) -> list[str]:
    """Each name a file takes from a lazy package that its __init__ does not bind (`from P import name`, or `P.name`
    where P was bound by `from freqmaps import P` / `import P as x`), instead of from the module defining it."""
    tree = ast.parse(path.read_text())
    bound: dict[str, str] = {}  # local name -> lazy package
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                target = f"{node.module}.{alias.name}"
                if target in LAZY_PACKAGES:
                    bound[alias.asname or alias.name] = target
                elif node.module in LAZY_PACKAGES and not _own(node.module, alias.name):
                    found.append(f"from {node.module} import {alias.name}")
        elif isinstance(node, ast.Import):
            bound.update(
                {alias.asname: alias.name for alias in node.names if alias.name in LAZY_PACKAGES and alias.asname}
            )
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in bound:
            if not _own(bound[node.value.id], node.attr):
                found.append(f"{node.value.id}.{node.attr} ({bound[node.value.id]})")
    return found


SOURCES = sorted(MODULES.values()) + sorted((REPO / "scripts").glob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=[str(p.relative_to(REPO)) for p in SOURCES])
def test_code_takes_each_name_from_its_own_module(path):
    """A rule's code inputs are the modules its script imports, read by the import walk; a name taken from a lazy
    package (`from freqmaps.data import load_dataset`) runs a module the walk never sees (data/registry.py and the
    readers), so editing that module would rerun nothing. The library and the scripts import the module that
    defines a name (`from freqmaps.data.registry import load_dataset`)."""
    assert not _names_through_lazy_packages(path)


def test_the_lazy_packages_are_found_and_their_names_would_be_seen(tmp_path):
    """A check of the check: the lazy packages are found, and both forms of import through them are caught."""
    assert {"freqmaps.attacks", "freqmaps.data", "freqmaps.models", "freqmaps.stages"} <= set(LAZY_PACKAGES)
    bad = tmp_path / "bad.py"
    bad.write_text("from freqmaps.data import load_dataset\nfrom freqmaps import models\nmodels.freeze(None)\n")
    assert _names_through_lazy_packages(bad) == [
        "from freqmaps.data import load_dataset",
        "models.freeze (freqmaps.models)",
    ]
    good = tmp_path / "good.py"
    good.write_text("from freqmaps.data import registry\nfrom freqmaps.data.registry import load_dataset\n")
    assert _names_through_lazy_packages(good) == []


def test_methods_on_images_run_no_dataset_reader():
    """One room per concern: what only takes an ImageSet (attacks, shared masks, training) imports the data types,
    not the dataset registry and its readers; the attacks need no model source either, and freezing a classifier
    no source."""
    for module in ("freqmaps.attacks", "freqmaps.shared_masks", "freqmaps.training"):
        files = library_files(module)
        assert "data/core.py" in files, module
        assert not {"data/registry.py", "data/idx.py", "data/folders.py", "data/tensors.py"} & set(files), module
    assert not any(f.startswith("models/") for f in library_files("freqmaps.attacks"))
    assert not {"models/registry.py", "models/zoos.py"} & set(library_files("freqmaps.models.wrappers"))
