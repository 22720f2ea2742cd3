"""A rule's library inputs follow from what its script imports: freqmaps._dependencies."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from freqmaps._dependencies import PACKAGE_DIR, library_files
from tests.conftest import REPO


def write(root, relative, text=""):
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def package(tmp_path):
    """A small freqmaps-like package: absolute, relative, lazy and from-package imports, and a cycle."""
    root = tmp_path / "freqmaps"
    write(root, "__init__.py", '"""root"""\n')
    write(root, "io.py", "import json\n")
    write(root, "runtime.py", "from freqmaps.io import load  # a name, not a module\n")
    write(root, "figures.py", "import matplotlib\n")
    write(root, "maps.py", "from freqmaps import runtime\nfrom freqmaps.study import helper  # a cycle\n")
    write(root, "study/__init__.py", "from .statistics import probe\n")
    write(root, "study/statistics.py", "import numpy\n")
    write(root, "study/stages.py", "from ..maps import x\n\ndef run():\n    from freqmaps import figures\n")
    write(root, "unused.py", "from freqmaps import maps\n")
    script = write(tmp_path, "scripts/stage.py", "from freqmaps.study import stages\nimport os\n")
    return root, script


def test_files_of_a_script_follow_its_imports_transitively(package):
    root, script = package
    expected = [
        "__init__.py",
        "figures.py",  # imported inside a function: it runs when the stage runs
        "io.py",
        "maps.py",
        "runtime.py",
        "study/__init__.py",
        "study/stages.py",
        "study/statistics.py",
    ]
    assert library_files(script, package_dir=root) == expected
    assert library_files("study.stages", package_dir=root) == expected
    assert library_files("freqmaps.study.stages", package_dir=root) == expected
    assert library_files("io", package_dir=root) == ["__init__.py", "io.py"]
    assert "unused.py" not in library_files("maps", package_dir=root)


def test_an_edited_file_is_read_again(package):
    """Each file is parsed once per version (a parse asks once per rule); an edit (a new size and time) is seen."""
    root, script = package
    assert "figures.py" not in library_files("io", package_dir=root)
    write(root, "io.py", "import json\nfrom freqmaps import figures  # the edit\n")
    assert "figures.py" in library_files("io", package_dir=root)
    write(root, "io.py", "import json\n")
    assert library_files("io", package_dir=root) == ["__init__.py", "io.py"]


def test_a_missing_module_is_named_with_its_importer(package):
    root, script = package
    (root / "study" / "statistics.py").write_text("from freqmaps.stats_typo import x\n")
    with pytest.raises(ValueError, match=r"statistics\.py: imports freqmaps\.stats_typo"):
        library_files(script, package_dir=root)
    with pytest.raises(ValueError, match="no such file"):
        library_files(str(script.with_name("absent.py")), package_dir=root)


SCRIPTS = sorted(path.name for path in (REPO / "scripts").glob("*.py"))


def script_imports(script: Path) -> str:
    """The import statements of a Snakemake script, without the Snakemake object the rest needs."""
    tree = ast.parse(script.read_text())
    return "\n".join(ast.unparse(node) for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom))


# One Python process imports the heavy third-party packages once, then forks a child per script that runs the
# script's imports and lists the freqmaps modules loaded: a fresh interpreter per script paid ~2.7 s of torch,
# scipy and matplotlib imports each (~70 s of the fast suite). The child starts with no freqmaps module loaded,
# and which freqmaps modules an import loads does not depend on which third-party ones are already there.
LOADED_BY_SCRIPT = """
import json, os, sys, traceback
heavy = ("torch", "torchvision", "numpy", "scipy.stats", "matplotlib.pyplot", "sklearn", "torchattacks")
for name in (*heavy, "jsonschema", "safetensors.torch"):
    __import__(name)
assert not any(name.split(".")[0] == "freqmaps" for name in sys.modules)
sources, out = json.loads(sys.stdin.read()), sys.argv[1]
for script, source in sources.items():
    pid = os.fork()
    if pid == 0:
        status = 0
        try:
            exec(compile(source, script, "exec"), {"__name__": "__probe__"})
            loaded = [m.__file__ for n, m in sys.modules.copy().items() if n.split(".")[0] == "freqmaps"]
            with open(os.path.join(out, script + ".json"), "w") as handle:
                json.dump(loaded, handle)
        except BaseException:
            traceback.print_exc()
            status = 1
        finally:
            sys.stdout.flush(), sys.stderr.flush()
            os._exit(status)
    if os.waitpid(pid, 0)[1] != 0:
        sys.exit(f"importing {script}'s modules failed")
"""


@pytest.fixture(scope="module")
def loaded_by_script(tmp_path_factory):
    """For each script, the freqmaps files Python loads when it runs the script's import statements."""
    out = tmp_path_factory.mktemp("loaded")
    sources = json.dumps({script: script_imports(REPO / "scripts" / script) for script in SCRIPTS})
    subprocess.run([sys.executable, "-c", LOADED_BY_SCRIPT, str(out)], input=sources, text=True, check=True)
    return {script: json.loads((out / f"{script}.json").read_text()) for script in SCRIPTS}


@pytest.mark.parametrize("script", SCRIPTS)
def test_real_scripts_cover_every_module_python_imports(script, loaded_by_script):
    """What Python loads when it imports a script's modules is a subset of the script's library files."""
    files = library_files(REPO / "scripts" / script)
    assert all((PACKAGE_DIR / f).is_file() for f in files)
    as_files = {Path(f).resolve().relative_to(PACKAGE_DIR).as_posix() for f in loaded_by_script[script]}
    assert "__init__.py" in as_files and as_files <= set(files), as_files - set(files)
