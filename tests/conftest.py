"""Fixtures shared across the test suite: keep each one small and about one real component."""

import importlib.util
import os
import pathlib

import pytest
import responses

from corpus import CORPUS
from served import CHROMIUM, CHROMIUM_ARGS, Served, browser_available

WATCHASAY_PYTHON = (pathlib.Path(__file__).resolve().parents[1]
                    / "examples" / "watchasay" / ".venv" / "bin" / "python")


def pytest_sessionstart(session):
    """With ``CI`` set (``.ci/run`` sets it), refuse to start when a part that tests skip
    without is missing: in CI such a skip would hide a failure."""
    if not os.environ.get("CI"):
        return
    required = {
        f"the flows corpus at {CORPUS}": CORPUS.is_dir(),
        f"watchasay's environment {WATCHASAY_PYTHON} (bash examples/watchasay/ci.sh)":
            WATCHASAY_PYTHON.exists(),
        "gladier-tools (pip install -e '.[test]')": importlib.util.find_spec("gladier_tools")
            is not None,
        "sphinx (pip install -e '.[test]')": importlib.util.find_spec("sphinx") is not None,
        "Chromium and Playwright for the dashboard tests (.ci/run installs them)":
            browser_available(),
    }
    missing = [what for what, present in required.items() if not present]
    if missing:
        raise pytest.UsageError("CI is set, so these must be present: " + "; ".join(missing))


#: GLADIER_* variables about the test run itself, which every test keeps: where Globus's
#: example flows are, and where the reference Gladier 0.11 virtualenv is kept.
TEST_SETUP_VARIABLES = ("GLADIER_FLOWS_CORPUS", "GLADIER_REF_VENV")


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    """Every test gets its own HOME (so ~/.gladier is private) and no GLADIER_* settings
    (database, engine, time scale, tokens, collections, progress display, login, debug)."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for variable in list(os.environ):
        if variable.startswith("GLADIER_") and variable not in TEST_SETUP_VARIABLES:
            monkeypatch.delenv(variable)
    return home


@pytest.fixture
def mocked_responses():
    """Activate ``responses`` so globus_sdk.testing canned responses answer every request."""
    responses.start()
    yield responses
    responses.stop()
    responses.reset()


@pytest.fixture
def config_section(tmp_path):
    """A client's section of a config file in a temporary directory."""
    from gladier.storage import GladierConfig

    return GladierConfig(tmp_path / "gladier" / "client.cfg").section("my_client")


@pytest.fixture
def engine(tmp_path, monkeypatch):
    """A real embedded engine on a temporary database, with Waits scaled by 0.01.

    Modules that need another engine (collections, a time scale of 1) define their own.
    """
    monkeypatch.setenv("GLADIER_TIME_SCALE", "0.01")
    from gladier.engine import LocalEngine

    local = LocalEngine(str(tmp_path / "runs.db"))
    yield local
    local.close()


@pytest.fixture
def ap_server():
    """A real Action Provider served over HTTP on 127.0.0.1 (see tests/ap_server.py)."""
    from ap_server import ActionProviderServer

    server = ActionProviderServer().start()
    yield server
    server.stop()


@pytest.fixture
def served(tmp_path):
    """A real ``gladier serve`` process on a temporary database (see tests/served.py)."""
    server = Served(str(tmp_path / "served.db"), env={"GLADIER_TIME_SCALE": "0.05"})
    yield server
    server.stop()


@pytest.fixture
def browser_page(tmp_path):
    """A page of a real headless Chromium (Debian's), driven by Playwright."""
    if not browser_available():
        pytest.skip("needs Chromium and the playwright package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1366, "height": 900})
        page = context.new_page()
        yield page
        context.close()
        browser.close()
