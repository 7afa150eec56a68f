"""What each state did in a run, from its log entries and/or run documents.

Shared by the progress displays (which show steps as they happen) and the pictures (which
colour states by their last outcome), so both read a run the same way.
"""

from __future__ import annotations

import dataclasses
import datetime
import typing as t

from gladier.documents import object_at
from gladier.engine.timing import parse_timestamp

#: What a state did in a run.
SUCCEEDED = "succeeded"
FAILED = "failed"
RUNNING = "running"
NOT_REACHED = "not reached"

#: Log entry codes that end a run.
FLOW_END_CODES = frozenset({"FlowSucceeded", "FlowFailed", "FlowCanceled", "FlowEnded"})
#: Run statuses after which a run never changes.
FINAL_RUN_STATUSES = frozenset({"SUCCEEDED", "FAILED", "ENDED"})
#: How an Action state whose action FAILED can still complete, and the flow go on.
CONTINUED_NOTE = "the flow continued because ExceptionOnActionFailure is false"
#: How deep an ActionCompleted entry's output is searched for the action's final status.
_RESULT_SEARCH_DEPTH = 4


@dataclasses.dataclass
class Step:
    """One visit of a state in a run."""

    name: str
    state_type: str
    started: datetime.datetime | None
    finished: datetime.datetime | None = None
    outcome: str = RUNNING
    #: its action FAILED yet the state completed (``ExceptionOnActionFailure: false``)
    continued: bool = False

    def seconds(self, now: datetime.datetime | None = None) -> float | None:
        end = self.finished or now
        if self.started is None or end is None:
            return None
        return max(0.0, (end - self.started).total_seconds())


class RunProgress:
    """What is known about one run so far, from its log entries and run documents."""

    def __init__(self) -> None:
        self.run: dict = {}
        self.steps: list[Step] = []
        self.started: datetime.datetime | None = None
        self._reads_log = False
        self._last_document_event: tuple | None = None

    @classmethod
    def of_run(cls, run: dict, entries: t.Iterable[dict]) -> "RunProgress":
        """Everything known about a run from its document and its log (oldest first)."""
        progress = cls()
        for entry in entries:
            progress.feed(entry)
        progress.feed_run(run, from_details=False)
        return progress

    @property
    def current(self) -> Step | None:
        """The state running now, if any."""
        return self.steps[-1] if self.steps and self.steps[-1].outcome == RUNNING else None

    def feed(self, entry: dict) -> list[Step]:
        """Take one log entry; return the steps it started or finished (in that order)."""
        self._reads_log = True
        return self._apply(entry)

    def feed_run(self, run: dict, *, from_details: bool = True) -> list[Step]:
        """Take a run document; when no log entries come (polling), read its details.

        ``from_details=False`` when log entries are fed instead (they say more, in order):
        from then on the details are not read, so no state is shown twice.
        """
        self.run = dict(run)
        self._reads_log = self._reads_log or not from_details
        if self.started is None:
            self.started = parse_time(run.get("start_time"))
        details = object_at(run, "details")
        inner = object_at(details, "details")
        event = (details.get("code"), inner.get("state_name"))
        changed: list[Step] = []
        if (not self._reads_log and event[1]
                and event != self._last_document_event):
            self._last_document_event = event
            changed = self._apply(details)
        status = run.get("status")
        if self.current is not None and status in FINAL_RUN_STATUSES:
            when = parse_time(run.get("completion_time")) or utc_now()
            changed.append(self._close(self.current, SUCCEEDED if status == "SUCCEEDED" else FAILED,
                                       when))
        return changed

    def _apply(self, entry: dict) -> list[Step]:
        code = str(entry.get("code", ""))
        details = object_at(entry, "details")
        when = parse_time(entry.get("time")) or utc_now()
        changed: list[Step] = []
        if code == "FlowStarted" and self.started is None:
            self.started = when
        current = self.current
        state_name = details.get("state_name")
        if code in FLOW_END_CODES:
            if current is not None:
                outcome = SUCCEEDED if code == "FlowSucceeded" else FAILED
                changed.append(self._close(current, outcome, when))
        elif not isinstance(state_name, str):
            return changed
        elif code.endswith("Started"):
            if current is not None:
                changed.append(self._close(current, FAILED, when))
            step = Step(state_name, str(details.get("state_type") or code[: -len("Started")]), when)
            self.steps.append(step)
            changed.append(step)
        elif code.endswith("Completed") and current is not None and current.name == state_name:
            failed = action_failed(details.get("output"), state_name)
            current.continued = failed
            changed.append(self._close(current, FAILED if failed else SUCCEEDED, when))
        elif code.endswith(("Failed", "Timeout", "Exception", "Error")) and current is not None:
            changed.append(self._close(current, FAILED, when))
        return changed

    def continued_failures(self) -> list[Step]:
        """Steps whose action failed while the flow went on (see :data:`CONTINUED_NOTE`)."""
        return [step for step in self.steps if step.continued]

    def failures_note(self) -> str:
        """'1 step failed; the flow continued because ...' ('' when none did)."""
        failed = self.continued_failures()
        if not failed:
            return ""
        names = ", ".join(dict.fromkeys(step.name for step in failed))
        count = f"{len(failed)} step{'s' if len(failed) != 1 else ''}"
        return f"{count} failed; {CONTINUED_NOTE} (failed: {names})"

    @staticmethod
    def _close(step: Step, outcome: str, when: datetime.datetime) -> Step:
        step.outcome, step.finished = outcome, when
        return step

    def elapsed(self, now: datetime.datetime | None = None) -> float | None:
        """Seconds since the run started (until it completed, once it has)."""
        end = parse_time(self.run.get("completion_time")) or now or utc_now()
        if self.started is None:
            return None
        return max(0.0, (end - self.started).total_seconds())


def action_failed(output: t.Any, state_name: t.Any) -> bool:
    """Whether an Action state's completion output holds its action's FAILED status.

    The state stores the action's final status (with ``state_name``) at its ResultPath; the
    log shows that result, or the run state holding it, on either engine.
    """
    def search(value: t.Any, depth: int) -> bool:
        if isinstance(value, dict):
            if value.get("status") == "FAILED" and value.get("state_name", state_name) == \
                    state_name and ("action_id" in value or "state_name" in value):
                return True
            return depth > 0 and any(search(item, depth - 1) for item in value.values())
        return False

    return search(output, _RESULT_SEARCH_DEPTH)


def statuses_from_logs(entries: t.Iterable[dict], *,
                       run_status: str | None = None) -> dict[str, str]:
    """Each visited state's last outcome in a run, from its log entries (oldest first).

    A state that started and completed succeeded; one followed by another state without
    completing (an error caught by ``Catch``), or by the run failing, failed; one still going
    is running. States absent from the result were not reached. ``run_status`` (the run
    document's status) settles a state left open when the log alone cannot.
    """
    progress = RunProgress()
    for entry in entries:
        progress.feed(entry)
    if run_status is not None:
        progress.feed_run({"status": run_status}, from_details=False)
    return {step.name: step.outcome for step in progress.steps}


def parse_time(value: t.Any) -> datetime.datetime | None:
    """An RFC 3339 time from a document, timezone-aware (UTC when none is given), or None."""
    try:
        return parse_timestamp(value)
    except ValueError:
        return None


def utc_now() -> datetime.datetime:
    """The current time, timezone-aware (UTC)."""
    return datetime.datetime.now(datetime.timezone.utc)
