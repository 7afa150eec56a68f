"""The local Transfer providers, on real files in a temporary directory."""

from __future__ import annotations

import os
import shutil
import threading

import pytest

from gladier.engine.providers.registry import ProviderRegistry
from gladier.engine.providers.transfer import LocalTransferService
from gladier.engine.providers.collection_roots import LocalCollections
from gladier.exc import ActionProviderError

SRC, DST = "6c54cade-bde5-45c1-bdea-f4bd71dba2cc", "31ce9ba0-176d-45a5-add3-f37d233ba47d"
T = "https://transfer.actions.globus.org/"


@pytest.fixture
def roots(tmp_path):
    src, dst = tmp_path / "src-root", tmp_path / "dst-root"
    src.mkdir()
    dst.mkdir()
    (src / "a.txt").write_text("hello")
    (src / "data" / "nested").mkdir(parents=True)
    (src / "data" / "one.txt").write_text("1")
    (src / "data" / "nested" / "two.txt").write_text("22")
    (tmp_path / "outside.txt").write_text("secret")
    return src, dst


@pytest.fixture
def registry(roots):
    src, dst = roots
    registry = ProviderRegistry(collections={SRC: str(src), DST: str(dst)})
    yield registry
    registry.close()


def wait_done(provider, action_id, timeout=30):
    done = threading.Event()
    provider.add_done_callback(action_id, lambda status: done.set())
    assert done.wait(timeout), "action did not finish"
    return provider.status(action_id)


def call(registry, route, body, request_id="run:State:0"):
    provider = registry.provider_for(route if route.startswith("https://") else T + route)
    started = provider.run({"request_id": request_id, "body": body})
    return wait_done(provider, started["action_id"])


def transfer_body(*items, source=SRC, destination=DST):
    return {
        "source_endpoint": source,
        "destination_endpoint": destination,
        "DATA": [{"source_path": s, "destination_path": d} for s, d in items],
    }


def test_file_transfer_copies_and_reports_a_task_document(registry, roots):
    src, dst = roots
    final = call(registry, "transfer", transfer_body(("/~/a.txt", "/copied/b.txt")))
    assert (dst / "copied" / "b.txt").read_text() == "hello"
    details = final["details"]
    assert final["status"] == "SUCCEEDED"
    assert details["DATA_TYPE"] == "task" and details["type"] == "TRANSFER"
    assert details["status"] == "SUCCEEDED"
    assert (details["files"], details["files_transferred"], details["bytes_transferred"]) == (
        1,
        1,
        5,
    )
    assert details["label"] == f"For Action id {final['action_id']}"
    assert details["source_endpoint_id"] == SRC and details["destination_endpoint_id"] == DST
    assert details["task_id"] and details["completion_time"]


def test_directory_without_recursive_is_copied_recursively_skipping_symlinks(
    registry, roots, tmp_path
):
    src, dst = roots
    os.symlink(tmp_path / "outside.txt", src / "data" / "link.txt")
    final = call(registry, "transfer", transfer_body(("/data", "/~/copy/")))
    assert (dst / "copy" / "one.txt").read_text() == "1"
    assert (dst / "copy" / "nested" / "two.txt").read_text() == "22"
    assert not (dst / "copy" / "link.txt").exists()
    details = final["details"]
    assert (details["files_transferred"], details["bytes_transferred"]) == (2, 3)
    assert details["directories"] == 2 and details["symlinks"] == 1


def test_file_onto_a_directory_fails_as_on_globus(registry, roots):
    src, dst = roots
    (dst / "inbox").mkdir()
    final = call(registry, "transfer", transfer_body(("/a.txt", "/inbox")))
    assert final["details"]["fatal_error"]["code"] == "IS_A_DIRECTORY"
    assert not (dst / "inbox" / "a.txt").exists()


@pytest.mark.parametrize(
    "source_path, destination_path",
    [
        ("/../outside.txt", "/x.txt"),
        ("/~/../../outside.txt", "/x.txt"),
        ("/a.txt", "/../escaped.txt"),
    ],
)
def test_paths_leaving_the_collection_root_fail_the_task(
    registry, roots, tmp_path, source_path, destination_path
):
    final = call(registry, "transfer", transfer_body((source_path, destination_path)))
    assert final["status"] == "FAILED"
    assert final["details"]["fatal_error"]["code"] == "PERMISSION_DENIED"
    assert "leaves the root" in final["details"]["fatal_error"]["description"]
    assert not (tmp_path / "escaped.txt").exists()
    assert not (roots[1] / "x.txt").exists()


