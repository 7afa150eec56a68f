"""Fixtures shared across the test suite: keep each one small and about one real component."""

import pytest
import responses


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    """Every test gets its own HOME (so ~/.gladier is private) and no GLADIER_* settings."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for variable in ("GLADIER_CLIENT_ID", "GLADIER_CLIENT_SECRET", "GLADIER_ENGINE"):
        monkeypatch.delenv(variable, raising=False)
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
