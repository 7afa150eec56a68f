"""Flow generation for clients: tool loading, chaining, aliases and client modifiers.

Clients here are plain classes with ``gladier_tools`` (the decorator only needs that), so
these tests do not depend on gladier.client.
"""

import textwrap

import pytest

from gladier import GladierBaseTool, generate_flow_definition
from gladier.exc import (
    ConfigException,
    FlowGenException,
    FlowModifierException,
    StateNameConflict,
)
from gladier.flowgen import StatePrefixVariablePrefix, UniqueResultPaths, load_tools
from gladier.tools import PassState
from test_flowgen_schema_facts import assert_flows_schema_valid

TOOLS_MODULE = '''
from gladier import GladierBaseTool, generate_flow_definition


def tar(**data):
    """Archive tar_input."""


def untar(**data):
    pass


@generate_flow_definition(modifiers={tar: {"ExceptionOnActionFailure": True}})
class Tar(GladierBaseTool):
    compute_functions = [tar]
    required_input = ["tar_input", "compute_endpoint"]
    flow_input = {"tar_output": "/tmp/out.tgz"}


@generate_flow_definition
class UnTar(GladierBaseTool):
    compute_functions = [untar]
    required_input = ["untar_input", "compute_endpoint"]


class Publish(GladierBaseTool):
    """A hand-written two-state flow; the second state reads the first one's result."""
    flow_definition = {
        "StartAt": "Gather",
        "States": {
            "Gather": {
                "Type": "Action",
                "ActionUrl": "https://example.org/gather",
                "Parameters": {"dataset.$": "$.input.dataset"},
                "ResultPath": "$.Gather",
                "Next": "Ingest",
            },
            "Ingest": {
                "Type": "Action",
                "ActionUrl": "https://example.org/ingest",
                "InputPath": "$.Gather.details.results[0].output",
                "ResultPath": "$.Ingest",
                "End": True,
            },
        },
    }
    required_input = ["dataset"]


tar_instance = Tar()
'''


@pytest.fixture
def tools_module(tmp_path, monkeypatch):
    """A real importable module of tools, named by dotted strings in gladier_tools."""
    (tmp_path / "sample_tools.py").write_text(textwrap.dedent(TOOLS_MODULE))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "sample_tools"
    import sys

    sys.modules.pop("sample_tools", None)


def compute_state(state_name, function_id_input, *, exception_on_failure, comment=None,
                  result_path=None):
    """The generated Action state of a compute tool whose function id is in the input (a
    function without a docstring gets "Comment": null, as Gladier 0.11 writes)."""
    return {
        "Comment": comment,
        "Type": "Action",
        "ActionUrl": "https://compute.actions.globus.org",
        "ExceptionOnActionFailure": exception_on_failure,
        "Parameters": {
            "tasks": [
                {
                    "endpoint.$": "$.input.compute_endpoint",
                    "function.$": f"$.input.{function_id_input}",
                    "payload.$": "$.input",
                }
            ]
        },
        "ResultPath": result_path or f"$.{state_name}",
        "WaitTime": 300,
    }


def tar_state(state_name, result_path=None):
    return compute_state(state_name, "tar_function_id", exception_on_failure=True,
                         comment="Archive tar_input.", result_path=result_path)


def test_client_chains_tools_in_order_with_docstring_comment(tools_module):
    @generate_flow_definition
    class Client:
        """Archive, then unpack."""

        gladier_tools = [f"{tools_module}.Tar", f"{tools_module}.UnTar"]

    flow = Client().flow_definition
    assert flow == {
        "Comment": "Archive, then unpack.",
        "StartAt": "Tar",
        "States": {
            "Tar": {**tar_state("Tar"), "Next": "Untar"},
            "Untar": {**compute_state("Untar", "untar_function_id", exception_on_failure=False),
                      "End": True},
        },
    }
    assert_flows_schema_valid(flow)


def test_client_without_docstring_gets_a_comment_listing_states(tools_module):
    @generate_flow_definition
    class Client:
        gladier_tools = [f"{tools_module}.Tar"]

    assert Client().flow_definition["Comment"] == "Flow with states: Tar"