def test_symlink_out_of_the_root_is_refused_and_nothing_is_copied(registry, roots, tmp_path):
    src, dst = roots
    os.symlink(tmp_path, src / "door")
    final = call(
        registry,
        "transfer",
        transfer_body(("/a.txt", "/first.txt"), ("/door/outside.txt", "/x.txt")),
    )
    assert final["status"] == "FAILED"
    assert "symbolic link" in final["details"]["fatal_error"]["description"]
    assert not (dst / "first.txt").exists()


@pytest.fixture
def outside(tmp_path):
    """A directory beside the collection roots, and a link to it inside the destination."""
    directory = tmp_path / "outside-dir"
    directory.mkdir()
    (directory / "kept.txt").write_text("keep me")
    return directory


def test_recursive_transfer_refuses_a_directory_link_inside_the_destination(
    registry, roots, outside
):
    src, dst = roots
    (dst / "target").mkdir()
    os.symlink(outside, dst / "target" / "nested")
    final = call(registry, "transfer", transfer_body(("/data", "/target")))
    assert final["status"] == "FAILED"
    fatal = final["details"]["fatal_error"]
    assert fatal["code"] == "PERMISSION_DENIED"
    assert f"'/target/nested' on collection {DST} follows a symbolic link" in fatal["description"]
    assert sorted(os.listdir(outside)) == ["kept.txt"]


def test_transfer_refuses_a_file_link_inside_the_destination(registry, roots, outside):
    src, dst = roots
    (dst / "target").mkdir()
    os.symlink(outside / "kept.txt", dst / "target" / "one.txt")
    final = call(registry, "transfer", transfer_body(("/data", "/target")))
    assert final["details"]["fatal_error"]["code"] == "PERMISSION_DENIED"
    assert "'/target/one.txt'" in final["details"]["fatal_error"]["description"]
    assert (outside / "kept.txt").read_text() == "keep me"


def test_a_link_left_where_the_partial_copy_used_to_go_is_not_written_through(
    registry, roots, outside
):
    src, dst = roots
    os.symlink(outside / "kept.txt", dst / "b.txt.gladier-partial")
    final = call(registry, "transfer", transfer_body(("/a.txt", "/b.txt")))
    assert final["status"] == "SUCCEEDED"
    assert (dst / "b.txt").read_text() == "hello"
    assert (outside / "kept.txt").read_text() == "keep me"


def test_file_routes_refuse_paths_through_a_link_out_of_the_root(registry, roots, outside):
    dst = roots[1]
    os.symlink(outside, dst / "door")
    through = "/door/kept.txt"
    mkdir = call(registry, "mkdir", {"endpoint_id": DST, "path": "/door/new"}, "1")
    stat = call(registry, "stat", {"endpoint_id": DST, "path": through}, "2")
    ls = call(registry, "ls", {"endpoint_id": DST, "path": "/door"}, "3")
    for refused in (mkdir, stat, ls):
        assert refused["status"] == "FAILED"
        assert refused["details"]["code"] == "EndpointPermissionDenied"
        assert "follows a symbolic link out of its root" in refused["details"]["message"]
    delete = call(registry, "delete", {"endpoint": DST, "DATA": [{"path": through}]}, "4")
    assert delete["details"]["fatal_error"]["code"] == "PERMISSION_DENIED"
    assert sorted(os.listdir(outside)) == ["kept.txt"]


def test_ls_shows_a_link_out_of_the_root_without_reading_its_target(registry, roots, outside):
    dst = roots[1]
    (outside / "big.bin").write_bytes(b"x" * 5000)
    os.symlink(outside / "big.bin", dst / "link")
    entry = call(registry, "ls", {"endpoint_id": DST, "path": "/"})["details"]["DATA"][0]
    assert entry["name"] == "link" and entry["link_target"] == str(outside / "big.bin")
    assert entry["size"] == os.lstat(dst / "link").st_size != 5000


def test_recursive_delete_removes_a_link_out_of_the_root_not_its_target(
    registry, roots, outside
):
    dst = roots[1]
    (dst / "tree").mkdir()
    os.symlink(outside, dst / "tree" / "door")
    final = call(registry, "delete", {"endpoint": DST, "DATA": [{"path": "/tree"}],
                                      "recursive": True})
    assert final["status"] == "SUCCEEDED"
    assert not (dst / "tree").exists()
    assert sorted(os.listdir(outside)) == ["kept.txt"]


