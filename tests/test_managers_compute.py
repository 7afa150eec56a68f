"""ComputeManager registers functions with Globus Compute, tracked by checksum.

globus_sdk.testing has no Compute fixtures, so the Compute web service is answered with
``responses`` using its real response shape (``{"function_uuid": ...}``).
"""

import json

import globus_sdk
import pytest
from globus_sdk.scopes import ComputeScopes

from gladier.exc import FunctionObsolete, RegistrationException
from gladier.managers import CallbackLoginManager, ComputeManager

COMPUTE_URL = "https://compute.api.globus.org"
FIRST_ID = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"
SECOND_ID = "1a2b3c4d-5e6f-4a0b-9c1d-2e3f4a5b6c7d"


def reconstruct_v1():
    def reconstruct(data):
        return data
    return reconstruct


def reconstruct_v2():
    def reconstruct(data):
        return [data, data]
    return reconstruct


class ReconstructionTool:
    def __init__(self, *functions):
        self.compute_functions = list(functions)


@pytest.fixture
def compute_login():
    token = globus_sdk.AccessTokenAuthorizer("compute-token")
    return CallbackLoginManager({str(ComputeScopes.all): token})


@pytest.fixture
def manager(compute_login, config_section):
    return ComputeManager(login_manager=compute_login, storage=config_section)


def register_answers(mocked_responses, *function_ids):
    for function_id in function_ids:
        mocked_responses.add("POST", f"{COMPUTE_URL}/v3/functions",
                             json={"function_uuid": function_id})


def registrations(mocked_responses):
    return [json.loads(c.request.body) for c in mocked_responses.calls
            if c.request.url == f"{COMPUTE_URL}/v3/functions"]


def test_new_function_is_registered_and_its_id_and_checksum_stored(
        mocked_responses, manager, config_section):
    register_answers(mocked_responses, FIRST_ID)
    function = reconstruct_v1()

    ids = manager.get_function_ids([ReconstructionTool(function)])

    assert ids == {"reconstruct_function_id": FIRST_ID}
    [body] = registrations(mocked_responses)
    assert body["function_name"] == "reconstruct"
    assert mocked_responses.calls[0].request.headers["Authorization"] == "Bearer compute-token"
    assert config_section.get_value("reconstruct_function_id") == FIRST_ID
    assert config_section.get_value("reconstruct_function_checksum") == \
        manager.get_function_checksum(function)


def test_unchanged_function_is_not_registered_again(mocked_responses, manager):
    register_answers(mocked_responses, FIRST_ID)
    tool = ReconstructionTool(reconstruct_v1())
    manager.get_function_ids([tool])

    assert manager.get_function_ids([tool]) == {"reconstruct_function_id": FIRST_ID}
    assert len(registrations(mocked_responses)) == 1


def test_changed_function_source_is_registered_again(mocked_responses, manager, config_section):
    register_answers(mocked_responses, FIRST_ID, SECOND_ID)
    manager.get_function_ids([ReconstructionTool(reconstruct_v1())])

    ids = manager.get_function_ids([ReconstructionTool(reconstruct_v2())])

    assert ids == {"reconstruct_function_id": SECOND_ID}
    assert len(registrations(mocked_responses)) == 2
    assert config_section.get_value("reconstruct_function_checksum") == \
        manager.get_function_checksum(reconstruct_v2())


def test_changed_function_without_auto_registration_is_obsolete(
        mocked_responses, manager, config_section):
    register_answers(mocked_responses, FIRST_ID)
    manager.get_function_ids([ReconstructionTool(reconstruct_v1())])
    manager.auto_registration = False

    with pytest.raises(FunctionObsolete, match="ReconstructionTool: function reconstruct"):
        manager.get_function_ids([ReconstructionTool(reconstruct_v2())])
    assert config_section.get_value("reconstruct_function_id") == FIRST_ID


def test_unregistered_function_without_auto_registration_raises(mocked_responses, manager):
    manager.auto_registration = False

    with pytest.raises(RegistrationException, match="reconstruct is not registered"):
        manager.get_function_ids([ReconstructionTool(reconstruct_v1())])
    assert registrations(mocked_responses) == []


def test_checksums_differ_when_only_the_body_changes():
    assert ComputeManager.get_function_checksum(reconstruct_v1()) != \
        ComputeManager.get_function_checksum(reconstruct_v2())
