"""Clock helpers: poll back-off and timestamps."""

import datetime

import pytest

from gladier.engine.timing import next_poll_interval, parse_timestamp, time_scale_from_env
from gladier.exc import EngineError


def test_poll_interval_doubles_up_to_the_cap():
    intervals = []
    current = None
    for _ in range(6):
        current = next_poll_interval(current, first=1.0, cap=10.0)
        intervals.append(current)
    assert intervals == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


@pytest.mark.parametrize("text", ["2030-01-02T03:04:05Z", "2030-01-02T04:04:05+01:00",
                                  "2030-01-02T03:04:05"])
def test_timestamps_with_z_offset_or_none_are_utc_moments(text):
    assert parse_timestamp(text) == datetime.datetime(2030, 1, 2, 3, 4, 5,
                                                      tzinfo=datetime.timezone.utc)


def test_a_non_timestamp_is_a_value_error():
    with pytest.raises(ValueError):
        parse_timestamp("next tuesday")


def test_time_scale_must_be_positive():
    assert time_scale_from_env(0.5) == 0.5
    with pytest.raises(EngineError):
        time_scale_from_env(0)


@pytest.mark.parametrize("text, expected", [
    ("2030-01-02T03:04:05.123456789Z", datetime.datetime(2030, 1, 2, 3, 4, 5, 123456,
                                                         tzinfo=datetime.timezone.utc)),
    ("2030-01-02t03:04:05.5-02:30", datetime.datetime(2030, 1, 2, 5, 34, 5, 500000,
                                                      tzinfo=datetime.timezone.utc)),
    ("2030-01-02T03:04:05-00:00", datetime.datetime(2030, 1, 2, 3, 4, 5,
                                                    tzinfo=datetime.timezone.utc)),
])
def test_rfc_3339_fractions_and_offsets(text, expected):
    assert parse_timestamp(text) == expected


@pytest.mark.parametrize("text", [
    # ISO 8601 forms that are not RFC 3339 date-times: Python 3.11's fromisoformat takes
    # them, 3.10's does not, so relying on it gave different answers per Python
    "20300102T030405Z", "2030-01-02T03:04Z", "2030-01-02T03", "2030-W01-2T03:04:05Z",
    "2030-01-02T03:04:05+0100", "2030-01-02 03:04:05Z",
    # dates and times out of range
    "2030-13-02T03:04:05Z", "2030-02-30T03:04:05Z", "2030-01-02T24:00:00Z",
    "2030-01-02T03:04:60Z", "2030-01-02T03:04:05+24:00", "2030-01-02", "03:04:05Z", "",
])
def test_anything_but_an_rfc_3339_date_time_is_refused(text):
    with pytest.raises(ValueError):
        parse_timestamp(text)


@pytest.mark.parametrize("raw", ["inf", "-inf", "nan", "NaN", "-1", "0", "1e999"])
def test_a_time_scale_that_is_not_finite_and_positive_is_refused_before_the_engine_starts(
        raw, monkeypatch, tmp_path):
    """``inf`` killed the scheduler thread at the first Wait and ``nan`` made every Wait
    endless: the engine now refuses to start with either."""
    from gladier.engine import LocalEngine

    monkeypatch.setenv("GLADIER_TIME_SCALE", raw)
    with pytest.raises(EngineError) as refused:
        LocalEngine(str(tmp_path / "engine.db"))
    assert "finite number greater than 0" in str(refused.value)
    assert "GLADIER_TIME_SCALE" in refused.value.hint
    with pytest.raises(EngineError):
        time_scale_from_env(float(raw))
