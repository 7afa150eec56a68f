"""WaitState: pause the flow for some seconds or until a time."""

from __future__ import annotations

import datetime
import typing as t

from gladier.exc import FlowGenException
from gladier.tools.state_models import StateWithNextOrEnd
from gladier.tools.validation import state_validation_error

MAX_WAIT_SECONDS = 31536000  # one year, the service's limit


_EXCLUSIVE = ("seconds", "timestamp", "seconds_path", "timestamp_path")


class WaitState(StateWithNextOrEnd):
    """Wait ``seconds``, until ``timestamp``, or for a value read at ``*_path`` (exactly one).

    As in Gladier 0.11, setting two of them, or a ``*_path`` that is not a ``$.`` path,
    raises ``ValidationError`` when the state is created.
    """

    state_type: t.ClassVar[str] = "Wait"
    seconds: t.Optional[int] = None
    timestamp: t.Optional[t.Union[datetime.datetime, str]] = None
    seconds_path: t.Optional[str] = None
    timestamp_path: t.Optional[str] = None

    def __init__(self, **fields: t.Any) -> None:
        super().__init__(**fields)
        given = [name for name in _EXCLUSIVE if getattr(self, name) is not None]
        if len(given) > 1:
            raise state_validation_error(
                WaitState, given[1], f"At most one of {list(_EXCLUSIVE)} may be set for "
                f"WaitState {self.valid_state_name!r}, found values for {given}")
        for name in ("seconds_path", "timestamp_path"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, str) and value.startswith("$.")):
                raise state_validation_error(
                    WaitState, name, f"Field {name} must be in JSONPath format (starting "
                    f"with the prefix $.), got {value!r}")

    def build_state_dict(self) -> dict:
        state = super().build_state_dict()
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
        state[key] = value
        return state
