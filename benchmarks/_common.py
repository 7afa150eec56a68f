"""What every benchmark script shares: statistics, the result table and the JSON line.

Each benchmark builds a :class:`Result` (its figures, its goal and whether the goal is
met) and calls :func:`report`, which prints a table for people and, last, one line of
JSON for scripts (``run_all.py`` reads it).
"""

from __future__ import annotations

import dataclasses
import json
import os
import resource
import statistics
import subprocess
import sys
import typing as t

#: The directory of the benchmark scripts (added to ``sys.path`` of child processes, so
#: worker processes can import the functions they run).
HERE = os.path.dirname(os.path.abspath(__file__))
#: Marks the JSON line in a script's output.
JSON_PREFIX = "BENCHMARK-JSON "


@dataclasses.dataclass
class Result:
    """One benchmark's outcome. ``figures`` maps a label to a value (with its unit in the
    label); ``measure`` names the figure the goal is about."""

    name: str
    figures: dict[str, t.Any]
    goal: str
    met: bool | None
    measure: str | None = None
    notes: list[str] = dataclasses.field(default_factory=list)

    def as_json(self) -> dict:
        return {"benchmark": self.name, "goal": self.goal, "goal_met": self.met,
                "measure": self.measure, "figures": self.figures, "notes": self.notes}


def median(values: t.Sequence[float]) -> float:
    return statistics.median(values)


def spread(values: t.Sequence[float]) -> str:
    """``min..max`` of the repeats, to show how noisy the machine was."""
    return f"{min(values):.4g}..{max(values):.4g}"


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _format(value: t.Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def print_table(result: Result) -> None:
    width = max([len(label) for label in result.figures] + [len("goal")])
    print(f"== {result.name}")
    for label, value in result.figures.items():
        print(f"  {label.ljust(width)}  {_format(value)}")
    verdict = {True: "MET", False: "NOT MET", None: "(no goal)"}[result.met]
    print(f"  {'goal'.ljust(width)}  {result.goal}  -> {verdict}")
    for note in result.notes:
        print(f"  note: {note}")


def report(result: Result) -> None:
    """Print the table, then the JSON line (always the last line of output)."""
    print_table(result)
    print(JSON_PREFIX + json.dumps(result.as_json(), sort_keys=True), flush=True)


def parse_json_line(output: str) -> dict | None:
    """The JSON line of a benchmark's output, if it printed one."""
    for line in reversed(output.splitlines()):
        if line.startswith(JSON_PREFIX):
            return json.loads(line[len(JSON_PREFIX):])
    return None


def run_child(args: list[str], *, python: str | None = None, env: dict | None = None,
              timeout: float = 600) -> dict:
    """Run ``python args...`` in a fresh process and return the JSON it printed last.

    Raises RuntimeError with the child's output when it fails or prints no JSON.
    """
    child_env = dict(os.environ)
    child_env["PYTHONPATH"] = os.pathsep.join(
        [HERE] + ([child_env["PYTHONPATH"]] if child_env.get("PYTHONPATH") else []))
    child_env.update(env or {})
    proc = subprocess.run([python or sys.executable, *args], capture_output=True, text=True,
                          env=child_env, timeout=timeout)
    found = parse_json_line(proc.stdout) if proc.returncode == 0 else None
    if found is None:
        raise RuntimeError(f"{' '.join(args)} failed (exit {proc.returncode}):\n"
                           f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return found


def child_reply(payload: dict) -> None:
    """What a child process prints for :func:`run_child`."""
    print(JSON_PREFIX + json.dumps(payload), flush=True)
