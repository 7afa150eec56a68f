"""An upgrade from Gladier 0.11 keeps what 0.11 stored: the real gladier==0.11.0 (in its own
virtualenv, see reference_gladier.py) writes its config and token files in a private HOME,
then this package reads them: flow id, function ids, input overrides and login."""

import importlib.util
import json
import os
import subprocess
import textwrap

import globus_sdk
import pytest
from globus_sdk.scopes import ComputeScopes, SpecificFlowScopes, TransferScopes

from gladier.managers import ConfidentialClientLoginManager, UserAppLoginManager
from gladier.managers.flows_manager import FLOWS_SCOPES
from gladier.storage.config import DEFAULT_CLIENT_ID
from reference_gladier import ReferenceUnavailable, reference_python

FLOW_ID = "24bc4997-b483-4c25-a19c-64b0afc00743"
FUNCTION_ID = "2f6c4a53-5d2a-4b8e-9e8f-7c1d3b5a9e01"
FLOW_SCOPE = str(SpecificFlowScopes(FLOW_ID).user)
COMPUTE_SCOPE = str(ComputeScopes.all)
SERVICE_ID = "7414f0b4-7d05-4bb6-bb00-076fa3f17cf5"
PASS_FLOW = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}

#: A client as 0.11 users write them; both packages import this same file.
CLIENT_MODULE = '''
from gladier import GladierBaseClient, GladierBaseTool, generate_flow_definition


def reconstruct(scan_path, **data):
    """Reconstruct one scan."""
    return scan_path


@generate_flow_definition
class ReconstructTool(GladierBaseTool):
    compute_functions = [reconstruct]
    required_input = ["scan_path"]
    flow_input = {"threshold": 3}


@generate_flow_definition
class ReconstructionClient(GladierBaseClient):
    """Reconstruct scans."""

    gladier_tools = [ReconstructTool]
'''

#: What a 0.11 user's earlier runs left: a deployed flow, a registered function, an
#: override, and tokens from a login (UserApp's SQLite file, or a confidential client's
#: config section). Written with 0.11's own objects.
WRITER = '''
import json, os, sys, time
from globus_sdk.token_storage import TokenStorageData
import legacy_client as m

scopes = json.loads(sys.argv[1])
client = m.ReconstructionClient()
client.storage.set_value("flow_id", {flow_id!r})
client.storage.set_value("flow_checksum", "checksum-0.11")
client.storage.set_value("reconstruct_function_id", {function_id!r})
client.storage.set_value("reconstruct_function_id_checksum",
                         client.compute_manager.get_compute_function_checksum(m.reconstruct))
client.storage.set_value("threshold", "9")
expires = int(time.time()) + 3600
tokens = {{server: dict(resource_server=server, scope=" ".join(names),
                        access_token=server + "-access", refresh_token=server + "-refresh",
                        token_type="Bearer", expires_at_seconds=expires)
          for server, names in scopes.items()}}
manager = client.login_manager
if hasattr(manager, "token_storage"):  # UserAppLoginManager
    manager.token_storage.store_token_data_by_resource_server({{
        server: TokenStorageData(identity_id="ae341a98-d274-11e5-b888-dbae3a8ba545", **data)
        for server, data in tokens.items()}})
else:  # ConfidentialClientLoginManager keeps tokens in the config file
    client.storage.write_tokens(tokens)
print(json.dumps({{"config": str(client.storage.filename),
                   "login_manager": type(manager).__name__}}))
'''.format(flow_id=FLOW_ID, function_id=FUNCTION_ID)

USER_SCOPES = {"flows.globus.org": FLOWS_SCOPES, "funcx_service": [COMPUTE_SCOPE],
               FLOW_ID: [FLOW_SCOPE]}


@pytest.fixture(scope="module")
def reference():
    try:
        return reference_python()
    except ReferenceUnavailable as error:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"the reference Gladier 0.11 could not be installed: {error}")