def test_missing_source_fails_with_file_not_found(registry):
    final = call(registry, "transfer", transfer_body(("/nope.txt", "/x.txt")))
    assert final["status"] == "FAILED"
    assert final["details"]["fatal_error"]["code"] == "FILE_NOT_FOUND"
    assert "/nope.txt" in final["details"]["fatal_error"]["description"]


def test_directory_onto_a_file_fails(registry, roots):
    (roots[1] / "file").write_text("x")
    final = call(registry, "transfer", transfer_body(("/data", "/file")))
    assert final["details"]["fatal_error"]["code"] == "NOT_A_DIRECTORY"


def test_legacy_transfer_shape_and_whole_filesystem_absolute_paths(tmp_path):
    """``"*": "/"``, asked for explicitly: every other id is the whole filesystem."""
    registry = ProviderRegistry(collections={"*": "/"})
    (tmp_path / "outside.txt").write_text("secret")
    target = tmp_path / "legacy" / "out.txt"
    body = {
        "source_endpoint_id": "any-unmapped-collection",
        "destination_endpoint_id": "another-unmapped-collection",
        "transfer_items": [
            {
                "source_path": str(tmp_path / "outside.txt"),
                "destination_path": str(target),
                "recursive": False,
            }
        ],
    }
    final = call(registry, "https://actions.globus.org/transfer/transfer", body)
    registry.close()
    assert final["status"] == "SUCCEEDED"
    assert target.read_text() == "secret"


def test_sync_level_skips_files_already_identical(registry, roots):
    (roots[1] / "a.txt").write_text("hello")
    body = dict(transfer_body(("/a.txt", "/a.txt")), sync_level=1)
    details = call(registry, "transfer", body)["details"]
    assert (details["files_skipped"], details["files_transferred"]) == (1, 0)


def test_same_request_returns_the_same_transfer_action(registry):
    body = transfer_body(("/a.txt", "/b.txt"))
    first = call(registry, "transfer", body)
    again = registry.provider_for(T + "transfer").run({"request_id": "run:State:0", "body": body})
    assert again["action_id"] == first["action_id"] and again["status"] == "SUCCEEDED"


def test_malformed_transfer_body_is_refused(registry):
    with pytest.raises(ActionProviderError) as caught:
        registry.provider_for(T + "transfer").run(
            {"request_id": "r", "body": {"source_endpoint": SRC}}
        )
    assert caught.value.http_status == 400
    assert "destination_endpoint" in str(caught.value)


def test_cancel_before_copying_fails_the_task_and_copies_nothing(roots):
    src, dst = roots
    service = LocalTransferService(LocalCollections({SRC: str(src), DST: str(dst)}), max_workers=1)
    gate = threading.Event()
    service.submit(gate.wait, 30)  # keeps the only worker busy, so the transfer waits in line
    provider = service.provider("transfer")
    started = provider.run({"request_id": "c", "body": transfer_body(("/a.txt", "/b.txt"))})
    canceled = provider.cancel(started["action_id"])
    gate.set()
    service.close()
    assert canceled["status"] == "FAILED"
    assert canceled["details"]["fatal_error"]["code"] == "CANCELED"
    assert not (dst / "b.txt").exists()


def test_delete_needs_recursive_for_directories(registry, roots):
    src, _ = roots
    body = {"endpoint": SRC, "DATA": [{"path": "/data"}]}
    refused = call(registry, "delete", body, "first")
    assert refused["status"] == "FAILED"
    assert refused["details"]["fatal_error"]["code"] == "IS_A_DIRECTORY"
    assert (src / "data").is_dir()
    done = call(registry, "delete", dict(body, recursive=True), "second")
    assert done["status"] == "SUCCEEDED" and done["details"]["type"] == "DELETE"
    assert not (src / "data").exists()


def test_delete_missing_paths_and_the_root(registry, roots):
    missing = call(registry, "delete", {"endpoint": SRC, "DATA": [{"path": "/gone"}]}, "a")
    assert missing["details"]["fatal_error"]["code"] == "FILE_NOT_FOUND"
    ignored = call(
        registry,
        "delete",
        {"endpoint": SRC, "DATA": [{"path": "/gone"}], "ignore_missing": True},
        "b",
    )
    assert ignored["status"] == "SUCCEEDED"
    root = call(
        registry, "delete", {"endpoint": SRC, "DATA": [{"path": "/~/"}], "recursive": True}, "c"
    )
    assert root["details"]["fatal_error"]["code"] == "PERMISSION_DENIED"
    assert (roots[0] / "a.txt").exists()


