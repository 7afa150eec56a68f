"""What the built distribution declares and ships: the wheel pip builds from this tree."""

from __future__ import annotations

import ast
import email
import importlib.metadata
import pathlib
import subprocess
import sys
import zipfile

import pytest
from packaging.requirements import Requirement

ROOT = pathlib.Path(__file__).resolve().parent.parent
#: Imported only where it is already there: JupyterRenderer runs inside a notebook kernel.
ONLY_WHERE_PRESENT = {"IPython"}
#: Files whose imports an extra declares: ``pip install 'gladier[serve]'``.
EXTRA_OF_SUBPACKAGE = {"gladier/serve/": "serve", "gladier/cli/commands/serve.py": "serve"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> tuple[zipfile.ZipFile, str]:
    out = tmp_path_factory.mktemp("wheel")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "-w",
                            str(out), str(ROOT)], capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    (path,) = out.glob("gladier-*.whl")
    return zipfile.ZipFile(path), built.stdout + built.stderr


def _metadata(wheel: zipfile.ZipFile) -> email.message.Message:
    (name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    return email.message_from_bytes(wheel.read(name))


def test_the_wheel_ships_the_license_the_type_marker_and_the_flow_schema(wheel):
    archive, _log = wheel
    names = set(archive.namelist())
    assert "gladier/py.typed" in names
    assert "gladier/engine/schemas/flow_definition.json" in names
    (license_file,) = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
    text = archive.read(license_file).decode()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text  # the full text, not a one-line notice
    assert not [n for n in names if n.startswith(("tests/", "examples/", "benchmarks/"))]


def test_the_metadata_says_python_3_10_and_later_and_apache_2(wheel):
    metadata = _metadata(wheel[0])
    assert metadata["Requires-Python"] == ">=3.10"
    assert metadata["License-Expression"] == "Apache-2.0"
    assert "Typing :: Typed" in metadata.get_all("Classifier")


def test_building_the_wheel_gives_no_setuptools_warnings(wheel):
    _archive, log = wheel
    warnings = [line for line in log.splitlines()
                if "warning" in line.lower() and "byte-compiling is disabled" not in line]
    assert not warnings, "\n".join(warnings)


def _third_party_imports() -> set[tuple[str, str]]:
    """(top-level module, file importing it), over every module of the package."""
    found: set[tuple[str, str]] = set()
    for path in sorted((ROOT / "gladier").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top != "gladier":
                    found.add((top, str(path.relative_to(ROOT))))
    return found


def _declared(extra: str | None) -> set[str]:
    """The distributions gladier requires (with ``extra``: that extra adds them too)."""
    names = set()
    for text in importlib.metadata.requires("gladier") or []:
        requirement = Requirement(text)
        if requirement.marker is None or (
                extra and requirement.marker.evaluate({"extra": extra})):
            names.add(requirement.name.lower().replace("_", "-"))
    return names


def test_every_package_the_code_imports_is_a_declared_dependency():
    providers = importlib.metadata.packages_distributions()
    missing = {}
    for (module, where) in _third_party_imports():
        if module in ONLY_WHERE_PRESENT:
            continue
        extra = next((name for prefix, name in EXTRA_OF_SUBPACKAGE.items()
                      if where.startswith(prefix)), None)
        distributions = {d.lower().replace("_", "-") for d in providers.get(module, [module])}
        if not distributions & _declared(extra):
            missing[module] = where
    assert not missing, f"imported but not declared in pyproject.toml: {missing}"


def test_the_console_script_is_the_cli_main():
    (script,) = [e for e in importlib.metadata.entry_points(group="console_scripts")
                 if e.name == "gladier"]
    assert script.value == "gladier.cli:main"
