"""``gladier serve``: an engine database served as a local Globus Flows service.

The Flows API as the service shapes it (so globus-sdk's ``FlowsClient`` and
``SpecificFlowClient``, pointed here with ``GLOBUS_SDK_SERVICE_URL_FLOWS``, and Gladier's
``FlowsManager`` work unchanged) and a dashboard of the database's runs and flows, both
behind one bearer token. Needs the ``serve`` extra (``pip install 'gladier[serve]'``).

Modules: :mod:`~gladier.serve.token` (the bearer token), :mod:`~gladier.serve.errors`
(the service's error documents), :mod:`~gladier.serve.paging` (markers and query lists),
:mod:`~gladier.serve.documents` (flow documents), :mod:`~gladier.serve.api` (the Flows
routes), :mod:`~gladier.serve.runview` (what the run page shows),
:mod:`~gladier.serve.dashboard` (the pages), :mod:`~gladier.serve.app` (assembly) and
:mod:`~gladier.serve.server` (binding and starting).
"""
