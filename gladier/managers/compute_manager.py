"""Register a client's compute functions with Globus Compute, tracked by checksum.

``globus_compute_sdk`` is imported inside the methods that need it: it is slow to import
and many scripts (the local engine, flow generation) never touch it.
"""

from __future__ import annotations

import hashlib
import logging
import typing as t

from globus_sdk.scopes import ComputeScopes

from gladier.exc import ConfigException, FunctionObsolete, RegistrationException
from gladier.flowgen.functions import get_compute_functions
from gladier.flowgen.naming import function_checksum_key, function_id_key
from gladier.managers.base import ServiceManager

log = logging.getLogger(__name__)


class ComputeManager(ServiceManager):
    """Keeps every compute function registered and its id in the client's storage.

    :param auto_registration: register new or changed functions; when false, raise
        :class:`RegistrationException` / :class:`FunctionObsolete` instead
    :param group: a Globus group id every function is registered with (shared with its
        members), as in Gladier 0.11; the client passes its ``globus_group``
    """

    def __init__(self, auto_registration: bool = True, group: str | None = None, *,
                 login_manager: t.Any = None, storage: t.Any = None) -> None:
        self.auto_registration = auto_registration
        self.group = group
        super().__init__(login_manager=login_manager, storage=storage)

    def get_scopes(self) -> list[str]:
        return [str(ComputeScopes.all)]

    @property
    def compute_client(self) -> t.Any:
        """A ``globus_compute_sdk.Client`` using the login manager's Compute authorizer."""
        from globus_compute_sdk import Client
        from globus_compute_sdk.serialize import DillCodeSource

        if self.login_manager is None:
            raise ConfigException("ComputeManager has no login manager; the client sets one")
        self.login_manager.add_requirements(self.get_scopes())
        authorizer = self.login_manager.get_manager_authorizers()[str(ComputeScopes.all)]
        return Client(authorizer=authorizer, do_version_check=False,
                      code_serialization_strategy=DillCodeSource())

    @staticmethod
    def get_function_checksum(function: t.Callable) -> str:
        """SHA-256 of the function as Compute serializes it (its source and name)."""
        from globus_compute_sdk.serialize import ComputeSerializer, DillCodeSource

        serialized = ComputeSerializer(strategy_code=DillCodeSource()).serialize(function)
        return hashlib.sha256(serialized.encode()).hexdigest()

    def validate_function(self, tool: t.Any, function: t.Callable) -> str:
        """The function's registered id, registering it first if new or changed."""
        tool_name = type(tool).__name__
        id_key, checksum_key = function_id_key(function), function_checksum_key(function)
        function_id = self.storage.get_value(id_key)
        checksum = self.get_function_checksum(function)
        if function_id and self.storage.get_value(checksum_key) == checksum:
            return function_id
        if not self.auto_registration:
            if function_id:
                raise FunctionObsolete(
                    f"Tool {tool_name}: function {function.__name__} changed since it was "
                    f"registered as {function_id}; register it again (auto_registration)"
                )
            raise RegistrationException(
                f"Tool {tool_name}: function {function.__name__} is not registered"
            )
        function_id = self.register_function(tool, function)
        self.storage.set_value(id_key, function_id)
        self.storage.set_value(checksum_key, checksum)
        return function_id

    def register_function(self, tool: t.Any, function: t.Callable) -> str:
        log.info("%s: registering function %s%s", type(tool).__name__, function.__name__,
                 f" with group {self.group}" if self.group else "")
        return self.compute_client.register_function(function, group=self.group)

    def get_function_ids(self, tools: t.Iterable[t.Any]) -> dict[str, str]:
        """``{"<fn>_function_id": id}`` for every compute function of every tool."""
        ids: dict[str, str] = {}
        for tool in tools:
            for function in get_compute_functions(tool):
                ids[function_id_key(function)] = self.validate_function(tool, function)
        return ids
