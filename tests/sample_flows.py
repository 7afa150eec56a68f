"""A small flow the CLI and progress tests share: a Pass, a Choice on the input, then a
Wait and a Pass for ``n > 2`` or a Fail otherwise."""

CHOICE_FLOW = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {"Type": "Pass", "Parameters": {"n.$": "$.input.n"}, "ResultPath": "$.prep",
                    "Next": "Decide"},
        "Decide": {"Type": "Choice",
                   "Choices": [{"Variable": "$.prep.n", "NumericGreaterThan": 2, "Next": "Nap"}],
                   "Default": "Stop"},
        "Nap": {"Type": "Wait", "Seconds": 2, "Next": "Done"},
        "Stop": {"Type": "Fail", "Error": "TooSmall", "Cause": "n must be over 2"},
        "Done": {"Type": "Pass", "End": True},
    },
}


def napping_for(seconds: float) -> dict:
    """CHOICE_FLOW with its Wait state lasting ``seconds`` (before any time scale)."""
    nap = {"Type": "Wait", "Seconds": seconds, "Next": "Done"}
    return {**CHOICE_FLOW, "States": {**CHOICE_FLOW["States"], "Nap": nap}}
