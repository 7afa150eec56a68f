"""ComputeManager registers functions with Globus Compute, tracked by checksum.

globus_compute_sdk registers through ``globus_sdk.ComputeClientV3.register_function``, so
the Compute web service answers with that method's globus_sdk.testing canned response; a
second registration's answer (another id) is added by hand in the same shape.
"""

import json

import globus_sdk
import pytest
from globus_sdk.scopes import ComputeScopes
from globus_sdk.testing import get_response_set, load_response

from gladier.exc import FunctionObsolete, RegistrationException
from gladier.managers import CallbackLoginManager, ComputeManager

REGISTER = get_response_set(globus_sdk.ComputeClientV3.register_function).lookup("default")
FIRST_ID = REGISTER.json["function_uuid"]
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


def answer_registrations(mocked_responses, second_id=None):
    """The canned registration answer (FIRST_ID), then ``second_id`` if given."""
    load_response(globus_sdk.ComputeClientV3.register_function)
    if second_id:
        mocked_responses.add(REGISTER.method, REGISTER.full_url,
                             json={"function_uuid": second_id})


def registrations(mocked_responses):
    return [json.loads(c.request.body) for c in mocked_responses.calls
            if c.request.url == REGISTER.full_url]


def test_new_function_is_registered_and_its_id_and_checksum_stored(
        mocked_responses, manager, config_section):
    answer_registrations(mocked_responses)
    function = reconstruct_v1()

    ids = manager.get_function_ids([ReconstructionTool(function)])

    assert ids == {"reconstruct_function_id": FIRST_ID}
    [body] = registrations(mocked_responses)
    assert body["function_name"] == "reconstruct"
    assert mocked_responses.calls[0].request.headers["Authorization"] == "Bearer compute-token"
    assert config_section.get_value("reconstruct_function_id") == FIRST_ID
    assert config_section.get_value("reconstruct_function_id_checksum") == \
        manager.get_function_checksum(function)


def test_unchanged_function_is_not_registered_again(mocked_responses, manager):
    answer_registrations(mocked_responses)
    tool = ReconstructionTool(reconstruct_v1())
    manager.get_function_ids([tool])

    assert manager.get_function_ids([tool]) == {"reconstruct_function_id": FIRST_ID}
    assert len(registrations(mocked_responses)) == 1


def test_changed_function_source_is_registered_again(mocked_responses, manager, config_section):
    answer_registrations(mocked_responses, SECOND_ID)
    manager.get_function_ids([ReconstructionTool(reconstruct_v1())])

    ids = manager.get_function_ids([ReconstructionTool(reconstruct_v2())])

    assert ids == {"reconstruct_function_id": SECOND_ID}
    assert len(registrations(mocked_responses)) == 2
    assert config_section.get_value("reconstruct_function_id_checksum") == \
        manager.get_function_checksum(reconstruct_v2())


def test_changed_function_without_auto_registration_is_obsolete(
        mocked_responses, manager, config_section):
    answer_registrations(mocked_responses)
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