def test_ls_lists_entries_with_type_and_size(registry):
    final = call(registry, "ls", {"endpoint_id": SRC, "path": "/~/"})
    assert final["status"] == "SUCCEEDED"
    entries = {entry["name"]: entry for entry in final["details"]["DATA"]}
    assert set(entries) == {"a.txt", "data"}
    assert entries["a.txt"]["type"] == "file" and entries["a.txt"]["size"] == 5
    assert entries["data"]["type"] == "dir"
    assert final["details"]["total"] == 2 and final["details"]["path"] == "/"


def test_ls_limit_keeps_total_and_legacy_marks_folders(registry):
    limited = call(registry, "ls", {"endpoint_id": SRC, "path": "/", "limit": 1})
    assert (limited["details"]["length"], limited["details"]["total"]) == (1, 2)
    legacy = call(
        registry, "https://actions.globus.org/transfer/ls", {"endpoint_id": SRC, "path": "/"}
    )
    assert {entry["name"]: entry["is_folder"] for entry in legacy["details"]["DATA"]} == {
        "a.txt": False,
        "data": True,
    }


def test_ls_of_a_missing_directory_fails(registry):
    final = call(registry, "ls", {"endpoint_id": SRC, "path": "/missing"})
    assert final["status"] == "FAILED"
    assert final["details"]["code"] == "ClientError.NotFound"


def test_stat_reports_type_or_not_found(registry):
    assert (
        call(registry, "stat", {"endpoint_id": SRC, "path": "/a.txt"}, "1")["details"]["type"]
        == "file"
    )
    assert (
        call(registry, "stat", {"endpoint_id": SRC, "path": "/~/data/"}, "2")["details"]["type"]
        == "dir"
    )
    missing = call(registry, "stat", {"endpoint_id": DST, "path": "/~/destination-directory"}, "3")
    assert missing["status"] == "SUCCEEDED"
    assert missing["details"]["code"] == "NotFound"
    outside = call(registry, "stat", {"endpoint_id": SRC, "path": "/../outside.txt"}, "4")
    assert outside["status"] == "FAILED"
    assert outside["details"]["code"] == "EndpointPermissionDenied"


def test_mkdir_creates_once(registry, roots):
    created = call(registry, "mkdir", {"endpoint_id": DST, "path": "/~/new/"}, "1")
    assert created["details"]["code"] == "DirectoryCreated"
    assert (roots[1] / "new").is_dir()
    exists = call(registry, "mkdir", {"endpoint_id": DST, "path": "/new"}, "2")
    assert exists["status"] == "FAILED"
    assert exists["details"]["code"] == "ExternalError.MkdirFailed.Exists"


def test_collection_info_answers_locally(registry, roots):
    mapped = call(registry, "collection_info", {"endpoint_id": DST}, "1")["details"]
    assert mapped["DATA_TYPE"] == "endpoint" and mapped["id"] == DST
    assert mapped["entity_type"] == "GCSv5_guest_collection"
    assert mapped["local_root"] == os.path.realpath(roots[1])
    whole = ProviderRegistry(collections={"*": "/"})
    unmapped = call(whole, "collection_info", {"endpoint_id": "elsewhere"}, "2")["details"]
    whole.close()
    assert unmapped["entity_type"] == "GCSv5_mapped_collection"
    assert (unmapped["id"], unmapped["local_root"]) == ("elsewhere", "/")


def test_manage_permission_creates_and_deletes_rules(registry):
    body = {
        "endpoint_id": DST,
        "path": "/",
        "operation": "CREATE",
        "permissions": "r",
        "principal_type": "identity",
        "principal": "46bd0f56-e24f-11e5-a510-131bef46955c",
    }
    created = call(registry, "manage_permission", body, "1")
    assert created["details"]["code"] == "Created"
    rule_id = created["details"]["access_id"]
    assert registry.transfer.permissions[rule_id]["principal"] == body["principal"]
    deleted = call(
        registry,
        "manage_permission",
        {"endpoint_id": DST, "operation": "DELETE", "rule_id": rule_id},
        "2",
    )
    assert deleted["details"]["code"] == "Deleted"
    assert rule_id not in registry.transfer.permissions
    with pytest.raises(ActionProviderError):
        registry.provider_for(T + "manage_permission").run(
            {"request_id": "3", "body": dict(body, principal_type="everyone")}
        )


