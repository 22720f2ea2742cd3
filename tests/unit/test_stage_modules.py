"""The lazy packages' names stay what they name whatever was imported before (a re-exported function named like
its module turned into the module once the module was imported: test order decided the result)."""

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

# Packages whose __init__ re-exports names lazily (PEP 562), and their modules that stages import directly.
LAZY = {
    "freqmaps.stages": ["train", "attack", "learn_maps", "shards", "correlate", "summary", "run_facts"],
    "freqmaps.data": None,  # None: every module of the package
    "freqmaps.models": None,
}
LAZY_NAMES = [(package, name) for package in LAZY for name in importlib.import_module(package).__all__]


@pytest.mark.parametrize(("package", "name"), LAZY_NAMES, ids=[f"{p}.{n}" for p, n in LAZY_NAMES])
def test_every_lazy_name_is_the_same_object_before_and_after_its_module_is_imported(package, name):
    module = importlib.import_module(package)
    first = getattr(module, name)
    submodules = LAZY[package] or [info.name for info in pkgutil.iter_modules(module.__path__)]
    for submodule in submodules:
        importlib.import_module(f"{package}.{submodule}")
    assert getattr(module, name) is first
    assert not inspect.ismodule(first)


def test_the_lazy_names_are_read():
    """A check of the check: both new packages' lazy names are found, the readers' among them."""
    names = set(LAZY_NAMES)
    assert {("freqmaps.data", "load_dataset"), ("freqmaps.data", "read_idx"), ("freqmaps.models", "freeze")} <= names


SCRIPTS = sorted((Path(__file__).resolve().parents[2] / "scripts").glob("*.py"))


def _library_calls(script: Path):
    """Each top-level call of a library function in a Snakemake script: (the function, its call node)."""
    tree = ast.parse(script.read_text())
    names = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("freqmaps"):
            module = importlib.import_module(node.module)
            for alias in node.names:  # a name of the module, or a submodule of the package
                found = getattr(module, alias.name, None)
                names[alias.asname or alias.name] = found or importlib.import_module(f"{node.module}.{alias.name}")
    for node in tree.body:
        call = node.value if isinstance(node, ast.Expr | ast.Assign) else None
        if not isinstance(call, ast.Call):
            continue
        func = call.func
        if isinstance(func, ast.Name) and func.id in names:
            yield names[func.id], call
        elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in names:
            yield getattr(names[func.value.id], func.attr), call


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.name for s in SCRIPTS])
def test_every_script_calls_the_library_with_arguments_its_functions_take(script):
    """A script passes the library keyword arguments by name; one the function no longer takes fails only when
    the job runs (a removed start_job(passive_threads=...) failed the tiny run's contrast job with an empty
    log). Every call binds to its function's signature."""
    calls = list(_library_calls(script))
    assert calls, f"{script.name} calls no library function"
    for function, call in calls:
        arguments = [None] * len(call.args)
        keywords = {keyword.arg: None for keyword in call.keywords if keyword.arg}
        try:
            inspect.signature(function).bind(*arguments, **keywords)
        except TypeError as error:
            pytest.fail(f"{script.name}: {function.__qualname__}({', '.join(keywords)}): {error}")
