"""Retired Globus action URLs that Gladier-era flows name: the embedded engine runs them as
their current equivalents, and ``gladier validate`` warns before anything is deployed.

The facts come from Globus's "Migrating Transfer Action Providers"
(https://docs.globus.org/api/transfer/action-providers/migration): "Effective 1/22/2025, the
following action providers are no longer supported: https://actions.globus.org/transfer/
collection_info, .../delete, .../ls, .../mkdir, .../set_permission, .../transfer", "For most
actions this will just be replacing actions.globus.org/transfer/ with
transfer.actions.globus.org/", and "set_permission" "has been renamed to
manage_permission". Flows written for Globus Automate name the same providers on
``https://actions.automate.globus.org`` (e.g. ``.../transfer/transfer`` with ActionScope
``https://auth.globus.org/scopes/actions.globus.org/transfer/transfer``).
"""

import json

import pytest
from click.testing import CliRunner

from gladier.cli import cli
from gladier.engine import LocalEngine
from gladier.engine.providers.legacy import current_url, retirement

SOURCE = "6c54cade-bde5-45c1-bdea-f4bd71dba2cc"
DESTINATION = "31ce9ba0-176d-45a5-add3-f37d233ba47d"
AUTOMATE_TRANSFER = "https://actions.automate.globus.org/transfer/transfer"


def gladier_era_transfer_flow(url=AUTOMATE_TRANSFER):
    """A transfer state as Gladier-era clients wrote it (e.g. the XPCS beamline clients)."""
    return {"StartAt": "TransferQmap", "States": {"TransferQmap": {
        "Comment": "Initial Transfer from APS to ALCF", "Type": "Action", "ActionUrl": url,
        "Parameters": {
            "source_endpoint_id.$": "$.input.qmap_source_endpoint",
            "destination_endpoint_id.$": "$.input.qmap_destination_endpoint",
            "transfer_items": [{"source_path.$": "$.input.qmap_source_path",
                                "destination_path.$": "$.input.qmap_destination_path",
                                "recursive": False}]},
        "ResultPath": "$.TransferQmap", "WaitTime": 600, "End": True}}}


@pytest.fixture
def mapped_engine(tmp_path, monkeypatch):
    monkeypatch.setenv("GLADIER_TIME_SCALE", "0.01")
    (tmp_path / "aps").mkdir()
    (tmp_path / "alcf").mkdir()
    engine = LocalEngine(str(tmp_path / "runs.db"), collections={
        SOURCE: tmp_path / "aps", DESTINATION: tmp_path / "alcf"})
    yield engine
    engine.close()


def test_automate_host_transfer_runs_as_the_transfer_it_names(mapped_engine, tmp_path):
    (tmp_path / "aps" / "A001.qmap").write_text("qmap data")
    flow = mapped_engine.create_flow(gladier_era_transfer_flow())

    run = mapped_engine.run_flow(flow["id"], {"input": {
        "qmap_source_endpoint": SOURCE, "qmap_destination_endpoint": DESTINATION,
        "qmap_source_path": "/A001.qmap", "qmap_destination_path": "/qmaps/A001.qmap"}})
    done = mapped_engine.wait(run["run_id"], timeout=60)

    assert done["status"] == "SUCCEEDED", done["details"]
    assert (tmp_path / "alcf" / "qmaps" / "A001.qmap").read_text() == "qmap data"
    details = done["details"]["output"]["TransferQmap"]["details"]
    assert details["source_endpoint_id"] == SOURCE and details["files_transferred"] == 1


def test_automate_host_hello_world_runs_as_actions_globus_org(mapped_engine):
    flow = mapped_engine.create_flow({"StartAt": "Hello", "States": {"Hello": {
        "Type": "Action", "ActionUrl": "https://actions.automate.globus.org/hello_world",
        "Parameters": {"echo_string": "hi"}, "ResultPath": "$.hello", "End": True}}})

    done = mapped_engine.wait(mapped_engine.run_flow(flow["id"], {})["run_id"], timeout=60)

    assert done["status"] == "SUCCEEDED", done["details"]
    assert done["details"]["output"]["hello"]["details"] == {"Hello": "World", "hello": "hi"}


@pytest.mark.parametrize("url, current", [
    (AUTOMATE_TRANSFER, "https://actions.globus.org/transfer/transfer"),
    ("https://actions.automate.globus.org/transfer/mkdir/", "https://actions.globus.org/transfer/mkdir"),
    ("https://actions.automate.globus.org/search/ingest", "https://actions.globus.org/search/ingest"),
    ("https://transfer.actions.globus.org/transfer", "https://transfer.actions.globus.org/transfer"),
])
def test_current_url_of_an_automate_host_url(url, current):
    assert current_url(url) == current


@pytest.mark.parametrize("url, replacement", [
    (AUTOMATE_TRANSFER, "https://transfer.actions.globus.org/transfer"),
    ("https://actions.globus.org/transfer/transfer", "https://transfer.actions.globus.org/transfer"),
    ("https://actions.globus.org/transfer/delete", "https://transfer.actions.globus.org/delete"),
    ("https://actions.automate.globus.org/transfer/mkdir", "https://transfer.actions.globus.org/mkdir"),
    ("https://actions.globus.org/transfer/set_permission",
     "https://transfer.actions.globus.org/manage_permission"),
])
def test_retired_transfer_urls_name_the_date_and_the_current_url(url, replacement):
    note = retirement(url)

    assert "2025-01-22" in note and f"its current URL is {replacement}" in note
    assert "https://docs.globus.org/api/transfer/action-providers/migration" in note


@pytest.mark.parametrize("url", ["https://transfer.actions.globus.org/transfer",
                                 "https://actions.globus.org/hello_world",
                                 "https://compute.actions.globus.org/v3"])
def test_current_urls_are_not_retired(url):
    assert retirement(url) is None


def test_gladier_validate_warns_about_a_retired_url_before_anything_is_deployed(tmp_path):
    path = tmp_path / "flow.json"
    path.write_text(json.dumps(gladier_era_transfer_flow()))

    result = CliRunner().invoke(cli, ["validate", str(path)])

    assert result.exit_code == 0, result.output
    (warning,) = [line for line in result.output.splitlines() if line.startswith("warning:")]
    assert "TransferQmap" in warning and "$.States.TransferQmap.ActionUrl" in warning
    assert f"Globus retired the Transfer action provider {AUTOMATE_TRANSFER} on 2025-01-22" \
        in warning
    assert "https://transfer.actions.globus.org/transfer" in warning
    assert f"{path}: valid (1 warning(s))" in result.output