def test_client_accepts_classes_instances_strings_and_state_objects(tools_module):
    import sample_tools

    done = PassState(state_name="Done")

    @generate_flow_definition
    class Client:
        gladier_tools = [
            sample_tools.UnTar,
            f"{tools_module}.tar_instance",
            f"{tools_module}.Publish",
            done,
        ]

    flow = Client().flow_definition
    assert flow["StartAt"] == "Untar"
    assert flow["States"]["Untar"]["Next"] == "Tar"
    assert flow["States"]["Tar"]["Next"] == "Gather"
    assert flow["States"]["Ingest"]["Next"] == "Done"
    assert flow["States"]["Done"] == {"Type": "Pass", "ResultPath": "$.DoneResult", "End": True}
    assert_flows_schema_valid(flow)


def test_two_aliased_copies_share_their_result_path_as_in_gladier_0_11(tools_module):
    @generate_flow_definition
    class Client:
        """Two archives."""

        gladier_tools = [f"{tools_module}.Tar:First", f"{tools_module}.Tar:Second"]

    flow = Client().flow_definition
    assert flow == {
        "Comment": "Two archives.",
        "StartAt": "TarFirst",
        "States": {
            "TarFirst": {**tar_state("TarFirst", "$.Tar"), "Next": "TarSecond"},
            "TarSecond": {**tar_state("TarSecond", "$.Tar"), "End": True},
        },
    }
    assert_flows_schema_valid(flow)


def test_unique_result_paths_alias_class_keeps_copies_results_apart(tools_module):
    @generate_flow_definition
    class Client:
        alias_class = UniqueResultPaths
        gladier_tools = [f"{tools_module}.Tar:First", f"{tools_module}.Tar:Second"]

    states = Client().flow_definition["States"]
    assert states["TarFirst"] == {**tar_state("TarFirst"), "Next": "TarSecond"}
    assert states["TarSecond"] == {**tar_state("TarSecond"), "End": True}


def test_aliased_tool_prefixes_its_inputs_except_exempt_ones(tools_module):
    first, second = load_tools([f"{tools_module}.Tar:First", f"{tools_module}.Tar:Second"])
    assert first.get_required_input() == ["first_tar_input", "compute_endpoint"]
    assert second.get_flow_input() == {"second_tar_output": "/tmp/out.tgz"}
    assert first.get_original_inputs() == ["tar_input", "tar_output"]


def test_alias_renames_states_and_exact_input_references_only(tools_module):
    (publish,) = load_tools([f"{tools_module}.Publish:Again"])
    assert publish.get_flow_definition()["States"] == {
        "GatherAgain": {
            "Type": "Action",
            "ActionUrl": "https://example.org/gather",
            "Parameters": {"dataset.$": "$.input.again_dataset"},
            "ResultPath": "$.Gather",
            "Next": "IngestAgain",
        },
        "IngestAgain": {
            "Type": "Action",
            "ActionUrl": "https://example.org/ingest",
            "InputPath": "$.Gather.details.results[0].output",
            "ResultPath": "$.Ingest",
            "End": True,
        },
    }


def test_unique_result_paths_renames_references_to_its_own_results(tools_module):
    (publish,) = load_tools([f"{tools_module}.Publish:Again"], UniqueResultPaths)
    assert publish.get_flow_definition()["States"] == {
        "GatherAgain": {
            "Type": "Action",
            "ActionUrl": "https://example.org/gather",
            "Parameters": {"dataset.$": "$.input.again_dataset"},
            "ResultPath": "$.GatherAgain",
            "Next": "IngestAgain",
        },
        "IngestAgain": {
            "Type": "Action",
            "ActionUrl": "https://example.org/ingest",
            "InputPath": "$.GatherAgain.details.results[0].output",
            "ResultPath": "$.IngestAgain",
            "End": True,
        },
    }


