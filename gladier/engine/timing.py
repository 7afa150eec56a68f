"""Clock helpers of the embedded engine: timestamps, the test time scale and poll back-off.

Every duration the engine waits (Wait states, action ``WaitTime``, poll intervals) is
multiplied by the time scale, so tests can run a 300 s timeout in 3 s with
``GLADIER_TIME_SCALE=0.01``. Timestamps are stored as UTC ISO-8601 strings, the shape the
Flows service uses in run documents and log entries.
"""

from __future__ import annotations

import datetime
import math
import os
import re

from gladier.exc import EngineError

#: Longest pause between two polls of one action, like the Flows service (seconds).
MAX_POLL_INTERVAL = 600.0
#: First pause before polling a local provider; a provider may declare its own.
FIRST_POLL_LOCAL = 0.05


_SCALE_HINT = ("set GLADIER_TIME_SCALE to a finite number greater than 0 (0.01 makes "
               "Waits 100 times shorter), or unset it")


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
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or value <= 0:
        raise EngineError(f"The time scale must be a finite number greater than 0 "
                          f"(got {value!r})", hint=_SCALE_HINT)
    return float(value)


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def to_iso(moment: datetime.datetime) -> str:
    """``2026-01-31T12:00:00.123456+00:00``: the service's timestamp shape."""
    return moment.astimezone(datetime.timezone.utc).isoformat()


def now_iso() -> str:
    return utc_now().isoformat()


#: RFC 3339 ``date-time``: full date, ``T``, full time, optional fraction, then ``Z`` or an
#: offset (left out, the time is taken as UTC). Nothing else of ISO 8601 (week dates,
#: ``20300102T0304``, hours without minutes), which ``datetime.fromisoformat`` accepts from
#: Python 3.11 on but not on 3.10.
_RFC3339 = re.compile(r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?"
                      r"(?:([Zz])|([+-])(\d{2}):(\d{2}))?")


def parse_timestamp(text: object) -> datetime.datetime:
    """Parse an RFC 3339 date-time (``Z`` or an offset; naive means UTC; digits past the
    microseconds are dropped), the same way on every Python. The one parser of Wait
    timestamps, Choice comparisons, the validator and run documents, so they agree on what
    a timestamp is.

    Raises ValueError on anything else (a date without a time among them), for the caller
    to turn into a flow error.
    """
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not a timestamp string")
    match = _RFC3339.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not an RFC 3339 date-time (like "
                         "2030-01-02T03:04:05Z: a date, 'T', a time of day and an offset)")
    year, month, day, hour, minute, second = (int(part) for part in match.group(1, 2, 3, 4, 5, 6))
    fraction, _zulu, sign, offset_hours, offset_minutes = match.group(7, 8, 9, 10, 11)
    zone = datetime.timezone.utc
    if sign:
        if int(offset_hours) > 23 or int(offset_minutes) > 59:
            raise ValueError(f"{text!r} has an offset out of range")
        offset = datetime.timedelta(hours=int(offset_hours), minutes=int(offset_minutes))
        zone = datetime.timezone(-offset if sign == "-" else offset)
    microsecond = int((fraction or "0")[:6].ljust(6, "0"))
    try:  # out-of-range fields (month 13, second 60) are refused here
        return datetime.datetime(year, month, day, hour, minute, second, microsecond,
                                 tzinfo=zone)
    except ValueError as error:
        raise ValueError(f"{text!r} is not a valid date-time: {error}") from None


def next_poll_interval(previous: float | None, *, first: float, cap: float) -> float:
    """Doubling back-off: ``first``, then twice the previous pause, never above ``cap``."""
    if previous is None:
        return min(first, cap)
    return min(previous * 2, cap)
