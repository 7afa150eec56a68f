"""WaitState: pause the flow for some seconds or until a time."""

from __future__ import annotations

import datetime
import typing as t

from gladier.exc import FlowGenException
from gladier.flowgen.parameters import json_path
from gladier.tools.state_models import StateWithNextOrEnd

MAX_WAIT_SECONDS = 31536000  # one year, the service's limit


class WaitState(StateWithNextOrEnd):
    """Wait ``seconds``, until ``timestamp``, or for a value read at ``*_path`` (exactly one)."""

    state_type: t.ClassVar[str] = "Wait"
    seconds: t.Optional[int] = None
    timestamp: t.Optional[t.Union[datetime.datetime, str]] = None
    seconds_path: t.Optional[str] = None
    timestamp_path: t.Optional[str] = None

    def get_flow_state_dict(self) -> dict:
        state = super().get_flow_state_dict()
        given = {
            "Seconds": self.seconds,
            "Timestamp": self.timestamp,
            "SecondsPath": self.seconds_path,
            "TimestampPath": self.timestamp_path,
        }
        given = {key: value for key, value in given.items() if value is not None}
        if len(given) != 1:
            raise FlowGenException(
                f"Wait state {self.valid_state_name!r} needs exactly one of seconds, timestamp, "
                f"seconds_path or timestamp_path (got {sorted(given) or 'none'})"
            )
        key, value = next(iter(given.items()))
        if key == "Seconds" and not (
            isinstance(value, int) and not isinstance(value, bool)
            and 0 <= value <= MAX_WAIT_SECONDS
        ):
            raise FlowGenException(
                f"Wait state {self.valid_state_name!r}: seconds must be a whole number from 0 "
                f"to {MAX_WAIT_SECONDS}, got {value!r}"
            )
        if isinstance(value, datetime.datetime):
            value = value.isoformat()
        if key.endswith("Path"):
            value = json_path(value)
        state[key] = value
        return state
