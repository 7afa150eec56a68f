"""The SQLite store on its own: atomic request de-duplication across threads."""

import concurrent.futures

from conftest import ALICE_ID, urn

from action_store import ActionStore
from globus_action_provider_tools import ActionStatus, ActionStatusValue


def _action(text: str) -> ActionStatus:
    return ActionStatus(
        status=ActionStatusValue.SUCCEEDED, creator_id=urn(ALICE_ID), details={"you_said": text}
    )


def test_concurrent_adds_of_one_request_id_keep_exactly_one_action(tmp_path):
    store = ActionStore(str(tmp_path / "actions.db"))
    candidates = [_action(f"try {n}") for n in range(8)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda a: store.add("same-id", "fp", a), candidates))

    winners = [action for action, result in zip(candidates, results) if result is None]
    assert len(winners) == 1
    kept = winners[0].action_id
    assert {result.action_id for result in results if result is not None} == {kept}
    stored = [a.action_id for a in candidates if store.get(a.action_id) is not None]
    assert stored == [kept]


def test_removing_an_action_forgets_its_request_id(tmp_path):
    store = ActionStore(str(tmp_path / "actions.db"))
    action = _action("bye")
    store.add("r1", "fp", action)
    store.remove(action.action_id)
    assert store.get(action.action_id) is None
    assert store.find_request(urn(ALICE_ID), "r1") is None


def test_with_statuses_selects_by_status_in_creation_order(tmp_path):
    store = ActionStore(str(tmp_path / "actions.db"))
    first, second = _action("one"), _action("two")
    store.add("r1", "fp1", first)
    store.add("r2", "fp2", second)
    store.update(second.copy(update={"status": ActionStatusValue.FAILED}))
    succeeded = store.with_statuses({ActionStatusValue.SUCCEEDED})
    assert [a.action_id for a in succeeded] == [first.action_id]
    both = store.with_statuses({ActionStatusValue.SUCCEEDED, ActionStatusValue.FAILED})
    assert [a.action_id for a in both] == [first.action_id, second.action_id]


def test_the_store_and_its_journal_are_created_owner_only(tmp_path):
    import os
    import stat

    path = tmp_path / "actions.db"
    ActionStore(str(path)).forget_expired()
    assert {stat.S_IMODE(os.stat(p).st_mode) for p in tmp_path.iterdir()} == {0o600}
