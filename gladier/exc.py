"""Every error gladier raises on purpose.

All of them derive from :class:`GladierException`, so a script can catch one type.
Messages say what was wrong and where (state name, JSON path, input key), because they are
often read in a cron log long after the run.
"""

from __future__ import annotations

import typing as t


class GladierException(Exception):
    """Base class of every gladier error.

    ``hint`` says what to do about this error, when the raiser knows better than a hint for
    its type; the ``gladier`` command prints it under the error.
    """

    hint: str | None = None

    def __init__(self, *args: t.Any, hint: str | None = None) -> None:
        super().__init__(*args)
        if hint is not None:
            self.hint = hint


class ConfigException(GladierException):
    """A client, tool or config file is set up wrongly."""


class UntrustedFile(ConfigException):
    """A database, key, token or config file gladier must trust belongs to another user,
    or the group or others may write it: whoever can could read the private values it
    guards, or change what runs."""


class DeveloperException(GladierException):
    """The library was used in a way it does not support (a programming error)."""


#: Gladier 0.11's name for :class:`DeveloperException`.
DevelopmentException = DeveloperException


class FlowGenException(GladierException):
    """A flow definition could not be generated from the tools given."""


class FlowModifierException(FlowGenException):
    """A flow modifier names an unknown function, state or modifier."""


class AuthException(GladierException):
    """Tokens are missing or insufficient, and no interactive login may be started."""

    def __init__(self, message: str, missing_scopes: t.Iterable[str] = ()):
        self.missing_scopes = sorted(set(missing_scopes))
        super().__init__(message)


class RegistrationException(ConfigException):
    """A flow or function needs to be (re)registered (a ConfigException, as in 0.11)."""


class ObsoleteException(RegistrationException):
    """What was registered no longer matches what would be registered now."""


class FlowObsolete(ObsoleteException):
    """The deployed flow no longer matches the flow definition."""


class NoFlowRegistered(RegistrationException):
    """No flow has been deployed for this client yet."""


class FunctionObsolete(ObsoleteException):
    """A registered compute function no longer matches its source."""


class FlowInputError(GladierException):
    """Run input is missing keys or fails the flow's input schema."""

    def __init__(self, message: str, errors: t.Sequence[dict] = ()):
        self.errors = list(errors)
        super().__init__(message)


class FlowValidationError(GladierException):
    """A flow definition is invalid. ``problems`` lists every problem found.

    Each problem is a dict with ``state`` (or None for the top level), ``path`` (a JSON path
    into the definition) and ``message``.
    """

    def __init__(self, problems: t.Sequence[dict], warnings: t.Sequence[dict] = ()):
        self.problems = list(problems)
        self.warnings = list(warnings)
        lines = [format_problem(p) for p in self.problems]
        super().__init__(
            f"Flow definition is invalid ({len(lines)} problem(s)):\n  " + "\n  ".join(lines)
        )


def format_problem(problem: dict) -> str:
    """One line for a validator problem: ``<path> (state X): message``."""
    where = problem.get("path") or "$"
    if problem.get("state"):
        where += f" (state {problem['state']})"
    return f"{where}: {problem['message']}"


class ExpressionError(GladierException):
    """An expression (``"key.=": ...``) failed or was refused by the sandbox."""


class PathError(GladierException):
    """A JSON path is malformed or names data that does not exist."""

    def __init__(self, message: str, path: str = ""):
        self.path = path
        super().__init__(message)


class EngineError(GladierException):
    """The embedded engine cannot do what was asked (unknown run, bad store, ...)."""


class ActionProviderError(GladierException):
    """An action provider refused a request or answered with something unusable.

    ``http_status`` and ``body`` carry what the provider said, when there was an answer.
    """

    def __init__(self, message: str, *, http_status: int | None = None, body: t.Any = None):
        self.http_status = http_status
        self.body = body
        super().__init__(message)


