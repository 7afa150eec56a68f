"""The local Globus Search providers: ingest and delete on an index kept in SQLite."""

import pytest

from gladier.engine.providers.registry import ProviderRegistry
from gladier.exc import ActionProviderError

INDEX = "6077d057-989d-41e2-b60b-91fe001f0687"


@pytest.fixture
def registry(tmp_path):
    registry = ProviderRegistry(store_path=str(tmp_path / "engine.db"))
    yield registry
    registry.close()


def call(registry, url, body, request_id="r1"):
    _, provider = registry.resolve({"ActionUrl": url}, state_name="S")
    return provider.run({"request_id": request_id, "body": body})


def entry(subject, **content):
    return {"search_index": INDEX, "subject": subject, "visible_to": ["public"],
            "content": content}


def test_ingest_adds_an_entry_and_replaces_it_on_the_same_subject(registry):
    status = call(registry, "https://actions.globus.org/search/ingest", entry("a", v=1))
    assert status["status"] == "SUCCEEDED"
    assert status["details"]["num_documents_ingested"] == 1
    call(registry, "https://actions.globus.org/search/ingest", entry("a", v=2), "r2")
    assert registry.search.entries(INDEX) == [
        {"subject": "a", "id": None, "visible_to": ["public"], "content": {"v": 2}}]


def test_ingest_is_answered_through_a_handler_handle_too(registry):
    _, provider = registry.resolve(
        {"Handler": "urn:globus:flows:handle:globus:search.ingest"}, state_name="S")
    provider.run({"request_id": "h", "body": entry("b", x="y")})
    assert registry.search.get_subject(INDEX, "b")["entries"] == [
        {"entry_id": None, "content": {"x": "y"}, "matched_principal_sets": []}]


def test_the_same_request_is_not_ingested_twice(registry):
    first = call(registry, "https://actions.globus.org/search/ingest", entry("c", n=1))
    again = call(registry, "https://actions.globus.org/search/ingest", entry("c", n=1))
    assert again["action_id"] == first["action_id"]
    with pytest.raises(ActionProviderError) as conflict:
        call(registry, "https://actions.globus.org/search/ingest", entry("c", n=2))
    assert conflict.value.http_status == 409


def test_delete_by_subject_and_by_entry(registry):
    ingest = "https://actions.globus.org/search/ingest"
    call(registry, ingest, entry("keep", k=1), "1")
    call(registry, ingest, dict(entry("gone", g=1), id="one"), "2")
    call(registry, ingest, dict(entry("gone", g=2), id="two"), "3")
    delete = "https://actions.globus.org/search/delete"
    by_entry = call(registry, delete, {"search_index": INDEX, "delete_by": "entry",
                                       "subject": "gone", "entry_id": "one"}, "4")
    assert by_entry["details"]["num_entries_deleted"] == 1
    assert [e["id"] for e in registry.search.entries(INDEX) if e["subject"] == "gone"] == ["two"]
    call(registry, delete, {"search_index": INDEX, "delete_by": "subject", "subject": "gone"},
         "5")
    assert [e["subject"] for e in registry.search.entries(INDEX)] == ["keep"]


@pytest.mark.parametrize("body, message", [
    ({"subject": "s", "visible_to": ["public"], "content": {}}, "search_index"),
    ({"search_index": INDEX, "visible_to": ["public"], "content": {}}, "subject"),
    ({"search_index": INDEX, "subject": "s", "content": {}}, "visible_to"),
    ({"search_index": INDEX, "subject": "s", "visible_to": ["public"], "content": "x"},
     "content"),
])
def test_ingest_refuses_an_incomplete_entry_saying_what_is_missing(registry, body, message):
    with pytest.raises(ActionProviderError) as refused:
        call(registry, "https://actions.globus.org/search/ingest", body)
    assert refused.value.http_status == 400 and message in str(refused.value)


def test_delete_by_query_is_refused_locally(registry):
    with pytest.raises(ActionProviderError) as refused:
        call(registry, "https://actions.globus.org/search/delete",
             {"search_index": INDEX, "delete_by": "query", "q": "*"})
    assert "not supported by the local Search index" in str(refused.value)
