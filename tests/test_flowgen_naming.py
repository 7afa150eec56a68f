"""Naming rules and the structural guard used by flow generation."""

import pytest

from gladier.flowgen import structural_problems
from gladier.flowgen.naming import (
    compute_state_name,
    function_checksum_key,
    function_id_key,
    snake_case,
    upper_camel_case,
)
from gladier.flowgen.parameters import normalize_parameters


@pytest.mark.parametrize(
    "snake, camel",
    [("make_dirs", "MakeDirs"), ("tar", "Tar"), ("publishv2_gather_metadata",
                                                  "Publishv2GatherMetadata")],
)
def test_snake_case_to_upper_camel_case(snake, camel):
    assert upper_camel_case(snake) == camel
    assert snake_case(camel) == snake


def test_snake_case_splits_acronyms():
    assert snake_case("HTTPDownload") == "http_download"
    assert snake_case("DoItAgain") == "do_it_again"


def test_function_names_for_states_and_config_keys():
    def make_dirs():
        pass

    assert compute_state_name(make_dirs) == "MakeDirs"
    assert function_id_key(make_dirs) == "make_dirs_function_id"
    assert function_checksum_key(make_dirs) == "make_dirs_function_id_checksum"


def test_normalize_parameters_marks_references_and_expressions_and_drops_none():
    assert normalize_parameters(
        {"a": "$.x", "b": "=1 + 2", "c.$": "y", "d": None, "e": [{"f": "$.z"}, None], "g": "="}
    ) == {"a.$": "$.x", "b.=": "1 + 2", "c.$": "$.y", "e": [{"f.$": "$.z"}], "g": "="}


def test_structural_problems_name_each_problem():
    definition = {
        "Comment": None,
        "StartAt": "Missing",
        "States": {
            "A": {"Type": "Pass", "Next": "Nowhere"},
            "B": {"Type": "Action", "Parameters": {"data": None}, "End": True, "Next": "A"},
            "C": {"Type": "Choice", "Choices": [{"Next": "Gone"}]},
        },
    }
    assert structural_problems(definition) == [
        "StartAt 'Missing' is not a defined state",
        "state 'A' goes to 'Nowhere', which is not defined",
        "state 'B' must have exactly one of Next or End: true",
        "state 'C' goes to 'Gone', which is not defined",
    ]
