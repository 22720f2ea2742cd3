"""Incremental re-runs follow the code: on a finished tiny run, editing one library module plans exactly the jobs
whose stage runs that module (and what depends on their outputs), nothing more and nothing less.

Which stage runs which module is derived here independently of freqmaps._dependencies (which the workflow uses):
Python itself imports each rule's script's imports in a fresh interpreter and reports the freqmaps modules it
loaded, plus the modules the library imports only inside a function (LOADED_WHEN_CALLED, kept by hand here).
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, PlannedJob, plan_jobs

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PACKAGE = Path("src") / "freqmaps"  # in a checkout
PACKAGE_DIR = REPO / PACKAGE

# Modules the library imports inside a function (so importing the importer does not load them), as Python
# names; a stage that runs the importer may run them, so its rules depend on them too.
LOADED_WHEN_CALLED = {
    "freqmaps.attacks": ["freqmaps.attacks.deepfool"],
    "freqmaps.attacks.torchattacks_backend": ["freqmaps.attacks.deepfool"],
    "freqmaps.config": ["freqmaps.fourier"],
    "freqmaps.data.generated": ["freqmaps.synthetic"],
    "freqmaps.figures": ["freqmaps.verdict"],
    "freqmaps.known_answer": ["freqmaps.figures"],
    "freqmaps.frequency_bias.study": ["freqmaps.frequency_bias.figures"],
    "freqmaps.stats.views": ["freqmaps.fourier"],
}

# One interpreter loads the third-party libraries once, then forks a child per script: each child starts with no
# freqmaps module loaded, runs the script's imports, completes the imports made inside functions, and prints the
# package files it loaded. (Which freqmaps modules load does not depend on what third-party code is loaded first.)
PROBE = """
import importlib, os, sys
import numpy, scipy, torch, torchvision, torchattacks, matplotlib, sklearn, yaml, safetensors
called = {called!r}
for script, imports in {scripts!r}:
    read, write = os.pipe()
    if os.fork() == 0:
        os.close(read)
        exec(imports)
        while True:
            loaded = [n for n in sys.modules if n.split(".")[0] == "freqmaps"]
            missing = [t for n in loaded for t in called.get(n, []) if t not in sys.modules]
            if not missing:
                break
            for name in missing:
                importlib.import_module(name)
        files = sorted(m.__file__ for n, m in sys.modules.copy().items() if n.split(".")[0] == "freqmaps")
        os.write(write, "\\n".join(files).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        out = pipe.read()
    _, status = os.wait()
    assert status == 0, script
    print(script, *out.split(), sep="\\t")
"""


def rule_scripts() -> dict[str, str]:
    """Every rule of the workflow that runs a script, and the script it runs."""
    found = {}
    for smk in sorted((REPO / "workflow" / "rules").glob("*.smk")):
        for block in re.split(r"\n(?=rule \w+:)", smk.read_text()):
            rule = re.match(r"rule (\w+):", block)
            script = re.search(r'script:\s*"\.\./\.\./scripts/(\w+\.py)"', block)
            if rule and script:
                found[rule.group(1)] = script.group(1)
    return found


def modules_run_by(scripts: set[str]) -> dict[str, set[str]]:
    """For each script, the package files (relative to src/freqmaps) that Python loads for its imports and their
    calls, each script in a fresh child of one interpreter."""
    imports = []
    for script in sorted(scripts):
        tree = ast.parse((REPO / "scripts" / script).read_text())
        imports.append(
            (script, "\n".join(ast.unparse(n) for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)))
        )
    probe = PROBE.format(called=LOADED_WHEN_CALLED, scripts=imports)
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=env).stdout
    found = {}
    for line in out.splitlines():
        script, *files = line.split("\t")
        found[script] = {Path(f).resolve().relative_to(PACKAGE_DIR).as_posix() for f in files}
    assert set(found) == set(scripts), out
    return found


EDIT = b"\n# an edit (tests/e2e/test_code_inputs.py)\n"


def touched(run: Path, modules: list[str]):
    """Append a comment line to each module of the run's checkout for the block's duration; contents and times
    restored afterwards, so the finished run stays finished for the next test."""

    class Touch:
        def __enter__(self):
            self.saved = {}
            for module in modules:
                path = run / PACKAGE / module
                self.saved[path] = (path.read_bytes(), path.stat())
                path.write_bytes(self.saved[path][0] + EDIT)

        def __exit__(self, *exc):
            for path, (text, stat) in self.saved.items():
                path.write_bytes(text)
                os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))

    return Touch()


def dry_run_jobs(workdir: Path, *targets: str, allowed_rules: tuple[str, ...] = ()) -> dict[str, set[str]]:
    """A dry run's jobs: rule -> the package files its jobs list as "Updated input files" (every job of the rule
    must list the same); a job planned for any reason but updated inputs and other jobs' outputs fails."""
    found: dict[str, set[str]] = {}
    for job in plan_jobs(workdir, *targets, allowed_rules=allowed_rules):
        files: set[str] = set()
        for part in job.reason.split("; "):
            kind, _, listed = part.partition(": ")
            assert kind in ("Updated input files", "Input files updated by another job"), (job.rule, part)
            if kind == "Updated input files":
                package = (workdir / PACKAGE).resolve()
                paths = [(workdir / f.strip()).resolve() for f in listed.split(",")]
                files |= {p.relative_to(package).as_posix() for p in paths if p.is_relative_to(package)}
        assert found.setdefault(job.rule, files) == files, f"jobs of {job.rule} depend on different code"
    return found