def test_collections_come_from_the_environment(roots, monkeypatch):
    src, _ = roots
    monkeypatch.setenv("GLADIER_LOCAL_COLLECTIONS", f'{{"env-col": "{src}"}}')
    registry = ProviderRegistry()
    try:
        final = call(registry, "stat", {"endpoint_id": "env-col", "path": "/a.txt"})
        assert final["details"]["size"] == 5
    finally:
        registry.close()


@pytest.mark.parametrize(
    "filter_, names",
    [
        ("type:dir", ["data"]),
        ("name:~*.txt", ["a.txt"]),
        ("name:!~*.txt/type:!file", ["data"]),
        ({"name": ["a.txt", "zzz"]}, ["a.txt"]),
    ],
)
def test_ls_filters_by_name_and_type(registry, filter_, names):
    final = call(registry, "ls", {"endpoint_id": SRC, "path": "/", "filter": filter_})
    assert [entry["name"] for entry in final["details"]["DATA"]] == names


def test_ls_refuses_filters_it_cannot_apply(registry):
    with pytest.raises(ActionProviderError) as caught:
        registry.provider_for(T + "ls").run(
            {"request_id": "r", "body": {"endpoint_id": SRC, "path": "/", "filter": "size:>10"}}
        )
    assert "size:>10" in str(caught.value)


def test_home_paths_on_the_whole_filesystem_resolve_in_the_home_directory(tmp_path,
                                                                          monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "notes.txt").write_text("home")
    collections = LocalCollections({"*": "/"})
    assert collections.resolve("any", "/~/notes.txt") == str(tmp_path / "notes.txt")
    assert collections.resolve("any", "notes.txt") == str(tmp_path / "notes.txt")
    assert collections.resolve("any", "/etc/../tmp") == "/tmp"


def test_collection_options_set_display_name_and_entity_type(tmp_path):
    collections = LocalCollections(
        {
            "c": {
                "root": str(tmp_path),
                "display_name": "Lab",
                "entity_type": "GCSv5_mapped_collection",
            }
        }
    )
    info = collections.info("c")
    assert (info["display_name"], info["entity_type"]) == ("Lab", "GCSv5_mapped_collection")
    assert collections.resolve("c", "/~/x/../y") == os.path.join(os.path.realpath(tmp_path), "y")


def transfer_flow(source_path, destination_path):
    return {
        "StartAt": "Move",
        "States": {
            "Move": {
                "Type": "Action",
                "ActionUrl": T + "transfer",
                "Parameters": transfer_body((source_path, destination_path)),
                "ResultPath": "$.transfer",
                "End": True,
            }
        },
    }


@pytest.fixture
def mapped_engine(tmp_path, roots):
    """A real engine whose two collections are the ``roots`` directories."""
    from gladier.engine import LocalEngine

    src, dst = roots
    with LocalEngine(str(tmp_path / "runs.db"), time_scale=0.01,
                     collections={SRC: str(src), DST: str(dst)}) as engine:
        yield engine


def run_to_end(engine, definition):
    flow = engine.create_flow(definition)
    return engine.wait(engine.run_flow(flow["id"], {"input": {}})["run_id"], timeout=30)


def test_flow_transfer_into_a_destination_link_fails_the_run_and_writes_nothing_outside(
    mapped_engine, roots, outside
):
    dst = roots[1]
    (dst / "target").mkdir()
    os.symlink(outside, dst / "target" / "nested")
    run = run_to_end(mapped_engine, transfer_flow("/data", "/target"))
    assert run["status"] == "FAILED"
    error = run["details"]["details"]
    assert error["exception"] == "ActionFailedException"
    assert error["output"]["details"]["fatal_error"]["code"] == "PERMISSION_DENIED"
    assert error["cause"].endswith(
        f"Path '/target/nested' on collection {DST} follows a symbolic link out of its root"
    )
    assert sorted(os.listdir(outside)) == ["kept.txt"]


