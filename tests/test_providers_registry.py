"""Finding providers by ActionUrl or Handler, and user-registered providers."""

from __future__ import annotations

import pytest

from gladier.engine.providers.collection_roots import CollectionNotMapped
from gladier.engine.providers.compute import ComputeProvider
from gladier.engine.providers.http import HttpActionProvider
from gladier.engine.providers.registry import ProviderRegistry, handle_to_url
from gladier.engine.providers.transfer import TransferActionProvider
from gladier.exc import ActionProviderError, DeveloperException, EngineError


@pytest.fixture
def registry(tmp_path):
    registry = ProviderRegistry(store_path=str(tmp_path / "engine.db"))
    yield registry
    registry.close()


@pytest.mark.parametrize(
    "url",
    [
        "https://compute.actions.globus.org",
        "https://compute.actions.globus.org/v3/",
        "https://compute.actions.globus.org/fxap",
    ],
)
def test_every_compute_url_is_the_one_local_compute_provider(registry, url):
    found_url, provider = registry.resolve({"ActionUrl": url}, state_name="Compute")
    assert isinstance(provider, ComputeProvider)
    assert provider is registry.compute
    assert found_url == url.rstrip("/")


def test_transfer_routes_current_and_legacy(registry):
    _, current = registry.resolve(
        {"ActionUrl": "https://transfer.actions.globus.org/ls"}, state_name="Ls"
    )
    _, legacy = registry.resolve(
        {"ActionUrl": "https://actions.globus.org/transfer/set_permission/"}, state_name="Share"
    )
    assert (
        isinstance(current, TransferActionProvider) and current.route == "ls" and not current.legacy
    )
    assert legacy.route == "manage_permission" and legacy.legacy


def test_handler_object_and_string_handles(registry):
    _, by_object = registry.resolve(
        {"Handler": {"Type": "ActionProvider", "Url": "https://compute.actions.globus.org/v3"}},
        state_name="S",
    )
    url, by_handle = registry.resolve(
        {"Handler": "urn:globus:flows:handle:globus:transfer.stat"}, state_name="S"
    )
    assert by_object is registry.compute
    assert url == "https://transfer.actions.globus.org/stat" and by_handle.route == "stat"


def test_handle_to_url_maps_services():
    assert (
        handle_to_url("urn:globus:flows:handle:globus:compute.v3")
        == "https://compute.actions.globus.org/v3"
    )
    assert (
        handle_to_url("urn:globus:flows:handle:globus:search.ingest")
        == "https://actions.globus.org/search/ingest"
    )
    assert (
        handle_to_url("urn:globus:flows:handle:globus:hello_world")
        == "https://actions.globus.org/hello_world"
    )
    assert handle_to_url("urn:something:else") is None


def test_any_other_url_is_an_http_provider_reused_per_url(registry):
    _, first = registry.resolve({"ActionUrl": "https://ap.example.org/echo"}, state_name="Echo")
    _, again = registry.resolve({"ActionUrl": "https://ap.example.org/echo/"}, state_name="Echo2")
    assert isinstance(first, HttpActionProvider) and first is again
    assert first.url == "https://ap.example.org/echo"


@pytest.mark.parametrize(
    "state, message",
    [
        ({"Type": "Action"}, "neither 'ActionUrl' nor 'Handler'"),
        ({"ActionUrl": 42}, "ActionUrl must be a URL string"),
        ({"ActionUrl": "ftp://example.org/x"}, "is not an http(s) URL"),
        ({"Handler": {"Type": "Lambda", "Url": "https://x"}}, "Handler Type 'Lambda'"),
        ({"Handler": {"Type": "ActionProvider"}}, "Handler has no 'Url'"),
        ({"Handler": "urn:globus:flows:handle:other:thing"}, "not a known handle"),
        ({"ActionUrl": "https://transfer.actions.globus.org/teleport"}, "no Transfer provider"),
    ],
)
def test_unusable_action_states_raise_engine_error_naming_the_state(registry, state, message):
    with pytest.raises(EngineError) as caught:
        registry.resolve(state, state_name="BadState")
    assert "BadState" in str(caught.value)
    assert message in str(caught.value)


class RecordingProvider:
    def __init__(self):
        self.bodies = []

    def run(self, request):
        self.bodies.append(request["body"])
        return {"action_id": "a1", "status": "SUCCEEDED", "details": {}}

    def status(self, action_id):
        return {"action_id": action_id, "status": "SUCCEEDED", "details": {}}

    cancel = release = status


def test_registered_provider_object_overrides_a_builtin(registry):
    mine = RecordingProvider()
    registry.register("https://transfer.actions.globus.org/transfer/", mine)
    _, provider = registry.resolve(
        {"ActionUrl": "https://transfer.actions.globus.org/transfer"}, state_name="T"
    )
    assert provider is mine


def test_registered_callable_success_failure_and_refusal(registry):
    def mock(body):
        if body.get("refuse"):
            raise ActionProviderError("no thanks", http_status=403, body={"code": "Forbidden"})
        if body.get("explode"):
            raise ValueError("bad value " + body["explode"])
        return {"doubled": body["n"] * 2} if "n" in body else body.get("plain")

    registry.register("https://mock.example.org/", mock)
    _, provider = registry.resolve({"ActionUrl": "https://mock.example.org"}, state_name="Mock")
    ok = provider.run({"request_id": "1", "body": {"n": 4}})
    assert (ok["status"], ok["details"]) == ("SUCCEEDED", {"doubled": 8})
    wrapped = provider.run({"request_id": "2", "body": {"plain": 7}})
    assert wrapped["details"] == {"result": 7}
    failed = provider.run({"request_id": "3", "body": {"explode": "x"}})
    assert failed["status"] == "FAILED"
    assert failed["details"]["exception"] == "ValueError"
    assert failed["details"]["message"] == "bad value x"
    with pytest.raises(ActionProviderError) as caught:
        provider.run({"request_id": "4", "body": {"refuse": True}})
    assert caught.value.http_status == 403


def test_registered_callable_is_not_called_again_after_a_restart(tmp_path):
    calls = []

    def mock(body):
        calls.append(body)
        return {"ok": True}

    request = {"request_id": "run:Mock:0", "body": {"x": 1}}
    for _ in range(2):  # two engine lifetimes sharing one database
        registry = ProviderRegistry(store_path=str(tmp_path / "engine.db"))
        registry.register("https://mock.example.org", mock)
        status = registry.provider_for("https://mock.example.org").run(request)
        registry.close()
        assert status["details"] == {"ok": True}
    assert calls == [{"x": 1}]


def test_registering_something_that_is_not_a_provider_is_a_developer_error(registry):
    with pytest.raises(DeveloperException):
        registry.register("https://x.example.org", 42)


def test_transfer_routes_answer_on_the_mapping_of_the_run_asking(registry, tmp_path):
    url = "https://transfer.actions.globus.org/transfer"
    _, own = registry.resolve({"ActionUrl": url}, state_name="T")
    _, mapped = registry.resolve({"ActionUrl": url}, state_name="T",
                                 collections={"c1": str(tmp_path)})
    _, again = registry.resolve({"ActionUrl": url}, state_name="T",
                                collections={"c1": str(tmp_path)})
    assert own is registry.transfer.provider("transfer")
    assert mapped is again and mapped is not own
    assert mapped.collections.get("c1").root == str(tmp_path.resolve())
    with pytest.raises(CollectionNotMapped):
        own.collections.get("c1")
