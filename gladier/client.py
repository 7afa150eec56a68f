"""The client users subclass: tools in, a deployed flow and its runs out.

The client only composes: flow generation gives the definition, a flows manager deploys
and runs it (the embedded engine or the Globus Flows service, chosen as
``GladierBaseClient._choose_engine`` says), a login manager supplies tokens and a compute manager registers functions. Constructing a
client writes no file and starts no login; that happens on first use.
"""

from __future__ import annotations

import importlib
import logging
import os
import typing as t

from gladier.exc import AuthException, ConfigException, GladierException, MissingFlowInput
from gladier.flowgen.aliases import StateSuffixVariablePrefix
from gladier.storage.config import (
    DEFAULT_CLIENT_ID,
    ConfigSection,
    GladierConfig,
    config_client_id,
    default_config_path,
    section_name,
)
from gladier.version import __version__

if t.TYPE_CHECKING:
    from gladier.managers import BaseFlowsManager, BaseLoginManager, ComputeManager

log = logging.getLogger(__name__)

ENGINES = ("local", "globus")
DEFAULT_ENGINE = "local"
#: Config keys the managers own; every other key in a section overrides flow input.
_MANAGED_KEY_SUFFIXES = ("_function_id", "_function_id_checksum")
_MANAGED_KEYS = frozenset({"flow_id", "flow_checksum", "flow_scope"})
_NO_SIGN = ("no sign of a Globus client (no flows manager, login manager or authorizers "
            "given, no flow id stored, no Globus resources in its input)")
_ENGINE_NAMES = {"local": "embedded", "globus": "Globus Flows"}


def resolve_engine(engine: str | None) -> str:
    """The engine to use: the one given, else ``GLADIER_ENGINE``, else ``local``."""
    chosen = engine or os.environ.get("GLADIER_ENGINE") or DEFAULT_ENGINE
    if chosen not in ENGINES:
        raise ConfigException(
            f"Unknown engine {chosen!r} (from the engine= argument, the client's 'engine' "
            f"attribute or GLADIER_ENGINE); choose one of {', '.join(ENGINES)}"
        )
    return chosen


def explicit_engine(argument: str | None, attribute: str | None,
                    class_name: str) -> tuple[str, str] | None:
    """``(engine, reason)`` when the user named one (argument, class attribute,
    ``GLADIER_ENGINE``, first wins), else None."""
    for value, where in ((argument, "the engine= argument"),
                         (attribute, f"{class_name}.engine"),
                         (os.environ.get("GLADIER_ENGINE"), "GLADIER_ENGINE")):
        if value:
            return resolve_engine(value), f"{where} is {value!r}"
    return None


def import_object(dotted: str) -> t.Any:
    """``"pkg.mod.Name"`` -> the object, or :class:`ConfigException` saying what failed."""
    module_name, _, name = dotted.rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError, ValueError) as error:
        raise ConfigException(f"Cannot import {dotted!r}: {error}") from error


def _is_managed_key(key: str) -> bool:
    return key in _MANAGED_KEYS or key.endswith(_MANAGED_KEY_SUFFIXES)


