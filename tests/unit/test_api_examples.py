"""The Python API page's examples run as written, and compare's docstring example holds (issue 30: a new user
starts from them in a notebook)."""

from __future__ import annotations

import contextlib
import doctest
import io
import re
import sys

import freqmaps.stats
from tests.conftest import REPO

API_PAGE = REPO / "docs" / "api" / "index.md"


def test_the_api_pages_examples_run_as_written():
    examples = API_PAGE.read_text().split("## Examples", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", examples, flags=re.S)
    runnable = [block for block in blocks if "results/" not in block]  # the last one reads a finished run's file
    assert len(blocks) == 3 and len(runnable) == 2
    namespace: dict = {}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        for block in runnable:
            exec(compile(block, str(API_PAGE), "exec"), namespace)
    assert "torch.Size([24, 1, 16, 16])" in printed.getvalue()
    assert namespace["essential"].layout == "shifted"
    statistics = [row["statistic"] for row in namespace["comparison"].rows]
    assert statistics == ["cosine", "information_imbalance", "information_imbalance"]


def test_compares_docstring_example_holds():
    module = sys.modules["freqmaps.stats.compare"]
    assert freqmaps.stats.compare is module.compare
    finder = doctest.DocTestFinder()
    (test,) = finder.find(module.compare, "compare", globs={})
    result = doctest.DocTestRunner().run(test, out=lambda text: None)
    assert result.attempted == 6 and result.failed == 0
    for word in ("[N, D]", "[N, D']", "labels: int64 ``[N]``", "Returns:"):
        assert word in module.compare.__doc__
