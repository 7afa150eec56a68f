"""The reference Gladier (0.11.0 from PyPI, with gladier-tools 0.5.4) in a side virtualenv.

Tests that compare this package with the real Gladier 0.11 run the reference in its own
interpreter, so the two never share an import. The virtualenv is built once with pip (which
reaches the package index in CI too) and cached across runs: in ``GLADIER_REF_VENV`` when set,
else in ``~/.cache/gladier-tests/reference-gladier-0.11.0-py3.X``, one per Python: both sides
must run on the same Python (3.13 strips docstring indentation, which 0.11 copies into
``Comment``). A finished build leaves a stamp naming its Python and requirements; a half-built
or outdated one is built again.
"""

from __future__ import annotations

import fcntl
import os
import pathlib
import shutil
import subprocess
import sys

#: What the reference environment holds: Gladier 0.11 and the gladier-tools built for it,
#: plus what 0.11's own test suite (in its wheel) needs to run.
REFERENCE_REQUIREMENTS = (
    "gladier==0.11.0",
    "gladier-tools==0.5.4",
    "pytest",
    "responses",
)
_STAMP = ".gladier-reference-ok"
_PYTHON = "py%d.%d" % sys.version_info[:2]
# Read when this module is imported, before any test gives itself a private HOME.
_DEFAULT_CACHE = pathlib.Path(
    os.environ.get("XDG_CACHE_HOME") or pathlib.Path.home() / ".cache"
) / "gladier-tests" / f"reference-gladier-0.11.0-{_PYTHON}"


class ReferenceUnavailable(RuntimeError):
    """The reference environment could not be built (pip's output is in the message)."""


def reference_venv_path() -> pathlib.Path:
    """Where the reference virtualenv is (or will be) kept."""
    configured = os.environ.get("GLADIER_REF_VENV")
    return pathlib.Path(configured).expanduser() if configured else _DEFAULT_CACHE


def _python_of(venv: pathlib.Path) -> pathlib.Path:
    return venv / "bin" / "python"


def _stamp_text() -> str:
    return "\n".join((_PYTHON, *REFERENCE_REQUIREMENTS)) + "\n"


def _is_complete(venv: pathlib.Path) -> bool:
    stamp = venv / _STAMP
    if stamp.is_file() and stamp.read_text() == _stamp_text():
        return _python_of(venv).exists()
    # A venv built elsewhere (GLADIER_REF_VENV pointing at one made by hand) counts when its
    # interpreter is this Python's version and imports the pinned releases.
    return _python_of(venv).exists() and _has_pinned_releases(_python_of(venv))


def _has_pinned_releases(python: pathlib.Path) -> bool:
    check = (
        "import importlib.metadata as m, sys;"
        f"sys.exit(not (sys.version_info[:2] == {tuple(sys.version_info[:2])} and "
        "m.version('gladier') == '0.11.0' and m.version('gladier-tools') == '0.5.4'))"
    )
    # From "/", so a checkout of this package in the working directory is not what is found.
    return subprocess.run([str(python), "-c", check], capture_output=True,
                          cwd="/").returncode == 0


def _run(command: list[str], log: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    log.append(f"$ {' '.join(command)}\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    if result.returncode != 0:
        raise ReferenceUnavailable("Building the reference Gladier 0.11 venv failed:\n"
                                   + "\n".join(log))


def reference_python() -> pathlib.Path:
    """The interpreter of the reference environment, building it first if needed.

    Raises :class:`ReferenceUnavailable` when pip cannot install the pinned releases.
    """
    venv = reference_venv_path()
    if _is_complete(venv):
        return _python_of(venv)
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f".{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another test process may be building it
        if _is_complete(venv):
            return _python_of(venv)
        shutil.rmtree(venv, ignore_errors=True)
        log: list[str] = []
        _run([sys.executable, "-m", "venv", str(venv)], log)
        pip = [str(_python_of(venv)), "-m", "pip", "--disable-pip-version-check", "-q"]
        _run([*pip, "install", *REFERENCE_REQUIREMENTS], log)
        (venv / _STAMP).write_text(_stamp_text())
    return _python_of(venv)


def reference_site_packages() -> pathlib.Path:
    """The reference environment's site-packages (where 0.11's wheel put its tests)."""
    python = reference_python()
    found = subprocess.run(
        [str(python), "-c", "import gladier, os; print(os.path.dirname(os.path.dirname("
         "gladier.__file__)))"],
        capture_output=True, text=True, check=True,
    )
    return pathlib.Path(found.stdout.strip())
