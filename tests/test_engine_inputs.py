import json

import pytest

from gladier.engine.inputs import input_errors, validate_input
from gladier.exc import FlowInputError
from corpus import CORPUS

needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"no flows corpus at {CORPUS}")
SCHEMA = {
    "type": "object",
    "required": ["input"],
    "additionalProperties": False,
    "properties": {"input": {
        "type": "object",
        "required": ["name"],
        "properties": {"bool": {"type": "boolean"}, "name": {"type": "string"},
                       "items": {"type": "array", "items": {"type": "integer"}}},
    }},
}


@pytest.mark.parametrize("sample", sorted(CORPUS.glob("*/sample_input.json")),
                         ids=lambda p: p.parent.name)
def test_every_corpus_sample_input_matches_its_input_schema(sample):
    schema = json.loads((sample.parent / "input_schema.json").read_text())
    validate_input(schema, json.loads(sample.read_text()))


@needs_corpus
def test_corpus_sample_with_a_broken_field_is_rejected_at_that_field():
    schema = json.loads((CORPUS / "simple" / "input_schema.json").read_text())
    body = json.loads((CORPUS / "simple" / "sample_input.json").read_text())
    body["source"]["id"] = 42
    with pytest.raises(FlowInputError) as info:
        validate_input(schema, body)
    assert info.value.errors == [{"loc": ["$.source.id"], "type": "InvalidActionInput",
                                  "msg": "42 is not of type 'string'"}]


def test_error_shape_matches_the_service():
    with pytest.raises(FlowInputError) as info:
        validate_input(SCHEMA, {"input": {"bool": "not-a-boolean", "name": "n"}})
    assert info.value.errors == [{"loc": ["$.input.bool"], "type": "InvalidActionInput",
                                  "msg": "'not-a-boolean' is not of type 'boolean'"}]
    assert str(info.value).startswith("Input failed schema validation with 1 error(s): $.input.bool")


def test_every_failing_location_is_listed():
    body = {"input": {"bool": 1, "items": [1, "two", 3.5]}, "extra": True}
    with pytest.raises(FlowInputError) as info:
        validate_input(SCHEMA, body)
    locations = [error["loc"][0] for error in info.value.errors]
    assert locations == ["$", "$.input.bool", "$.input.items[1]", "$.input.items[2]",
                         "$.input.name"]
    message = str(info.value)
    assert message.startswith("Input failed schema validation with 5 error(s)")
    for location in locations:
        assert location in message


def test_missing_required_key_is_located_at_the_key():
    errors = input_errors(SCHEMA, {})
    assert errors == [{"loc": ["$.input"], "type": "InvalidActionInput",
                       "msg": "'input' is a required property"}]


def test_no_schema_means_no_validation():
    validate_input(None, {"anything": object()})


def test_remote_references_are_never_fetched():
    schema = {"properties": {"x": {"$ref": "https://example.invalid/schema.json"}}}
    with pytest.raises(FlowInputError, match="cannot be used"):
        validate_input(schema, {"x": 1})


def test_local_references_and_declared_dialect_work():
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema",
              "$defs": {"id": {"type": "string"}},
              "properties": {"id": {"$ref": "#/$defs/id"}}}
    validate_input(schema, {"id": "x"})
    with pytest.raises(FlowInputError, match=r"\$\.id"):
        validate_input(schema, {"id": 1})


def test_invalid_schema_is_reported_as_input_error():
    with pytest.raises(FlowInputError, match="input schema is invalid"):
        validate_input({"type": "objekt"}, {})


def test_invalid_schema_is_reported_on_every_run_not_only_the_first():
    for _ in range(2):
        with pytest.raises(FlowInputError, match="input schema is invalid"):
            validate_input({"type": "objekt"}, {})


def test_same_schema_in_another_key_order_validates_the_same_way():
    first = {"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}}
    second = {"properties": {"n": {"type": "integer"}}, "required": ["n"], "type": "object"}
    assert input_errors(first, {"n": "x"}) == input_errors(second, {"n": "x"})
    assert input_errors(second, {"n": 1}) == []
    assert [e["loc"] for e in input_errors(second, {})] == [["$.n"]]