class FlowRuntimeError(GladierException):
    """An error raised inside a run, named as the Flows service names it.

    ``error`` is the name a ``Catch`` matches (``States.Runtime``, ``ActionUnableToRun``,
    ``ActionFailedException``, ``ActionTimeout``, ...); ``cause`` says what happened and where.
    """

    def __init__(self, error: str, cause: str, *, state_name: str | None = None):
        self.error = error
        self.cause = cause
        self.state_name = state_name
        where = f" in state '{state_name}'" if state_name else ""
        super().__init__(f"{error}{where}: {cause}")


class StateOutputNotFound(GladierException):
    """A run has (not yet) stored any result for the state asked about."""


class GraphvizNotFound(ConfigException):
    """Drawing SVG needs Graphviz's ``dot`` program, and it is not on PATH."""


class MissingFlowInput(FlowInputError, ConfigException):
    """A tool's required input is absent from the run input.

    A :class:`ConfigException` too, as the reference raised, so existing ``except`` clauses
    keep working. Each entry of ``errors`` has ``tool``, ``key`` and ``message``.
    """


class ActionProviderUnavailable(ActionProviderError):
    """An action provider could not answer now (unreachable, timed out, HTTP 5xx).

    Asking again later may work, so the engine retries a status poll instead of failing.
    """


class StateNameConflict(FlowGenException):
    """Two tools or state objects put states with the same name into one flow."""


class ToolImportError(ConfigException, ImportError):
    """A ``gladier_tools`` import string names something that cannot be imported.

    An :class:`ImportError` too, as Gladier 0.11 raised, so existing ``except`` clauses
    still catch it."""


class ToolModuleNotFound(ToolImportError, ModuleNotFoundError):
    """The module of a ``gladier_tools`` import string does not exist."""


class NotJSONData(EngineError):
    """A value the engine must keep (run input, a state's result, a log entry, a flow) is
    not JSON data: NaN or Infinity, a complex number, a Python object. The message names
    where in the value it is."""


class NotInDatabase(EngineError):
    """The engine database holds no flow (or run) with this id."""


class RunNotEnded(EngineError):
    """The operation needs an ended run (SUCCEEDED, FAILED or ENDED)."""


class StorageError(EngineError):
    """The engine's database (or its key file) cannot be read or written: a full disk, a
    read-only file or directory, a damaged file, a missing key. The message names the file;
    ``hint`` says what to do. Nothing already journaled is lost: once fixed, ``gladier
    resume`` continues the runs."""


class RunEnded(EngineError):
    """A run ended elsewhere (e.g. canceled by another process) while an engine drove it."""


class RunTakenOver(RunEnded):
    """Another engine claimed the run (this one was taken for dead): it must let the run go
    without touching its action, which the new driver continues."""


class WebInputError(EngineError):
    """A web input cannot take this response; ``code`` is the Flows service's error code
    (``NOT_FOUND``, ``STATE_CONFLICT`` when it is closed, ``UNPROCESSABLE_ENTITY`` for a
    value that is not one of its options)."""

    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.code = code


class FlowsServiceError(GladierException):
    """The Globus Flows service kept failing (HTTP 429/5xx, network errors) after the
    retries that were safe. ``may_exist`` is True when the failed request may have started
    a run or created a flow (it was not repeated, so nothing is made twice)."""

    def __init__(self, message: str, *, operation: str, http_status: int | None = None,
                 may_exist: bool = False):
        super().__init__(message)
        self.operation = operation
        self.http_status = http_status
        self.may_exist = may_exist


class UnconfiguredResource(ConfigException):
    """A run on the embedded engine would act for a Globus compute endpoint or collection
    the user did not configure locally; raised before the run starts. ``resources`` lists
    each one as ``{"kind", "id", "state", "parameter"}``."""

    def __init__(self, message: str, resources: list[dict]):
        super().__init__(message)
        self.resources = resources