def test_run_error_of_a_refused_transfer_quotes_the_refusal_in_full(mapped_engine, roots):
    run = run_to_end(mapped_engine, transfer_flow("/data", "/../x"))
    assert run["details"]["details"]["cause"] == (
        "The action of state 'Move' failed: PERMISSION_DENIED: "
        f"Path '/../x' leaves the root of collection {DST}"
    )


def _corrupting_copies(monkeypatch, times):
    """shutil.copyfileobj that flips the first byte of its first ``times`` copies: a fault
    on the wire, as verify_checksum is there to catch."""
    real = shutil.copyfileobj
    left = {"n": times}

    def copyfileobj(reader, writer, *args, **kwargs):
        result = real(reader, writer, *args, **kwargs)
        if left["n"] > 0:
            left["n"] -= 1
            writer.flush()
            first = os.pread(writer.fileno(), 1, 0)
            os.pwrite(writer.fileno(), bytes([first[0] ^ 0xFF]), 0)
        return result

    monkeypatch.setattr(shutil, "copyfileobj", copyfileobj)


def test_verify_checksum_copies_a_mismatched_file_again(registry, roots, monkeypatch):
    src, dst = roots
    _corrupting_copies(monkeypatch, times=1)
    body = dict(transfer_body(("/a.txt", "/b.txt")), verify_checksum=True)
    final = call(registry, "transfer", body)
    assert final["status"] == "SUCCEEDED", final["details"]
    assert (dst / "b.txt").read_bytes() == b"hello"
    assert final["details"]["bytes_checksummed"] == 10  # both copies were checksummed


def test_verify_checksum_fails_the_task_when_copies_keep_mismatching(
        registry, roots, monkeypatch):
    src, dst = roots
    (dst / "b.txt").write_text("previous")
    _corrupting_copies(monkeypatch, times=2)
    body = dict(transfer_body(("/a.txt", "/b.txt")), verify_checksum=True)
    final = call(registry, "transfer", body)
    assert final["status"] == "FAILED"
    error = final["details"]["fatal_error"]
    assert error["code"] == "VERIFY_CHECKSUM"
    assert "/b.txt" in error["description"]
    assert (dst / "b.txt").read_text() == "previous"  # a bad copy never replaces it
    assert [p.name for p in dst.iterdir()] == ["b.txt"]  # and no partial file is left


def test_without_verify_checksum_nothing_is_checksummed(registry, roots, monkeypatch):
    _corrupting_copies(monkeypatch, times=1)
    final = call(registry, "transfer", transfer_body(("/a.txt", "/b.txt")))
    assert final["status"] == "SUCCEEDED"
    assert final["details"]["bytes_checksummed"] == 0


# Confinement by default -----------------------------------------------------------------

UNMAPPED = "0c8f6c2e-3d2b-4f4e-9a51-1e6f0f1f2a3b"


@pytest.mark.parametrize("route, body", [
    ("transfer", transfer_body(("{outside}", "/copied"), source=UNMAPPED)),
    ("transfer", transfer_body(("/a.txt", "{tmp}/copied"), destination=UNMAPPED)),
    ("delete", {"endpoint": UNMAPPED, "DATA": [{"path": "{outside}"}]}),
    ("ls", {"endpoint_id": UNMAPPED, "path": "/"}),
    ("stat", {"endpoint_id": UNMAPPED, "path": "/etc/passwd"}),
    ("mkdir", {"endpoint_id": UNMAPPED, "path": "{tmp}/made-by-a-flow"}),
    ("collection_info", {"endpoint_id": UNMAPPED}),
])
def test_an_unmapped_collection_is_refused_before_anything_is_read_or_written(
        registry, roots, tmp_path, route, body):
    import json

    before = sorted(str(p) for p in tmp_path.rglob("*"))
    body = json.loads(json.dumps(body).replace("{outside}", str(tmp_path / "outside.txt"))
                      .replace("{tmp}", str(tmp_path)))
    provider = registry.provider_for(T + route)
    with pytest.raises(ActionProviderError) as refused:
        provider.run({"request_id": "r", "body": body})
    message = str(refused.value)
    assert f"Collection {UNMAPPED} is not mapped" in message
    assert "GLADIER_LOCAL_COLLECTIONS" in message and '"*": "/"' in message
    assert refused.value.body["code"] == "CollectionNotMapped"
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before  # nothing made or removed


