"""Ctrl-C and SIGTERM while embedded engines drive runs: stop promptly, lose nothing.

While an engine is open in a process, SIGINT and SIGTERM are handled in the main thread
(only where Python's default handlers are in place: a program's own handlers are left
alone). The first signal stops every open engine: no further transition is journaled, the
local compute tasks running are stopped (their workers killed; the task ledger notes each
as aborted, so it may run again), and each run being driven is journaled INACTIVE with a
reason naming its state and left to the next ``resume``, which is the user's consent to run
the interrupted step again from its start. Then the program gets ``KeyboardInterrupt``
(SIGINT) or exits with status 143 (SIGTERM), as without the engine. A second signal, until
another engine is opened, exits at once (status 130 or 143), whatever the program was doing
(outside a Jupyter kernel, which an interrupt must not end).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import typing as t
import weakref

log = logging.getLogger(__name__)

#: The signals handled, and the exit status of a second one (128 + the signal number).
SIGNALS = (signal.SIGINT, signal.SIGTERM)

_engines: "weakref.WeakSet[t.Any]" = weakref.WeakSet()
_previous: dict[int, t.Any] = {}
_interrupted = False
_lock = threading.Lock()


def watch(engine: t.Any) -> None:
    """Stop ``engine`` (its ``interrupt(reason)``) on SIGINT or SIGTERM while it is open."""
    global _interrupted
    with _lock:
        _engines.add(engine)
        _interrupted = False
        if _previous or threading.current_thread() is not threading.main_thread():
            return
        for signum in SIGNALS:
            current = signal.getsignal(signum)
            if current in (signal.default_int_handler, signal.SIG_DFL):
                _previous[signum] = current
                signal.signal(signum, _handle)


def unwatch(engine: t.Any) -> None:
    """``engine`` closed: once no engine is open, the previous handlers are back."""
    with _lock:
        _engines.discard(engine)
        if _engines or not _previous or _interrupted:  # a second signal must still exit
            return
        if threading.current_thread() is not threading.main_thread():
            return  # signal.signal works in the main thread only; _handle passes through
        for signum, handler in _previous.items():
            if signal.getsignal(signum) is _handle:
                signal.signal(signum, handler)
        _previous.clear()


def _handle(signum: int, frame: t.Any) -> None:
    global _interrupted
    name = signal.Signals(signum).name
    if _interrupted:
        from gladier.ui.progress import in_jupyter

        if not in_jupyter():
            os._exit(128 + signum)
        _default(signum)
    engines = list(_engines)
    if not engines:  # every engine closed since: behave as if never installed
        _default(signum)
    _interrupted = True
    for engine in engines:
        try:
            engine.interrupt(name)
        except Exception:  # stopping the others matters more
            log.exception("gladier engine: could not stop an engine on %s", name)
    _default(signum)


def _default(signum: int) -> None:
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise SystemExit(128 + signum)
