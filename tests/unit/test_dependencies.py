"""A rule's library inputs follow from what its script imports: freqmaps._dependencies."""

import ast
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


@pytest.mark.parametrize("script", SCRIPTS)
def test_real_scripts_cover_every_module_python_imports(script):
    """What Python loads when it imports a script's modules is a subset of the script's library files."""
    files = library_files(REPO / "scripts" / script)
    assert all((PACKAGE_DIR / f).is_file() for f in files)
    source = script_imports(REPO / "scripts" / script)
    listing = "print(*(m.__file__ for n, m in sys.modules.copy().items() if n.split('.')[0] == 'freqmaps'), sep='\\n')"
    probe = f"{source}\nimport sys\n{listing}"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    as_files = {Path(f).resolve().relative_to(PACKAGE_DIR).as_posix() for f in loaded.splitlines() if f}
    assert "__init__.py" in as_files and as_files <= set(files), as_files - set(files)