@pytest.mark.parametrize("spelling", [SRC.upper(), f" {SRC}\t", "{%s}" % SRC, SRC.replace("-", "")])
def test_another_spelling_of_a_mapped_id_is_the_same_confined_collection(
        registry, roots, tmp_path, spelling):
    """The red-team pass read a file outside the roots with the mapped id upper-cased."""
    body = transfer_body(("/a.txt", "/in.txt"), ("/../outside.txt", "/out.txt"), source=spelling)
    final = call(registry, "transfer", body)
    assert final["status"] == "FAILED"
    assert final["details"]["fatal_error"]["code"] == "PERMISSION_DENIED"
    assert not (roots[1] / "out.txt").exists() and not (roots[1] / "in.txt").exists()
    good = call(registry, "transfer", transfer_body(("/a.txt", "/in.txt"), source=spelling), "2")
    assert good["status"] == "SUCCEEDED" and (roots[1] / "in.txt").read_text() == "hello"


def test_a_star_mapping_confines_every_other_collection_to_its_directory(tmp_path, roots):
    registry = ProviderRegistry(collections={SRC: str(roots[0]), "*": str(roots[1])})
    final = call(registry, "transfer", transfer_body(("/a.txt", "/x/a.txt"), destination=UNMAPPED))
    escaped = call(registry, "transfer",
                   transfer_body(("/a.txt", "/../escaped.txt"), destination=UNMAPPED), "2")
    registry.close()
    assert final["status"] == "SUCCEEDED" and (roots[1] / "x" / "a.txt").read_text() == "hello"
    assert escaped["status"] == "FAILED" and not (tmp_path / "escaped.txt").exists()


class SwappingOpen:
    """``os.open`` that, when the task opens the source file named ``trigger``, first
    swaps directory ``swap`` for a symbolic link to ``target``: the race of a person who
    replaces a directory while a task copies it."""

    def __init__(self, monkeypatch, *, trigger: str, swap, target):
        self.real_open = os.open
        self.trigger, self.swap, self.target = trigger, swap, target
        self.swapped = False
        monkeypatch.setattr(os, "open", self)

    def __call__(self, path, flags, mode=0o777, *, dir_fd=None):
        if not self.swapped and str(path).endswith(self.trigger):
            self.swapped = True
            os.rename(self.swap, str(self.swap) + ".moved")
            os.symlink(self.target, self.swap)
        return self.real_open(path, flags, mode, dir_fd=dir_fd)


def test_a_source_swapped_for_a_link_mid_task_does_not_lead_the_copy_out(
        registry, roots, tmp_path, monkeypatch):
    """Sources were confined once, at the start of a task: a link swapped in after the
    first file was copied was followed outside the root. Now each file is checked where
    it is opened."""
    src, dst = roots
    (tmp_path / "elsewhere.txt").write_text("not yours")
    SwappingOpen(monkeypatch, trigger="a.txt", swap=src / "data" / "one.txt",
                 target=tmp_path / "elsewhere.txt")
    final = call(registry, "transfer",
                 transfer_body(("/a.txt", "/a.txt"), ("/data/one.txt", "/one.txt")))
    assert "not yours" not in [p.read_text() for p in dst.rglob("*.txt")]
    assert final["status"] == "FAILED", final["details"]
    assert final["details"]["fatal_error"]["code"] == "PERMISSION_DENIED"
    assert "follows a symbolic link out of its root" in \
        final["details"]["fatal_error"]["description"]


def test_a_directory_swapped_for_a_link_mid_task_is_not_copied(registry, roots, tmp_path,
                                                                monkeypatch):
    src, dst = roots
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "two.txt").write_text("not yours")
    SwappingOpen(monkeypatch, trigger="one.txt", swap=src / "data" / "nested",
                 target=tmp_path / "elsewhere")
    final = call(registry, "transfer", transfer_body(("/data/", "/copy/")))
    assert "not yours" not in [p.read_text() for p in dst.rglob("*.txt")]
    assert final["status"] == "SUCCEEDED"


def test_a_destination_swapped_for_a_link_mid_task_is_not_written_through(
        registry, roots, tmp_path, monkeypatch):
    src, dst = roots
    (dst / "copy" / "nested").mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    SwappingOpen(monkeypatch, trigger="two.txt", swap=dst / "copy" / "nested",
                 target=elsewhere)
    final = call(registry, "transfer", transfer_body(("/data/", "/copy/")))
    assert os.listdir(elsewhere) == []
    assert final["status"] == "FAILED", final["details"]
    assert final["details"]["fatal_error"]["code"] == "PERMISSION_DENIED"
