"""The stage package's lazy names stay functions whatever was imported before (a re-exported function named
like its module turned into the module once the module was imported: test order decided the result)."""

import importlib
import inspect

import pytest

from freqmaps import stages


@pytest.mark.parametrize("name", stages.__all__)
def test_every_lazy_name_is_the_same_object_before_and_after_its_module_is_imported(name):
    first = getattr(stages, name)
    for module in ("train", "attack", "learn_maps", "shards", "correlate", "summary", "run_facts"):
        importlib.import_module(f"freqmaps.stages.{module}")
    assert getattr(stages, name) is first
    assert not inspect.ismodule(first)
