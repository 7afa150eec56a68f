"""Clock helpers of the embedded engine: timestamps, the test time scale and poll back-off.

Every duration the engine waits (Wait states, action ``WaitTime``, poll intervals) is
multiplied by the time scale, so tests can run a 300 s timeout in 3 s with
``GLADIER_TIME_SCALE=0.01``. Timestamps are stored as UTC ISO-8601 strings, the shape the
Flows service uses in run documents and log entries.
"""

from __future__ import annotations

import datetime
import os
import re

from gladier.exc import EngineError

#: Longest pause between two polls of one action, like the Flows service (seconds).
MAX_POLL_INTERVAL = 600.0
#: First pause before polling a local provider; a provider may declare its own.
FIRST_POLL_LOCAL = 0.05


_SCALE_HINT = ("set GLADIER_TIME_SCALE to a number greater than 0 (0.01 makes Waits 100 "
               "times shorter), or unset it")


def time_scale_from_env(value: float | None = None) -> float:
    """The time scale given, else ``GLADIER_TIME_SCALE``, else 1.0."""
    if value is None:
        raw = os.environ.get("GLADIER_TIME_SCALE", "").strip()
        if not raw:
            return 1.0
        try:
            value = float(raw)
        except ValueError:
            raise EngineError(f"GLADIER_TIME_SCALE must be a number, not '{raw}'",
                              hint=_SCALE_HINT) from None
    if value <= 0:
        raise EngineError(f"The time scale must be greater than 0 (got {value})",
                          hint=_SCALE_HINT)
    return float(value)


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def to_iso(moment: datetime.datetime) -> str:
    """``2026-01-31T12:00:00.123456+00:00``: the service's timestamp shape."""
    return moment.astimezone(datetime.timezone.utc).isoformat()


def now_iso() -> str:
    return to_iso(utc_now())


def parse_timestamp(text: str) -> datetime.datetime:
    """Parse an RFC 3339 date-time (``Z`` or an offset; naive means UTC; digits past the
    microseconds are dropped). The one parser of Wait timestamps, Choice comparisons and
    the validator, so they agree on what a timestamp is.

    Raises ValueError on anything else (a date without a time among them), for the caller
    to turn into a flow error.
    """
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not a timestamp string")
    if "T" not in text.upper():
        raise ValueError(f"{text!r} is not a date-time: RFC 3339 needs a date, 'T' and a "
                         "time of day")
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    value = re.sub(r"(\.\d{6})\d+", r"\1", value)  # Python keeps microseconds only
    moment = datetime.datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment


def next_poll_interval(previous: float | None, *, first: float, cap: float) -> float:
    """Doubling back-off: ``first``, then twice the previous pause, never above ``cap``."""
    if previous is None:
        return min(first, cap)
    return min(previous * 2, cap)
