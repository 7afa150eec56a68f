"""What Gladier 0.11 generates and the rest of this package must take as it is: Compute v3
states run on the embedded engine, "Comment": null validates, and the ResultPath two aliased
copies share is reported by ``gladier validate`` (with UniqueResultPaths as the way out)."""

import json
import pathlib
import subprocess
import sys

from gladier import GladierBaseClient, GladierBaseTool, generate_flow_definition
from gladier.flowgen.aliases import UniqueResultPaths

GLADIER = pathlib.Path(sys.executable).parent / "gladier"


def stage_file(workdir, name="raw.dat", **data):
    import os

    path = os.path.join(workdir, name)
    with open(path, "w") as handle:
        handle.write("frames\n")
    return path


def summarise(workdir, **data):
    """Sum the sizes of the staged files."""
    import os

    return sum(os.path.getsize(os.path.join(workdir, f)) for f in os.listdir(workdir))


@generate_flow_definition(modifiers={
    stage_file: {"user_endpoint_config": {"worker_init": "true"},
                 "resource_specification": {"num_nodes": 1}},
    summarise: {"WaitTime": 120},
})
class StageV3(GladierBaseTool):
    action_url = "https://compute.actions.globus.org/v3"
    compute_functions = [stage_file, summarise]
    required_input = ["workdir"]


@generate_flow_definition
class StageTool(GladierBaseTool):
    compute_functions = [stage_file]
    required_input = ["workdir"]


def validate(tmp_path, definition):
    path = tmp_path / "flow.json"
    path.write_text(json.dumps(definition))
    return subprocess.run([str(GLADIER), "validate", str(path)], capture_output=True, text=True)


def test_a_generated_compute_v3_flow_runs_on_the_embedded_engine(tmp_path):
    @generate_flow_definition
    class StageClient(GladierBaseClient):
        gladier_tools = [StageV3]

    workdir = tmp_path / "work"
    workdir.mkdir()
    client = StageClient(engine="local")
    state = client.get_flow_definition()["States"]["StageFile"]
    assert state["ActionUrl"] == "https://compute.actions.globus.org/v3"
    assert state["Parameters"]["user_endpoint_config"] == {"worker_init": "true"}
    run = client.run_flow(flow_input={"input": {"workdir": str(workdir)}})
    final = client.progress(run["run_id"], delay=0.05)
    assert final["status"] == "SUCCEEDED", final
    assert client.get_details(run["run_id"], "Summarise")["details"]["results"][0][
        "output"] == len("frames\n")
    assert (workdir / "raw.dat").read_text() == "frames\n"


def test_validate_accepts_the_null_comments_gladier_0_11_writes(tmp_path):
    definition = StageTool().get_flow_definition()
    assert definition["States"]["StageFile"]["Comment"] is None
    result = validate(tmp_path, definition)
    assert result.returncode == 0, result.stdout + result.stderr


def test_validate_warns_that_aliased_copies_write_the_same_result_path(tmp_path):

    @generate_flow_definition
    class TwoStages(GladierBaseClient):
        gladier_tools = [StageTool(alias="Raw"), StageTool(alias="Dark")]

    definition = TwoStages().get_flow_definition()
    assert definition["States"]["StageFileRaw"]["ResultPath"] == "$.StageFile"
    result = validate(tmp_path, definition)
    assert result.returncode == 0, result.stdout + result.stderr
    output = result.stdout + result.stderr
    assert "StageFileDark" in output and "$.StageFile is also written by state 'StageFileRaw'" \
        in output, output
    assert "UniqueResultPaths" in output


def test_unique_result_paths_alias_class_validates_without_that_warning(tmp_path):
    @generate_flow_definition
    class TwoStages(GladierBaseClient):
        alias_class = UniqueResultPaths
        gladier_tools = [f"{__name__}.StageTool:Raw", f"{__name__}.StageTool:Dark"]

    definition = TwoStages().get_flow_definition()
    assert definition["States"]["StageFileDark"]["ResultPath"] == "$.StageFileDark"
    result = validate(tmp_path, definition)
    assert result.returncode == 0 and "also written" not in result.stdout + result.stderr


def double(value, **data):
    return value * 2


def test_the_compute_state_object_emits_v3_and_runs_on_the_embedded_engine():
    from gladier import GladierClient
    from gladier.tools import Compute
    from gladier.tools.globus.compute import COMPUTE_V3_ACTION_URL

    step = Compute(function_to_call=double, action_url=COMPUTE_V3_ACTION_URL,
                   function_parameters={"value.$": "$.input.value"})
    definition = step.get_flow_definition()
    parameters = definition["States"]["Compute"]["Parameters"]
    assert parameters["endpoint_id.$"] == "$.input.compute_endpoint"
    assert parameters["tasks"][0]["kwargs"] == {"value.$": "$.input.value"}
    assert set(parameters["tasks"][0]) == {"function_id", "kwargs"}

    client = GladierClient(definition, engine="local")
    run = client.run_flow(flow_input={"input": {"value": 21}})
    final = client.progress(run["run_id"], delay=0.05)
    assert final["status"] == "SUCCEEDED", final
    assert client.get_details(run["run_id"], "Compute")["details"]["results"][0]["output"] == 42