@pytest.fixture
def legacy_client(tmp_path):
    """The client module, as a file both interpreters import."""
    module_dir = tmp_path / "client_module"
    module_dir.mkdir()
    (module_dir / "legacy_client.py").write_text(CLIENT_MODULE)
    spec = importlib.util.spec_from_file_location(f"legacy_client_{id(tmp_path)}",
                                                  module_dir / "legacy_client.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module_dir, module


def write_with_reference(reference, module_dir, home, scopes, **env):
    environ = {k: v for k, v in os.environ.items() if not k.startswith("GLADIER_")}
    environ.update(HOME=str(home), PYTHONPATH=str(module_dir), **env)
    done = subprocess.run([str(reference), "-c", textwrap.dedent(WRITER), json.dumps(scopes)],
                          env=environ, cwd=home, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_upgrade_keeps_flow_function_ids_overrides_and_login(reference, legacy_client,
                                                              isolated_home, mocked_responses):
    module_dir, module = legacy_client
    written = write_with_reference(reference, module_dir, isolated_home, USER_SCOPES)
    assert written == {"config": str(isolated_home / ".gladier" / f"{DEFAULT_CLIENT_ID}.cfg"),
                       "login_manager": "UserAppLoginManager"}

    client = module.ReconstructionClient()

    assert client.engine == "globus" and FLOW_ID in client.engine_reason
    assert client.storage.config.path == isolated_home / ".gladier" / f"{DEFAULT_CLIENT_ID}.cfg"
    assert client.get_flow_id() == FLOW_ID
    assert isinstance(client.login_manager, UserAppLoginManager)
    assert client.login_manager.tokens_path == isolated_home / ".gladier" / \
        f"{DEFAULT_CLIENT_ID}.db"
    assert client.is_logged_in()  # every scope from 0.11's login, no new login
    authorizer = client.login_manager.get_manager_authorizers()[COMPUTE_SCOPE]
    assert authorizer.get_authorization_header() == "Bearer funcx_service-access"
    # the function id 0.11 registered is used as is: no call to Compute (none is mocked)
    assert client.get_input() == {"input": {"reconstruct_function_id": FUNCTION_ID,
                                            "threshold": "9"}}
    assert not mocked_responses.calls


def test_gladier_client_id_names_the_files_and_keeps_a_confidential_login(
        reference, legacy_client, isolated_home, monkeypatch, mocked_responses):
    module_dir, module = legacy_client
    transfer = {"transfer.api.globus.org": [str(TransferScopes.all)]}
    written = write_with_reference(reference, module_dir, isolated_home, transfer,
                                   GLADIER_CLIENT_ID=SERVICE_ID,
                                   GLADIER_CLIENT_SECRET="s3cret")
    assert written == {"config": str(isolated_home / ".gladier" / f"{SERVICE_ID}.cfg"),
                       "login_manager": "ConfidentialClientLoginManager"}
    assert f"[tokens_{SERVICE_ID}]" in (isolated_home / ".gladier" /
                                        f"{SERVICE_ID}.cfg").read_text()
    monkeypatch.setenv("GLADIER_CLIENT_ID", SERVICE_ID)
    monkeypatch.setenv("GLADIER_CLIENT_SECRET", "s3cret")

    client = module.ReconstructionClient()

    assert client.get_flow_id() == FLOW_ID
    assert isinstance(client.login_manager, ConfidentialClientLoginManager)
    authorizers = client.login_manager.get_authorizers()
    assert authorizers[str(TransferScopes.all)].get_authorization_header() == \
        "Bearer transfer.api.globus.org-access"
    assert not mocked_responses.calls


def test_gladier_client_id_without_a_secret_only_renames_the_files(
        reference, legacy_client, isolated_home, monkeypatch):
    """0.11 names the config file after GLADIER_CLIENT_ID even without a secret, and still
    logs the person in with the client's own (native app) client id."""
    module_dir, module = legacy_client
    written = write_with_reference(reference, module_dir, isolated_home, USER_SCOPES,
                                   GLADIER_CLIENT_ID=SERVICE_ID)
    monkeypatch.setenv("GLADIER_CLIENT_ID", SERVICE_ID)

    client = module.ReconstructionClient()

    assert written["login_manager"] == "UserAppLoginManager"
    assert str(client.storage.config.path) == written["config"]
    assert client.login_manager.client_id == DEFAULT_CLIENT_ID
    assert client.login_manager.tokens_path == isolated_home / ".gladier" / f"{SERVICE_ID}.db"
    assert client.is_logged_in()


def test_login_managers_take_0_11_arguments(tmp_path):
    params = globus_sdk.gare.GlobusAuthorizationParameters(session_required_single_domain=[
        "example.edu"])
    config = tmp_path / "client.cfg"

    user = UserAppLoginManager(DEFAULT_CLIENT_ID, "My App", params, storage=str(config))
    service = ConfidentialClientLoginManager(SERVICE_ID, "s3cret", str(config))

    assert (user.client_id, user.app_name, user.globus_auth_parameters) == (
        DEFAULT_CLIENT_ID, "My App", params)
    assert user.tokens_path == tmp_path / "client.db"
    assert service.client_id == SERVICE_ID and service.tokens_section == f"tokens_{SERVICE_ID}"
    assert not config.exists() and not user.tokens_path.exists()  # nothing written yet


def test_compute_manager_registers_functions_with_the_clients_group(mocked_responses,
                                                                    legacy_client):
    from globus_sdk.testing import load_response

    _, module = legacy_client
    group = "d1a9c6f6-7d8b-4e0f-9c1e-2b7a5e3f4c10"
    load_response(globus_sdk.ComputeClientV3.register_function)

    class GroupClient(module.ReconstructionClient):
        globus_group = group

    authorizers = {s: globus_sdk.AccessTokenAuthorizer("t")
                   for s in FLOWS_SCOPES + [COMPUTE_SCOPE]}
    client = GroupClient(authorizers=authorizers)

    assert client.compute_manager.group == group
    client.get_compute_function_ids()
    body = json.loads(mocked_responses.calls[0].request.body)
    assert body["group"] == group


def test_default_client_id_is_the_one_0_11_ships(reference):
    done = subprocess.run([str(reference), "-c", "import gladier; "
                           "print(gladier.GladierBaseClient.client_id)"],
                          capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == DEFAULT_CLIENT_ID == "f1631610-d9e4-4db2-81ba-7f93ad4414e3"
    from gladier import GladierBaseClient

    assert GladierBaseClient.client_id == DEFAULT_CLIENT_ID


def test_secret_config_filename_with_a_tilde_is_the_home_directory_here_not_in_0_11(
        reference, legacy_client, isolated_home):
    """What docs/upgrading.rst says: 0.11 does not expand ``~`` in secret_config_filename."""
    from gladier import GladierBaseClient

    module_dir, _ = legacy_client
    script = ("from gladier import GladierBaseClient\n"
              "class C(GladierBaseClient):\n"
              "    secret_config_filename = '~/.legacy.cfg'\n"
              f"    flow_definition = {PASS_FLOW!r}\n"
              "C()\n")
    environ = {k: v for k, v in os.environ.items() if not k.startswith("GLADIER_")}
    environ.update(HOME=str(isolated_home), PYTHONPATH=str(module_dir))
    work = isolated_home / "work"
    work.mkdir()
    done = subprocess.run([str(reference), "-c", script], env=environ, cwd=work,
                          capture_output=True, text=True, timeout=300)

    class C(GladierBaseClient):
        secret_config_filename = "~/.legacy.cfg"
        flow_definition = PASS_FLOW

    # 0.11 takes '~' literally, as a directory below the working directory
    assert done.returncode == 1
    assert "No such file or directory: '~/.legacy.cfg'" in done.stderr
    assert C().storage.config.path == isolated_home / ".legacy.cfg"
