"""A crash of a real engine: a child Python process SIGKILLed at a chosen moment."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import typing as t


def run_and_kill(script: str, kill_when: t.Callable[[str], bool], *,
                 timeout: float = 30) -> str:
    """Run ``script`` in a new interpreter, read the first line it prints (a run id, say),
    and SIGKILL the process as soon as ``kill_when(first_line)`` is true.

    Returns the first line. Fails the test if the child prints nothing, dies on its own
    or never reaches the kill point within ``timeout`` seconds.
    """
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        first_line = child.stdout.readline().strip()
        assert first_line, "the child process printed nothing"
        deadline = time.time() + timeout
        while not kill_when(first_line):
            assert time.time() < deadline, "the child never reached the kill point"
            assert child.poll() is None, "the child process died on its own"
            time.sleep(0.01)
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
        child.stdout.close()
    return first_line


def written_lines(path: str) -> list[str]:
    """The non-blank lines a killed child's side effects left in ``path`` (none if absent)."""
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [line.strip() for line in f if line.strip()]


def record_effect(workdir: str, label: str, seconds: float) -> None:
    """The side effect the crash and interrupt tests count: ``label`` and this pid in
    begun.log, a sleep of ``seconds``, then ``label`` in effects.log."""
    with open(os.path.join(workdir, "begun.log"), "a") as f:
        f.write(f"{label} {os.getpid()}\n")
    time.sleep(seconds)
    with open(os.path.join(workdir, "effects.log"), "a") as f:
        f.write(f"{label}\n")
