"""Gladier 0.11's own test suite (shipped in its wheel) run against this package.

``python tests/upstream_suite.py`` prints how many of upstream's tests pass here and names
each one that fails; tests/test_upstream_suite.py asserts the same figures, and that the
failing tests are exactly those docs/compatibility.rst lists with a reason.

The wheel is fetched once with ``pip download --no-deps gladier==0.11.0`` into a cache
(``$GLADIER_TEST_CACHE`` or ``~/.cache/gladier-tests``). Its ``gladier/tests`` package is
copied beside a conftest that makes it importable as ``gladier.tests`` (where upstream's
tests import themselves from) without shadowing this package, and run with pytest in a
fresh interpreter, with ``GLADIER_ENGINE=globus`` (a 0.11 user's Globus client) and an
empty HOME.
"""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile

REFERENCE = "gladier==0.11.0"
WHEEL_NAME = "gladier-0.11.0-py3-none-any.whl"
HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent
DOCS = REPO / "docs" / "compatibility.rst"
#: The wheel ships test_flow_traversal.py without the ``two_step_flow.json`` it reads (on
#: 0.11 itself two of its tests error for that); a flow with the two states those tests
#: expect is placed beside the suite.
TEST_DATA = HERE / "data" / "gladier_upstream_test_data"
# Read when this module is imported, before any test gives itself a private HOME.
CACHE = pathlib.Path(os.environ.get("GLADIER_TEST_CACHE")
                     or pathlib.Path.home() / ".cache" / "gladier-tests")

#: Makes the copied suite importable as ``gladier.tests`` (upstream's import strings and
#: imports name it so) by adding its directory to this package's ``__path__``.
_CONFTEST = '''\
import os
import gladier

gladier.__path__.append(os.path.join(os.path.dirname(__file__), "pkg", "gladier"))
'''
_RESULT = re.compile(r"^(PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS) (\S+)", re.MULTILINE)


def wheel() -> pathlib.Path:
    """The cached gladier 0.11.0 wheel, downloaded first if needed."""
    path = CACHE / "wheels" / WHEEL_NAME
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                        "--disable-pip-version-check", REFERENCE, "-d", str(path.parent)],
                       check=True)
    return path


def extract_suite(where: pathlib.Path) -> pathlib.Path:
    """Copy upstream's tests (and the data they need) under ``where``; return the suite."""
    with zipfile.ZipFile(wheel()) as archive:
        members = [m for m in archive.namelist() if m.startswith("gladier/tests/")]
        archive.extractall(where / "pkg", members)
    suite = where / "pkg" / "gladier" / "tests"
    shutil.copytree(TEST_DATA, suite / "test_data", dirs_exist_ok=True)
    (where / "conftest.py").write_text(_CONFTEST)
    return suite


def run_suite(python: str = sys.executable) -> dict[str, str]:
    """``{test id: outcome}`` of upstream's suite run against the gladier ``python`` imports.

    Ids are relative to the suite (``test_client.py::test_run_flow``); outcomes are
    pytest's (``PASSED``, ``FAILED``, ``ERROR``, ``SKIPPED``). A module that cannot be
    collected appears as ``ERROR`` under its file name.
    """
    with tempfile.TemporaryDirectory(prefix="gladier-upstream-") as tmp:
        where = pathlib.Path(tmp)
        suite = extract_suite(where)
        home = where / "home"
        home.mkdir()
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("GLADIER_", "PYTEST_"))}
        env.update(HOME=str(home), GLADIER_ENGINE="globus", PYTHONDONTWRITEBYTECODE="1")
        result = subprocess.run(
            [python, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider",
             "--rootdir", str(where), "--continue-on-collection-errors", str(suite)],
            cwd=where, env=env, capture_output=True, text=True,
        )
    prefix = "pkg/gladier/tests/"
    outcomes = {}
    for outcome, test_id in _RESULT.findall(result.stdout):
        outcomes[test_id.removeprefix(prefix)] = outcome
    if not outcomes:
        raise RuntimeError("upstream's suite reported no results:\n"
                           + result.stdout[-4000:] + result.stderr[-4000:])
    return outcomes


def documented_failures(text: str | None = None) -> dict[str, str]:
    """``{test id: reason}`` from the list in docs/compatibility.rst
    (lines ``* ``test_x.py::test_y``: reason``)."""
    text = DOCS.read_text() if text is None else text
    return dict(re.findall(r"^\* ``(test_\w+\.py(?:::\w+)?)``: (.+)$", text, re.MULTILINE))


def failing(outcomes: dict[str, str]) -> list[str]:
    return sorted(t for t, outcome in outcomes.items() if outcome in ("FAILED", "ERROR"))


def main() -> None:
    outcomes = run_suite()
    passed = sum(outcome == "PASSED" for outcome in outcomes.values())
    print(f"upstream Gladier 0.11 suite on this package: {passed} passed, "
          f"{len(failing(outcomes))} failed or errored, "
          f"{sum(o == 'SKIPPED' for o in outcomes.values())} skipped by upstream")
    reasons = documented_failures()
    for test_id in failing(outcomes):
        print(f"  {outcomes[test_id]} {test_id}: {reasons.get(test_id, '(not documented)')}")


if __name__ == "__main__":
    main()