def downstream(rules: set[str], every_job: list[PlannedJob]) -> set[str]:
    """The rules and every rule that reads their outputs, from the jobs of the whole plan."""
    edges = {(upstream, job.rule) for job in every_job for upstream in job.upstream}
    reached = set(rules)
    while True:
        more = {b for a, b in edges if a in reached} - reached
        if not more:
            return reached
        reached |= more


MODULES = sorted(p.relative_to(PACKAGE_DIR).as_posix() for p in PACKAGE_DIR.rglob("*.py"))


@pytest.fixture(scope="module")
def edited_run(tiny_run, tmp_path_factory) -> Path:
    """A copy of the finished tiny run with its checkout (tests/conftest.py, tiny_run): the tests here edit its
    library modules, never the repository's, which other tests (in other processes) run meanwhile."""
    run = tmp_path_factory.mktemp("code_inputs") / "run"
    shutil.copytree(tiny_run, run, symlinks=True)
    assert (run / PACKAGE).is_dir()
    return run


@pytest.fixture(scope="module")
def every_job(edited_run) -> list[PlannedJob]:
    """Every job of the tiny run's plan (`--forceall`), with its outputs and the rules it reads from."""
    return plan_jobs(edited_run, forceall=True)


@pytest.fixture(scope="module")
def every_module_edited(edited_run, every_job) -> dict[str, set[str]]:
    """Every library module edited at once, then one dry run per rule of the tiny run's plan, of that rule's
    outputs with only that rule allowed to run (so no upstream job hides its own updated inputs): each rule with
    the package files its jobs list as updated inputs, which are the modules whose edit replans it."""
    outputs: dict[str, list[str]] = {}  # rule -> the output files of its jobs, the targets of its own dry run
    for job in every_job:
        outputs.setdefault(job.rule, []).extend(job.output)
    found = {}
    with touched(edited_run, MODULES):
        for rule, files in sorted(outputs.items()):
            found[rule] = dry_run_jobs(edited_run, *files, allowed_rules=(rule,)).get(rule, set())
    return found


@pytest.fixture(scope="module")
def stage_modules(every_module_edited) -> dict[str, set[str]]:
    """The independent table: each rule of the tiny run's plan and the package files Python loads to run it."""
    scripts = rule_scripts()
    loaded = modules_run_by({scripts[rule] for rule in every_module_edited if rule in scripts})
    return {rule: loaded[scripts[rule]] if rule in scripts else set() for rule in every_module_edited}


def test_every_rule_depends_on_exactly_the_modules_its_stage_runs(every_module_edited, stage_modules):
    """Every edit batched: a rule's updated inputs are the modules whose edit replans it; they must be what Python
    loads to run its script."""
    assert {"train", "attack", "correlate", "baseline_agreement", "summary"} <= set(stage_modules)
    assert every_module_edited == stage_modules


@pytest.mark.parametrize(
    ("module", "replanned", "not_replanned"),
    [  # the cases: an edit to the statistics replanned training; the baselines table ignored its code
        ("stats/neighbours.py", {"correlate"}, {"train", "attack", "essential_maps_shard"}),
        ("baselines/agreement.py", {"baseline_agreement"}, {"train", "correlate"}),
        ("stages/correlate.py", {"correlate"}, {"train", "summary", "baseline_agreement"}),
    ],
)
def test_one_edit_replans_exactly_the_stages_that_run_it(
    edited_run, every_job, stage_modules, module, replanned, not_replanned
):
    """One module edited: the rules that run it are replanned for it, those that read their outputs for that,
    and nothing else."""
    expected = {rule for rule, files in stage_modules.items() if module in files}
    assert replanned <= expected and not expected & not_replanned
    with touched(edited_run, [module]):
        planned = dry_run_jobs(edited_run)
    assert set(planned) == downstream(expected, every_job)
    assert all(files == {module} for files in planned.values() if files)
    assert {rule for rule, files in planned.items() if files} <= expected
