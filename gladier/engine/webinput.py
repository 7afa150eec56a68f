"""Web inputs: a run asks people a question and waits for their answer.

A ``CreateWebInput`` state opens a web input from its resolved ``Parameters``
(``InputType`` "Selection", ``Context`` with ``Title``, ``PresentationStyle`` and ``Rows``
of ``Field``/``Value`` (or ``Text``), ``Options`` of ``Value``/``Label``/``Description``,
``RespondentUrns``) and stores ``{"web_input_id": ...}`` at its ``ResultPath``. An
``AwaitWebInput`` state (``Parameters.web_input_id``) waits until someone responds, then
stores ``{"web_input_id", "response"}``, where ``response`` is the chosen option's
``Value`` (what the Globus example flows compare in their Choice states).

Web input documents are shaped as the Flows service returns them from
``GET /web_inputs/{id}`` (``globus_sdk.FlowsClient.get_web_input``): each option gets an
``option_id``, and a response names one, as ``FlowsClient.respond_to_web_input`` does.
Locally a response may also name the option's ``Value``. The local user may respond to
every web input (there is no Globus Auth here to check ``RespondentUrns``).

The service expires unanswered web inputs (``Flows.WebInputExpired``) after a time it does
not document, so locally a web input expires only when asked to
(``LocalEngine.expire_web_input``): it closes like an answered one, and the store keeps an
expiry record where a response would be.

Pure functions; the run driver and the store do the waiting and the keeping.
"""

from __future__ import annotations

import typing as t
import uuid

from gladier.exc import FlowRuntimeError, WebInputError

#: Input types a web input may have (the only one the service documents so far).
INPUT_TYPES = {"Selection": "selection"}
OPEN = "open"
CLOSED = "closed"
#: Run ``details.code`` while a run waits for a response.
WAITING_CODE = "AwaitingWebInput"
#: The error an AwaitWebInput state raises when its web input expired (the service's name).
EXPIRED_ERROR = "Flows.WebInputExpired"


def _refuse(state_name: str, message: str) -> FlowRuntimeError:
    return FlowRuntimeError("States.Runtime", f"CreateWebInput state '{state_name}': {message}",
                            state_name=state_name)


def _context(context: t.Any, state_name: str) -> dict:
    if not isinstance(context, dict):
        raise _refuse(state_name, "Parameters.Context must be an object with a Title")
    shown: dict[str, t.Any] = {"title": context.get("Title"),
                               "presentation_style": str(context.get("PresentationStyle",
                                                                     "Text")).lower()}
    if "Rows" in context:
        rows = context["Rows"]
        if not isinstance(rows, list) or not all(isinstance(row, dict) and "Field" in row
                                                 for row in rows):
            raise _refuse(state_name, "Parameters.Context.Rows must be a list of "
                                      "{Field, Value} objects")
        shown["rows"] = [{"field": row["Field"], "value": row.get("Value")}
                         for row in rows]
    if "Text" in context:
        shown["text"] = context["Text"]
    return shown


def _options(options: t.Any, web_input_id: str, state_name: str) -> tuple[list, dict]:
    """The service-shaped options and the map option_id -> Value."""
    if not isinstance(options, list) or not options:
        raise _refuse(state_name, "Parameters.Options must be a non-empty list of "
                                  "{Value, Label, Description} objects")
    shown: list = []
    values: dict = {}
    for index, option in enumerate(options):
        if not isinstance(option, dict) or "Value" not in option:
            raise _refuse(state_name, f"Parameters.Options[{index}] needs a 'Value'")
        if option["Value"] in values.values():
            raise _refuse(state_name, f"Parameters.Options[{index}] repeats the Value "
                                      f"{option['Value']!r}")
        option_id = str(uuid.uuid5(uuid.UUID(web_input_id), str(index)))
        values[option_id] = option["Value"]
        shown.append({"option_id": option_id, "label": option.get("Label", option["Value"]),
                      "description": option.get("Description")})
    return shown, values


