"""The Globus resources a run would act for, found before it starts.

A Gladier flow names compute endpoints (Compute states' ``endpoint``/``endpoint_id``) and
collections (Transfer states' ``source_endpoint``, ``destination_endpoint``, ``endpoint``
and their ``_id`` spellings), each literally or by a reference path into the run's input
(``"endpoint.$": "$.input.compute_endpoint"``). Reading them against the input tells,
before anything runs, which real resources a run means; the embedded engine then refuses
those the user did not configure locally, and a client chooses the Globus engine for
them. Values a state takes from an earlier state's result are only known while the run
goes; the providers check those when they act.
"""

from __future__ import annotations

import typing as t

from gladier.engine.paths import get_path, is_path
from gladier.exc import GladierException

COMPUTE_ENDPOINT = "compute endpoint"
COLLECTION = "collection"
#: A collection mapping entry that stands for every collection (the whole filesystem).
ANY_COLLECTION = "*"

#: Each group holds the spellings of one parameter, in the order the provider reads them.
_COMPUTE_KEYS = (("endpoint_id", "endpoint"),)
_COLLECTION_KEYS = (("source_endpoint", "source_endpoint_id"),
                    ("destination_endpoint", "destination_endpoint_id"),
                    ("endpoint", "endpoint_id"))


class Resource(t.NamedTuple):
    kind: str  # COMPUTE_ENDPOINT or COLLECTION
    id: str
    state: str
    parameter: str  # where in the state's Parameters, e.g. "tasks[0].endpoint"

    def as_dict(self) -> dict:
        return self._asdict()


def _kind_of(url: str) -> str | None:
    from gladier.engine.providers.registry import (COMPUTE_URLS, LEGACY_TRANSFER_URL,
                                                   TRANSFER_URL, normalize_url)
    from gladier.engine.providers.legacy import current_url

    url = current_url(url)
    if url in COMPUTE_URLS:
        return COMPUTE_ENDPOINT
    if url.startswith((normalize_url(TRANSFER_URL), normalize_url(LEGACY_TRANSFER_URL))):
        return COLLECTION
    return None


def _value(parameters: dict, key: str, data: t.Any) -> t.Any:
    """A parameter's value: literal, or read from ``data`` by its ``key.$`` path (None when
    the path reaches nothing in ``data``: an earlier state will put it there)."""
    if key in parameters:
        return parameters[key]
    reference = parameters.get(f"{key}.$")
    if isinstance(reference, str) and is_path(reference):
        try:
            return get_path(data, reference)
        except GladierException:
            return None
    return None


def _named(parameters: t.Any, groups: tuple[tuple[str, ...], ...], data: t.Any,
           where: str = "") -> t.Iterator[tuple[str, str]]:
    if not isinstance(parameters, dict):
        return
    for spellings in groups:
        for key in spellings:
            value = _value(parameters, key, data)
            if isinstance(value, str) and value.strip():
                yield f"{where}{key}", value.strip()
                break  # the first spelling present is the one the provider reads
    tasks = parameters.get("tasks")
    if isinstance(tasks, list):
        for index, task in enumerate(tasks):
            yield from _named(task, groups, data, f"{where}tasks[{index}].")


def named_resources(definition: dict, run_input: dict) -> list[Resource]:
    """Every compute endpoint and collection ``definition``'s Action states name, literally
    or through a reference into ``run_input`` (the run's whole input document)."""
    from gladier.engine.providers.registry import action_url

    found: list[Resource] = []
    states = definition.get("States") if isinstance(definition, dict) else None
    for name, state in (states or {}).items():
        if not isinstance(state, dict) or state.get("Type") != "Action":
            continue
        try:
            kind = _kind_of(action_url(state, name))
        except GladierException:
            continue  # the validator reports a state without a usable URL
        if kind is None:
            continue
        data: t.Any = run_input
        input_path = state.get("InputPath")
        if isinstance(input_path, str) and is_path(input_path):
            try:
                data = get_path(run_input, input_path)
            except GladierException:
                data = None
        parameters = state.get("Parameters", data)  # no Parameters: the input is the body
        keys = _COMPUTE_KEYS if kind == COMPUTE_ENDPOINT else _COLLECTION_KEYS
        for parameter, resource_id in _named(parameters, keys, data):
            found.append(Resource(kind, resource_id, name, parameter))
    return found


def unconfigured(resources: t.Iterable[Resource], *, endpoints: t.Iterable[str],
                 collections: t.Iterable[str]) -> list[Resource]:
    """The resources that are not among the locally configured ``endpoints`` (compute
    endpoint ids with an executor) and ``collections`` (mapped collection ids)."""
    endpoints = {str(e).strip().lower() for e in endpoints}
    collections = {str(c).strip().lower() for c in collections}
    missing = []
    for resource in resources:
        known = endpoints if resource.kind == COMPUTE_ENDPOINT else collections
        if resource.id.lower() not in known and not (
                resource.kind == COLLECTION and ANY_COLLECTION in known):
            missing.append(resource)
    return missing


def describe(resources: t.Sequence[Resource]) -> str:
    """One line per resource: ``compute endpoint <id> (state X, endpoint_id)``."""
    return "; ".join(f"{r.kind} {r.id} (state '{r.state}', {r.parameter})" for r in resources)