def test_rename_state_matches_the_aliased_definition(tools_module):
    (publish,) = load_tools([f"{tools_module}.Publish:Again"])
    original = publish.flow_definition["States"]["Ingest"]
    name, state = publish.rename_state("Ingest", original)
    assert (name, state) == ("IngestAgain", publish.get_flow_definition()["States"][name])


def test_client_alias_class_decides_the_new_names(tools_module):
    @generate_flow_definition
    class Client:
        alias_class = StatePrefixVariablePrefix
        gladier_tools = [f"{tools_module}.Tar:Big"]

    flow = Client().flow_definition
    assert list(flow["States"]) == ["BigTar"]
    assert flow["States"]["BigTar"]["ResultPath"] == "$.Tar"


def test_same_tool_twice_without_alias_is_a_conflict_naming_the_fix(tools_module):
    @generate_flow_definition
    class Client:
        gladier_tools = [f"{tools_module}.Tar", f"{tools_module}.Tar"]

    with pytest.raises(StateNameConflict, match=r"\['Tar'\].*alias"):
        Client().flow_definition


def test_client_modifiers_apply_to_matching_states_of_every_copy(tools_module):
    @generate_flow_definition(modifiers={"tar": {"WaitTime": 30, "payload": "Untar"}})
    class Client:
        gladier_tools = [
            f"{tools_module}.UnTar",
            f"{tools_module}.Tar:First",
            f"{tools_module}.Tar:Second",
        ]

    states = Client().flow_definition["States"]
    for name in ("TarFirst", "TarSecond"):
        assert states[name]["WaitTime"] == 30
        assert states[name]["Parameters"]["tasks"][0]["payload.$"] == "$.Untar.details.results"
    assert states["Untar"]["WaitTime"] == 300


def test_client_modifier_value_naming_another_tools_function_is_an_input_key(tools_module):
    # Gladier 0.11 resolves function names within the modified function's own tool only.
    @generate_flow_definition(modifiers={"tar": {"payload": "untar"}})
    class Client:
        gladier_tools = [f"{tools_module}.UnTar", f"{tools_module}.Tar"]

    task = Client().flow_definition["States"]["Tar"]["Parameters"]["tasks"][0]
    assert task["payload.$"] == "$.input.untar"


def test_client_modifiers_must_be_a_dict():
    with pytest.raises(FlowModifierException, match="must be a dict"):

        @generate_flow_definition(modifiers=[("tar", {"WaitTime": 1})])
        class Client:
            gladier_tools = []


def test_client_modifier_for_a_hand_written_state_is_ignored_with_a_warning(tools_module):
    # As in Gladier 0.11, modifiers change the states of compute functions only.
    @generate_flow_definition(modifiers={"Ingest": {"WaitTime": 5}})
    class Client:
        gladier_tools = [f"{tools_module}.Publish"]

    with pytest.warns(UserWarning, match=r"\['Ingest'\] are ignored"):
        flow = Client().flow_definition
    assert "WaitTime" not in flow["States"]["Ingest"]


def test_unknown_client_modifier_warns_naming_the_client(tools_module):
    @generate_flow_definition(modifiers={"nope": {"WaitTime": 5}})
    class MyClient:
        gladier_tools = [f"{tools_module}.Tar"]

    with pytest.warns(UserWarning, match=r"Client .*MyClient.*\['nope'\] are ignored"):
        flow = MyClient().flow_definition
    assert flow["States"]["Tar"]["WaitTime"] == 300


def test_tool_without_flow_fails_when_the_flow_is_needed(tools_module):
    class NoFlow(GladierBaseTool):
        pass

    @generate_flow_definition
    class Client:
        gladier_tools = [NoFlow]

    with pytest.raises(FlowGenException, match="NoFlow.* has no flow definition"):
        Client().flow_definition


def test_tool_flow_without_start_at_is_a_flow_gen_exception_naming_the_tool():
    class NoStart(GladierBaseTool):
        flow_definition = {"States": {"Only": {"Type": "Pass", "End": True}}}

    @generate_flow_definition
    class Client:
        gladier_tools = [NoStart]

    with pytest.raises(FlowGenException, match=r"NoStart: flow_definition must be a dict "
                                               r"with 'StartAt'.*got \['States'\]"):
        Client().flow_definition