def open_web_input(parameters: t.Any, *, web_input_id: str, state_name: str, run: dict,
                   flow: dict, creator_urn: str, now: str) -> tuple[dict, dict]:
    """The new web input document and its option values, from a CreateWebInput state's
    resolved Parameters. Raises FlowRuntimeError (``States.Runtime``) naming what is wrong."""
    if not isinstance(parameters, dict):
        raise _refuse(state_name, "Parameters must be an object")
    input_type = parameters.get("InputType")
    if input_type not in INPUT_TYPES:
        raise _refuse(state_name, f"InputType {input_type!r} is not supported "
                                  f"(expected one of {sorted(INPUT_TYPES)})")
    options, values = _options(parameters.get("Options"), web_input_id, state_name)
    respondents = parameters.get("RespondentUrns", [])
    if not isinstance(respondents, list) or not all(isinstance(u, str) for u in respondents):
        raise _refuse(state_name, "Parameters.RespondentUrns must be a list of URNs")
    context = _context(parameters.get("Context"), state_name)
    document = {
        "id": web_input_id,
        "status": OPEN,
        "user_roles": ["viewer", "respondent"],
        "input_type": INPUT_TYPES[input_type],
        "input_schema": {
            "$schema": "http://json-schema.org/draft-07/schema",
            "title": context.get("title") or "Please select an option",
            "type": "string",
            "oneOf": [{"const": option["option_id"], "title": option["label"],
                       "description": option["description"]} for option in options],
        },
        "context": context,
        "options": options,
        "roles": {"viewer_urns": [creator_urn], "respondent_urns": list(respondents)},
        "creator_urn": creator_urn,
        "flow": {"id": flow.get("id"), "title": flow.get("title")},
        "run": {"id": run.get("id"), "label": run.get("label")},
        "created_timestamp": now,
        "edited_timestamp": now,
        "closed_timestamp": None,
    }
    return document, values


def choose_option(document: dict, values: dict, value: t.Any) -> str:
    """The option_id a response picks: an option_id, or (locally) an option's Value.

    Raises WebInputError with the service's codes: STATE_CONFLICT when the web input is
    closed, UNPROCESSABLE_ENTITY when the value is not one of its options.
    """
    web_input_id = document["id"]
    if document.get("status") != OPEN:
        raise WebInputError(f"Web Input {web_input_id} is already closed.",
                            code="STATE_CONFLICT")
    if isinstance(value, str) and value in values:
        return value
    matches = [option_id for option_id, option_value in values.items() if option_value == value]
    if len(matches) == 1:
        return matches[0]
    choices = ", ".join(f"{option['option_id']} ({values[option['option_id']]!r})"
                        for option in document.get("options", []))
    raise WebInputError(f"{value!r} is not a registered option id for web input "
                        f"{web_input_id}; choose one of: {choices}", code="UNPROCESSABLE_ENTITY")


def closed(document: dict, *, now: str) -> dict:
    """The document once answered or expired (the service knows only open and closed)."""
    return dict(document, status=CLOSED, closed_timestamp=now, edited_timestamp=now)


def expiry(*, expired_by: str, now: str) -> dict:
    """What the store keeps in place of a response when a web input expires."""
    return {"expired": True, "expired_by": expired_by, "time": now}


def is_expiry(response: dict | None) -> bool:
    """Whether what the store keeps for a closed web input is an expiry, not a response."""
    return isinstance(response, dict) and response.get("expired") is True


def refuse_expiry(web_input_id: str, response: dict) -> WebInputError:
    """Only an open web input can expire (STATE_CONFLICT, as for a second response)."""
    why = "has already expired" if is_expiry(response) else "was already answered"
    return WebInputError(f"Web Input {web_input_id} {why}; only an open web input can "
                         "expire.", code="STATE_CONFLICT")


def expired_error(web_input_id: str, state_name: str) -> FlowRuntimeError:
    """What the AwaitWebInput state waiting for an expired web input raises."""
    return FlowRuntimeError(EXPIRED_ERROR, f"Web input {web_input_id} awaited by state "
                                           f"'{state_name}' expired without a response",
                            state_name=state_name)


def created_result(web_input_id: str) -> dict:
    """What a CreateWebInput state stores at its ResultPath."""
    return {"web_input_id": web_input_id}


def awaited_result(web_input_id: str, response: t.Any) -> dict:
    """What an AwaitWebInput state stores at its ResultPath once answered."""
    return {"web_input_id": web_input_id, "response": response}


def waiting_details(web_input_id: str, state_name: str) -> dict:
    """Run ``details`` while the run waits for a response (status INACTIVE)."""
    return {"code": WAITING_CODE,
            "description": f"The run is waiting for a response to web input {web_input_id} "
                           f"(state {state_name})",
            "state_name": state_name, "web_input_id": web_input_id}
