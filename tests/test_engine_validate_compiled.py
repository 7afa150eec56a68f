"""The compiled flow-schema validator (jsonschema-rs) that says whether a definition is
valid must agree with ``jsonschema``, which words the problems: validation is exactly
as strict with it. Checked on Globus's example flows and on thousands of random
changes to them (values replaced by other JSON values, keys dropped or added, strings
that end in a newline), each judged by both.
"""

from __future__ import annotations

import copy
import json
import random

import jsonschema

from corpus import CORPUS
from gladier.engine.validate import _schema_valid, flow_definition_schema, validate_flow

SEED = 20261205
MUTATIONS = 3000
VALUES = [None, True, False, 0, -1, 1.0, 2.5, "", "x", "$", "$.a", "$.a.b", "a.$\n",
          "https://x.org/", "urn:globus:flows:handle:1", "Pass", "Action", "Choice", "Wait",
          "Fail", "ExpressionEval", "States.ALL", [], ["States.ALL"], ["a", "a"], {},
          {"Type": "Pass"}, {"Type": "Pass", "End": True}, {"x.$": "$.a"}, {"x.$": 1},
          {"x.=": "1 + 1"}, {"Type": "ActionProvider", "Url": "https://x.org/"}]
KEYS = ["Type", "Next", "End", "ResultPath", "InputPath", "Parameters", "Result", "Comment",
        "ActionUrl", "Handler", "WaitTime", "Catch", "Choices", "Default", "Seconds",
        "x.$", "x.=", "x.$\n", "__Private_Parameters", "bogus"]


def definitions() -> list[dict]:
    return [json.loads(path.read_text()) for path in sorted(CORPUS.glob("*/definition.json"))]


def containers(node, found):
    if isinstance(node, dict):
        found.append(node)
        for value in node.values():
            containers(value, found)
    elif isinstance(node, list):
        found.append(node)
        for value in node:
            containers(value, found)
    return found


def mutated(definition: dict, rng: random.Random) -> dict:
    changed = copy.deepcopy(definition)
    for _ in range(rng.randint(1, 3)):
        node = rng.choice(containers(changed, []))
        if isinstance(node, dict):
            action = rng.random()
            if node and action < 0.4:
                node[rng.choice(list(node))] = copy.deepcopy(rng.choice(VALUES))
            elif node and action < 0.6:
                del node[rng.choice(list(node))]
            else:
                node[rng.choice(KEYS)] = copy.deepcopy(rng.choice(VALUES))
        elif node:
            node[rng.randrange(len(node))] = copy.deepcopy(rng.choice(VALUES))
    return changed


def test_the_compiled_validator_agrees_with_jsonschema_on_example_flows_and_their_changes():
    reference = jsonschema.Draft7Validator(flow_definition_schema())
    rng = random.Random(SEED)
    originals = definitions()
    assert len(originals) >= 5
    cases = originals + [mutated(rng.choice(originals), rng) for _ in range(MUTATIONS)]
    verdicts = {True: 0, False: 0}
    for case in cases:
        expected = reference.is_valid(case)
        verdicts[expected] += 1
        assert _schema_valid(case, json.dumps(case)) in (expected, False), case
        # False where jsonschema says valid only sends the definition to jsonschema: the
        # verdict is the same; it must be rare, or the compiled check would not help
        if expected and "\\n\"" not in json.dumps(case):
            assert _schema_valid(case, json.dumps(case)), case
    assert verdicts[True] > 100 and verdicts[False] > 100, verdicts


def test_a_key_ending_in_a_newline_is_checked_as_python_reads_its_pattern():
    flow = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True,
                                              "Parameters": {"x.$\n": 5}}}}
    problems = []
    try:
        validate_flow(flow)
    except Exception as err:  # FlowValidationError
        problems = err.problems  # type: ignore[attr-defined]
    assert problems and "is not of type 'string'" in problems[0]["message"]