def test_chained_tool_returning_no_start_at_is_a_flow_gen_exception_naming_it(tools_module):
    import sample_tools

    class Headless(GladierBaseTool):
        def get_flow_definition(self):
            return {"States": {"Only": {"Type": "Pass", "End": True}}}

    @generate_flow_definition
    class Client:
        gladier_tools = [sample_tools.UnTar, Headless]

    with pytest.raises(FlowGenException, match="Headless.*no flow definition with StartAt"):
        Client().flow_definition


def test_client_instance_tools_are_used_when_present(tools_module):
    import sample_tools

    @generate_flow_definition
    class Client:
        gladier_tools = []

        @property
        def tools(self):
            return [sample_tools.UnTar(alias="Late")]

    assert list(Client().flow_definition["States"]) == ["UntarLate"]


def test_transition_states_hand_over_to_the_next_tool(tools_module):
    class Gate(GladierBaseTool):
        flow_definition = {
            "StartAt": "Check",
            "States": {
                "Check": {
                    "Type": "Choice",
                    "Choices": [{"Variable": "$.input.ok", "BooleanEquals": True, "Next": "Go"}],
                    "Default": "Stop",
                },
                "Go": {"Type": "Pass", "End": True},
                "Stop": {"Type": "Fail", "Error": "NotOk"},
            },
        }

    @generate_flow_definition
    class Client:
        gladier_tools = [Gate, f"{tools_module}.UnTar"]

    flow = Client().flow_definition
    assert flow["States"]["Go"] == {"Type": "Pass", "Next": "Untar"}
    assert flow["States"]["Stop"] == {"Type": "Fail", "Error": "NotOk"}
    assert_flows_schema_valid(flow)


def test_null_fields_written_by_a_tool_are_kept_as_gladier_0_11_keeps_them():
    class Sloppy(GladierBaseTool):
        flow_definition = {
            "StartAt": "Ping",
            "States": {
                "Ping": {
                    "Type": "Action",
                    "ActionUrl": "https://example.org/ping",
                    "Parameters": {"x": 1},
                    "InputPath": None,
                    "End": True,
                }
            },
        }

    @generate_flow_definition
    class Client:
        gladier_tools = [Sloppy]

    flow = Client().flow_definition
    assert flow["States"]["Ping"]["InputPath"] is None


@pytest.mark.parametrize(
    "reference, message",
    [
        ("no_such_module_xyz.Tool", "cannot import module 'no_such_module_xyz'"),
        ("sample_tools.Missing", "has no attribute 'Missing'"),
        ("sample_tools.Tar:not an alias", "alias after ':' must be a name"),
        ("sample_tools.tar_instance:Alias", "an alias needs a tool class"),
        ("sample_tools.tar", "is not a GladierBaseTool class"),
        ("Tar", "not a dotted import path"),
        (42, "is not a GladierBaseTool class"),
    ],
)
def test_bad_tool_references_name_the_reference(tools_module, reference, message):
    with pytest.raises(ConfigException, match=message) as raised:
        load_tools([reference])
    assert repr(reference) in str(raised.value)


def test_client_modifier_naming_a_function_of_an_aliased_tool_reads_that_copy(tmp_path,
                                                                              monkeypatch):
    (tmp_path / "two_step.py").write_text(textwrap.dedent('''
        from gladier import GladierBaseTool, generate_flow_definition

        def fetch(**data):
            pass

        def reduce(**data):
            pass

        @generate_flow_definition
        class FetchReduce(GladierBaseTool):
            compute_functions = [fetch, reduce]
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))

    @generate_flow_definition(modifiers={"reduce": {"payload": "fetch"}})
    class Client:
        gladier_tools = ["two_step.FetchReduce:Night", "two_step.FetchReduce:Day"]

    states = Client().flow_definition["States"]
    for copy in ("Night", "Day"):
        task = states[f"Reduce{copy}"]["Parameters"]["tasks"][0]
        assert task["payload.$"] == f"$.Fetch{copy}.details.results"