class GladierBaseClient:
    """Subclass this, list ``gladier_tools``, then ``run_flow(flow_input={"input": {...}})``.

    :param authorizers: ``{scope: authorizer}`` to use instead of logging in; they must
        cover every scope the client needs, else :class:`AuthException` is raised
    :param auto_login: log in when a scope is missing (never when false, nor without a
        terminal: then :class:`AuthException` names the missing scopes). Applies to the
        default login manager only: a ``login_manager`` you pass defines login behaviour and
        keeps its own setting, e.g. ``UserAppLoginManager(..., auto_login=False)``
    :param auto_registration: deploy or update flows and functions when they changed
    :param login_manager: where tokens come from (default: chosen from the environment)
    :param flows_manager: deploys and runs the flow (default: per ``engine``)
    :param compute_manager: registers compute functions (Globus engine only)
    :param engine: ``"local"`` (the embedded engine) or ``"globus"``. When neither this,
        the class's ``engine`` nor ``GLADIER_ENGINE`` names one, a client that shows it is
        a Globus client (a FlowsManager, login manager, compute manager or authorizers
        given, a flow id stored for it in its config file, input naming compute endpoints
        or collections the embedded engine was not given) runs on Globus, as under Gladier
        0.11; any other on the embedded engine. ``client.engine`` says which and
        ``client.engine_reason`` why (also logged, once).
    """

    gladier_tools: list = []
    flow_definition: t.Any = None
    flow_schema: dict | None = None
    #: Config file; ``None`` means ``~/.gladier/<client_id>.cfg``.
    secret_config_filename: str | None = None
    app_name = "Gladier Client"
    client_id: str = DEFAULT_CLIENT_ID
    globus_group: str | None = None
    subscription_id: str | None = None
    alias_class: type = StateSuffixVariablePrefix
    flow_kwargs: dict = {}
    run_kwargs: dict = {}
    engine: str | None = None

    def __init__(
        self,
        authorizers: t.Mapping[str, t.Any] | None = None,
        auto_login: bool = True,
        auto_registration: bool = True,
        login_manager: BaseLoginManager | None = None,
        flows_manager: BaseFlowsManager | None = None,
        compute_manager: ComputeManager | None = None,
        *,
        engine: str | None = None,
    ) -> None:
        self.auto_login = auto_login
        self.auto_registration = auto_registration
        self._tools: list | None = None
        self.storage = self._make_storage()
        if authorizers is not None and login_manager is None:
            from gladier.managers import CallbackLoginManager

            login_manager = CallbackLoginManager(authorizers)
        self.engine, self.engine_reason = self._choose_engine(
            engine, flows_manager, login_manager, compute_manager,
            authorizers_given=authorizers is not None)
        self._engine_from_default = flows_manager is None and self.engine_reason == _NO_SIGN
        log.info("%s runs on the %s engine: %s", type(self).__name__,
                 _ENGINE_NAMES[self.engine], self.engine_reason)
        self.login_manager = login_manager
        self.flows_manager = flows_manager or self._make_flows_manager()
        self.compute_manager = compute_manager
        self._attach_managers()
        missing = self.missing_authorizers if authorizers is not None else []
        if missing:
            raise AuthException(
                f"The authorizers given do not cover: {', '.join(missing)}", missing
            )

    # -- which engine -------------------------------------------------------------------

    def _choose_engine(self, engine: str | None, flows_manager: t.Any, login_manager: t.Any,
                       compute_manager: t.Any, *, authorizers_given: bool) -> tuple[str, str]:
        """``(engine, reason)``: a named engine wins; then the signs that this is a Globus
        client, as it was under Gladier 0.11; else the embedded engine."""
        from gladier.engine.manager import LocalFlowsManager

        named = explicit_engine(engine, type(self).engine, type(self).__name__)
        if flows_manager is not None:
            runs = "local" if isinstance(flows_manager, LocalFlowsManager) else "globus"
            if named is not None and named[0] != runs:
                raise ConfigException(
                    f"{type(self).__name__} was given a {type(flows_manager).__name__}, which "
                    f"runs flows on the {_ENGINE_NAMES[runs]} engine, but {named[1]}: drop "
                    "one of the two")
            return named or (runs, f"a {type(flows_manager).__name__} was given")
        if named is not None:
            return named
        if authorizers_given:
            return "globus", "authorizers were given"
        if login_manager is not None:
            return "globus", f"a {type(login_manager).__name__} was given"
        if compute_manager is not None:
            return "globus", f"a {type(compute_manager).__name__} was given"
        flow_id = self.storage.get_value("flow_id")
        if flow_id:
            return "globus", (f"flow {flow_id} is stored for it in {self.storage.config.path} "
                              f"[{self.storage.name}] (deployed to Globus Flows)")
        try:
            resources = self._unconfigured_resources(self._tool_and_config_input())
        except GladierException:  # a tool that does not load fails where it is used
            resources = []
        if resources:
            return "globus", self._resources_reason(resources, "its default input")
        return "local", _NO_SIGN

    def _unconfigured_resources(self, flow_input: dict,
                                manager: t.Any = None) -> list:
        """Compute endpoints and collections ``flow_input`` names that the embedded engine
        (``manager``, else a default one) was not given; [] without a flow definition."""
        from gladier.engine.manager import LocalFlowsManager

        try:
            definition = self.get_flow_definition()
        except GladierException:
            return []
        manager = manager if manager is not None else LocalFlowsManager()
        return manager.unconfigured_resources(definition, flow_input)

    @staticmethod
    def _resources_reason(resources: list, where: str) -> str:
        from gladier.engine.resources import describe

        return (f"{where} names Globus resources the embedded engine was not given: "
                f"{describe(resources)}")

    def _settle_engine(self, flow_input: dict) -> None:
        """A client on the embedded engine by default moves to Globus, as under 0.11, when
        its first run's input names Globus resources the engine was not given."""
        if not self._engine_from_default or self.engine != "local":
            return
        resources = self._unconfigured_resources(flow_input, self.flows_manager)
        if not resources:
            return
        self.engine = "globus"
        self.engine_reason = self._resources_reason(resources, "the run's input")
        self._engine_from_default = False
        log.info("%s runs on the %s engine: %s", type(self).__name__,
                 _ENGINE_NAMES[self.engine], self.engine_reason)
        self.login_manager = None
        self.flows_manager = self._make_flows_manager()
        self._attach_managers()

    # -- construction (no files, no network) -------------------------------------------

    def _config_path(self) -> t.Any:
        if self.secret_config_filename:
            return os.path.expanduser(self.secret_config_filename)
        return default_config_path(config_client_id(self.client_id))

    def _make_storage(self) -> ConfigSection:
        return GladierConfig(self._config_path()).section(section_name(type(self).__name__))

    def _default_login_manager(self) -> BaseLoginManager:
        from gladier.managers import (ConfidentialClientLoginManager, LocalLoginManager,
                                      UserAppLoginManager)

        if self.engine != "globus":
            return LocalLoginManager()
        client_id = os.environ.get("GLADIER_CLIENT_ID")
        client_secret = os.environ.get("GLADIER_CLIENT_SECRET")
        if client_id and client_secret:
            return ConfidentialClientLoginManager(client_id, client_secret,
                                                  self.storage.config, app_name=self.app_name)
        return UserAppLoginManager(self.client_id, self.app_name, storage=self.storage.config,
                                   auto_login=self.auto_login)

    def _make_flows_manager(self) -> BaseFlowsManager:
        if self.engine == "globus":
            from gladier.managers import FlowsManager

            return FlowsManager()
        from gladier.engine.manager import LocalFlowsManager

        return LocalFlowsManager()

    def _attach_managers(self) -> None:
        """Give managers this client's storage and login unless they brought their own."""
        if self.login_manager is None:
            self.login_manager = self._default_login_manager()
        use_config = getattr(self.login_manager, "use_config", None)
        if use_config is not None:
            use_config(self.storage.config)
        if self.engine == "globus":
            if self.compute_manager is None:
                from gladier.managers import ComputeManager

                self.compute_manager = ComputeManager(self.auto_registration,
                                                      group=self.globus_group)
            self.compute_manager.set_storage(self.storage)
            self.compute_manager.set_login_manager(self.login_manager)
        self.flows_manager.set_storage(self.storage)
        if self.engine == "globus":
            self.flows_manager.set_login_manager(self.login_manager)
        self._fill_flows_manager_defaults()

    def _fill_flows_manager_defaults(self) -> None:
        """The client's group, subscription, flow/run options and title, where the flows
        manager was not given its own."""
        if self.flows_manager.globus_group is None:
            self.flows_manager.globus_group = self.globus_group
        if self.flows_manager.subscription_id is None:
            self.flows_manager.subscription_id = self.subscription_id
        if not self.flows_manager.flow_kwargs:
            self.flows_manager.flow_kwargs = dict(self.flow_kwargs)
        if not self.flows_manager.run_kwargs:
            self.flows_manager.run_kwargs = dict(self.run_kwargs)
        if self.flows_manager.flow_title is None:
            self.flows_manager.flow_title = f"{type(self).__name__} flow"
        if not self.auto_registration and self.flows_manager.on_change is None:
            self.flows_manager.on_change = self._refuse_flow_change

    def _refuse_flow_change(self, flows_manager: BaseFlowsManager) -> str:
        from gladier.exc import FlowObsolete, NoFlowRegistered

        if flows_manager.get_flow_id():
            raise FlowObsolete(
                f"The flow of {type(self).__name__} changed since it was deployed and "
                "auto_registration is off; create the client with auto_registration=True "
                "to update it"
            )
        raise NoFlowRegistered(
            f"No flow is deployed for {type(self).__name__} (config section "
            f"'{self.storage.name}' in {self.storage.config.path}) and auto_registration is off"
        )

    # -- tools and definitions ---------------------------------------------------------

    @property
    def version(self) -> str:
        return __version__

    @staticmethod
    def get_gladier_defaults_cls(tool_ref: t.Any, alias_class: type | None = None) -> t.Any:
        """Load one tool from a class, an instance or ``"pkg.mod.Tool[:Alias]"``."""
        from gladier.flowgen import load_tools

        return load_tools([tool_ref], alias_class or StateSuffixVariablePrefix)[0]

    @property
    def tools(self) -> list:
        """This client's tools, loaded (and aliased) once."""
        if self._tools is None:
            from gladier.flowgen import load_tools

            self._tools = load_tools(list(self.gladier_tools or []), self.alias_class)
        return self._tools

    def get_flow_definition(self) -> dict:
        """The flow definition: ``flow_definition`` as given (dict, import string or state
        object), or the one generated from the tools by ``@generate_flow_definition``."""
        definition = self.flow_definition
        if isinstance(definition, str):
            definition = import_object(definition)
        if isinstance(definition, type):
            definition = definition()
        if hasattr(definition, "get_flow_definition"):
            definition = definition.get_flow_definition()
        if isinstance(definition, dict) and definition:
            return definition
        raise ConfigException(
            f"{type(self).__name__} has no flow definition: set 'flow_definition' (a dict, "
            "an import string or a state object) or decorate the class with "
            "@generate_flow_definition"
        )

    def get_flow_schema(self) -> dict | None:
        """The client's ``flow_schema`` (None when it sets none, as in Gladier 0.11)."""
        return self.flow_schema

    def _repr_mimebundle_(self, include: t.Any = None, exclude: t.Any = None) -> dict:
        """In Jupyter a client shows its flow as a graph (self-contained, no network)."""
        from gladier.ui.jupyter import FlowView

        return FlowView(self.get_flow_definition(), title=type(self).__name__
                        )._repr_mimebundle_(include, exclude)

    # -- login ------------------------------------------------------------------------

    @property
    def scopes(self) -> list[str]:
        """Every scope this client needs now (none for the embedded engine)."""
        if self.engine != "globus":
            return []
        scopes = list(self.flows_manager.get_scopes())
        if self.compute_manager is not None and self._uses_compute():
            scopes += self.compute_manager.get_scopes()
        return sorted(set(scopes))

    def _uses_compute(self) -> bool:
        from gladier.flowgen.functions import get_compute_functions

        return any(get_compute_functions(tool) for tool in self.tools)

    @property
    def missing_authorizers(self) -> list[str]:
        if self.login_manager is None or not self.scopes:
            return []
        self.login_manager.add_requirements(self.scopes)
        return sorted(self.login_manager.missing_authorizers)

    def is_logged_in(self) -> bool:
        return not self.missing_authorizers

    def login(self) -> None:
        """Obtain tokens for every scope this client needs now.

        A flow deployed for the first time has a new scope, so a second login may follow
        the first run. Does nothing for the embedded engine.
        """
        if self.login_manager is None or not self.scopes:
            return
        self.login_manager.add_requirements(self.scopes)
        missing = self.login_manager.missing_authorizers
        if missing:
            self.login_manager.login(missing)
            self.login_manager.clear_scope_changes()

    def logout(self) -> None:
        """Revoke and forget this client's tokens; flow and function ids stay stored."""
        if self.login_manager is not None:
            self.login_manager.logout()

    # -- deployment -------------------------------------------------------------------

    def _prepare_flows_manager(self) -> BaseFlowsManager:
        manager = self.flows_manager
        manager.flow_definition = self.get_flow_definition()
        manager.flow_schema = dict(self.get_flow_schema() or {})
        return manager

    def sync_flow(self) -> str:
        """Deploy the flow, or update it if it changed; return its id."""
        return self._prepare_flows_manager().sync_flow()

    def get_flow_id(self) -> str | None:
        """The deployed flow's id (None on Globus until the first deploy)."""
        return self._prepare_flows_manager().get_flow_id()

    def get_compute_function_ids(self) -> dict[str, str]:
        """``{"<fn>_function_id": id}`` for every compute function of every tool."""
        if self.engine == "globus":
            assert self.compute_manager is not None  # __init__ gives the Globus engine one
            return self.compute_manager.get_function_ids(self.tools)
        register = getattr(self.flows_manager, "register_functions", None)
        return dict(register(self.tools) or {}) if register is not None else {}

    # -- input ------------------------------------------------------------------------

    def get_input(self) -> dict:
        """Default run input: function ids, each tool's ``flow_input``, then overrides
        from this client's config section. Wrapped as ``{"input": {...}}``."""
        flow_input: dict = {}
        manager_defaults = getattr(self.flows_manager, "default_input", None)
        if manager_defaults is not None:  # the local engine's compute endpoint
            try:
                definition = self.get_flow_definition()
            except GladierException:
                definition = None
            flow_input.update(manager_defaults(definition, self.get_flow_schema()))
        flow_input.update(self.get_compute_function_ids())
        flow_input.update(self._tool_and_config_input(log_overrides=True)["input"])
        return {"input": flow_input}

    def _tool_and_config_input(self, *, log_overrides: bool = False) -> dict:
        """Each tool's ``flow_input``, then overrides from the config section: the
        defaults that do not depend on the engine."""
        flow_input: dict = {}
        for tool in self.tools:
            flow_input.update(tool.get_flow_input())
        overrides = {k: v for k, v in self.storage.items().items() if not _is_managed_key(k)}
        if overrides and log_overrides:
            log.info("Flow input from %s: %s", self.storage.config.path, sorted(overrides))
        flow_input.update(overrides)
        return {"input": flow_input}

    def check_input(self, tool: t.Any, flow_input: dict) -> None:
        """Raise :class:`MissingFlowInput` naming the keys ``tool`` needs but lacks."""
        if not hasattr(tool, "get_required_input"):
            raise ConfigException(
                f"{type(self).__name__}.check_input() takes a tool (a GladierBaseTool "
                f"instance, e.g. from self.tools), got {tool!r}"
            )
        given = flow_input.get("input", {})
        missing = [key for key in tool.get_required_input() if key not in given]
        if missing:
            name = type(tool).__name__
            raise MissingFlowInput(
                f"{name} requires flow input {', '.join(repr(k) for k in missing)} "
                f"(under 'input') for client {type(self).__name__}",
                [{"tool": name, "key": key, "message": f"{name} requires '{key}'"}
                 for key in missing],
            )

    # -- runs -------------------------------------------------------------------------

    def run_flow(self, flow_input: dict | None = None, use_defaults: bool = True,
                 **flow_kwargs: t.Any) -> dict:
        """Start a run; ``flow_input`` must be ``{"input": {...}}``.

        Defaults from :meth:`get_input` are merged under the given input; ``label``,
        ``tags`` and other run options pass through to the flows manager.
        """
        if flow_input is not None and (
            not isinstance(flow_input, dict) or set(flow_input) != {"input"}
            or not isinstance(flow_input["input"], dict)
        ):
            keys = sorted(flow_input) if isinstance(flow_input, dict) else type(flow_input)
            raise ConfigException(
                f"Flow input must be nested under one key 'input', like "
                f"{{'input': {{'foo': 'bar'}}}}; got {keys}"
            )
        given = (flow_input or {}).get("input", {})
        if use_defaults:
            defaults = self._tool_and_config_input()
            self._settle_engine({"input": {**defaults["input"], **given}})
        else:
            self._settle_engine({"input": dict(given)})
        combined = self.get_input() if use_defaults else {"input": {}}
        combined["input"].update(given)
        self._check_every_tool_input(combined)
        if flow_kwargs.get("label") is not None:
            from gladier.managers.base import shorten_label

            shorten_label(flow_kwargs["label"])  # a bad label is refused before deploying
        manager = self._prepare_flows_manager()
        manager.sync_flow()  # deploy or update first, as Gladier 0.11's client does
        return manager.run_flow(combined, **flow_kwargs)

    def _check_every_tool_input(self, flow_input: dict) -> None:
        """:meth:`check_input` for each tool, raising one error that names every gap."""
        problems = []
        for tool in self.tools:
            try:
                self.check_input(tool, flow_input)
            except MissingFlowInput as error:
                problems.append(error)
        if len(problems) == 1:
            raise problems[0]
        if problems:
            raise MissingFlowInput("; ".join(str(p) for p in problems),
                                   [e for p in problems for e in p.errors])

    def get_status(self, run_id: str) -> dict:
        """The run document (Compute exceptions decoded on the Globus engine)."""
        return self.flows_manager.get_status(run_id)

    def progress(self, run_id: str, callback: t.Callable[[dict], None] | None = None,
                 delay: float = 2) -> dict:
        """Follow a run until it ends or becomes INACTIVE; return its last document."""
        return self.flows_manager.progress(run_id, callback=callback, delay=delay)

    def get_details(self, run_id: str, state_name: str) -> t.Any:
        """What ``state_name`` stored in the run's output."""
        return self.flows_manager.get_details(run_id, state_name)

    def resume(self, run_id: str) -> dict:
        """Continue a run of this client that stopped; return its run document (follow it
        with :meth:`progress`).

        On the embedded engine: a run interrupted by Ctrl-C or SIGTERM (its interrupted step
        runs again from its start), left by a crashed process, or waiting for functions
        that ``gladier resume`` lacked; this client's compute functions are registered
        first. A run that another live process drives is left to it. On Globus: the service
        resumes an INACTIVE run (``SpecificFlowClient.resume_run``).
        """
        if self.engine != "globus":
            self.get_compute_function_ids()
        return self._prepare_flows_manager().resume_run(run_id)


class GladierClient(GladierBaseClient):
    """A client for a flow definition given at run time instead of in a subclass."""

    def __init__(self, flow_definition: t.Any, auto_registration: bool = True,
                 login_manager: BaseLoginManager | None = None,
                 flows_manager: BaseFlowsManager | None = None, *,
                 gladier_tools: list | None = None, **kwargs: t.Any) -> None:
        self.flow_definition = flow_definition
        if gladier_tools is not None:
            self.gladier_tools = gladier_tools
        super().__init__(auto_registration=auto_registration, login_manager=login_manager,
                         flows_manager=flows_manager, **kwargs)
