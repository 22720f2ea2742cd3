"""The package files a piece of code runs: its ``freqmaps`` imports, followed transitively.

A workflow rule's library inputs follow from what its script imports (editing a module reruns exactly the
jobs that run it), instead of a hand-kept list. Imports are read with ``ast`` anywhere in a file, so an
import inside a function counts as well as one at the top; nothing is executed.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

PACKAGE = "freqmaps"
PACKAGE_DIR = Path(__file__).resolve().parent


def _module_file(module: str, package_dir: Path) -> Path | None:
    """The file of a dotted module of the package (``freqmaps.a.b``): a/b.py or a/b/__init__.py, if either exists."""
    parts = module.split(".")[1:]
    candidate = package_dir.joinpath(*parts)
    for path in (candidate.with_suffix(".py") if parts else None, candidate / "__init__.py"):
        if path is not None and path.is_file():
            return path
    return None


def _is_package(module: str, package_dir: Path) -> bool:
    file = _module_file(module, package_dir)
    return file is not None and file.name == "__init__.py"


def imported_modules(source: Path, module: str | None = None, package_dir: Path = PACKAGE_DIR) -> set[str]:
    """Dotted names of the package's modules that the Python file ``source`` imports (``module`` is the
    file's own dotted name when it is part of the package, which relative imports need).

    Each file is parsed once per content: the answer is kept under the file's path, size and modification
    time (a workflow's parse asks for the same modules once per rule, and an edited file is read again)."""
    source = Path(source)
    stat = source.stat()
    return set(_imported_modules(source, module, Path(package_dir), stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=4096)
def _imported_modules(source: Path, module: str | None, package_dir: Path, mtime_ns: int, size: int) -> frozenset[str]:
    """:func:`imported_modules` of one version of the file (``mtime_ns`` and ``size`` key the cache)."""
    tree = ast.parse(source.read_text(), filename=str(source))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.split(".")[0] == PACKAGE)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                if module is None:
                    raise ValueError(f"{source}: a relative import outside the {PACKAGE} package")
                anchor = module if _is_package(module, package_dir) else module.rpartition(".")[0]
                for _ in range(node.level - 1):
                    anchor = anchor.rpartition(".")[0]
                base = f"{anchor}.{node.module}" if node.module else anchor
            elif node.module and node.module.split(".")[0] == PACKAGE:
                base = node.module
            else:
                continue
            found.add(base)
            for alias in node.names:  # `from freqmaps import maps`: maps is a module, not only a name
                if _module_file(f"{base}.{alias.name}", package_dir) is not None:
                    found.add(f"{base}.{alias.name}")
    return frozenset(found)


def library_files(*entries: str | Path, package_dir: Path = PACKAGE_DIR) -> list[str]:
    """Every package file that running the entries runs, as paths relative to the package (sorted, posix).

    An entry is a dotted module name (``frequency_bias.stages`` or ``freqmaps.frequency_bias.stages``) or a
    Python file outside the package, such as a Snakemake script. The result holds the entry modules, every
    package module they import, transitively, and the ``__init__.py`` of every package on the way.
    """
    pending: list[tuple[str, str]] = []  # (module, who asked for it)
    for entry in entries:
        path = Path(entry)
        if path.suffix == ".py":
            if not path.is_file():
                raise ValueError(f"library_files: no such file {entry}")
            pending += [(name, str(entry)) for name in imported_modules(path, None, package_dir)]
        else:
            name = str(entry)
            pending.append((name if name.split(".")[0] == PACKAGE else f"{PACKAGE}.{name}", "library_files"))
    seen: dict[str, Path] = {}
    while pending:
        module, importer = pending.pop()
        parts = module.split(".")
        for depth in range(1, len(parts) + 1):  # every package on the way runs its __init__.py
            name = ".".join(parts[:depth])
            if name in seen:
                continue
            file = _module_file(name, package_dir)
            if file is None:
                raise ValueError(f"{importer}: imports {name}, which is not a module of {package_dir}")
            seen[name] = file
            pending += [(child, str(file)) for child in imported_modules(file, name, package_dir)]
    return sorted(file.relative_to(package_dir).as_posix() for file in seen.values())
