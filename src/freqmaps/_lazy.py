"""Lazy re-exports (PEP 562) for the packages whose ``__init__`` imports none of their modules (``stages``,
``data``, ``models``): a public name is imported from the module that defines it on first use, so importing one
module of such a package never runs the others, and a rule's code inputs stay the modules its script runs."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any


def lazy_exports(package: str, modules: Mapping[str, Sequence[str]]) -> tuple[Callable[[str], Any], list[str]]:
    """The module-level ``__getattr__`` and ``__all__`` of ``package`` for the public ``names`` each of
    ``modules`` (module -> names) defines: ``__getattr__, __all__ = lazy_exports(__name__, {...})``."""
    homes = {name: module for module, names in modules.items() for name in names}  # public name -> its module

    def __getattr__(name: str) -> Any:
        if name in homes:
            return getattr(importlib.import_module(homes[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__, sorted(homes)
