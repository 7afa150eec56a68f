"""Differential parity with the reference Gladier 0.11: observe the same client scripts in
both packages and compare what a user sees.

``python tests/parity.py [DIR ...]`` prints the figures (how many clients and tools build on
0.11, how many are identical here) and every difference; with no DIR it uses the suite's
own clients in tests/parity_clients/*/. The test module test_parity_reference.py asserts them.

Each script runs in a fresh interpreter with an empty HOME and no network (observe.py).
Differences that are deliberate choices are listed in :data:`DELIBERATE` with the reason;
docs/parity.rst says the same to users.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
CLIENTS = HERE / "parity_clients"
OBSERVER = CLIENTS / "observe.py"
REPO = HERE.parent

#: Deliberate differences, each a choice docs/parity.rst explains to users. The comparison
#: applies them (see :func:`normalise_reference` and :func:`differences`).
DELIBERATE = {
    "message": "an error's message says what and where; its type is 0.11's (or a subclass, "
               "so except clauses written for 0.11 still catch it)",
    "0.11 internal error": "where 0.11 fails with an internal error (KeyError, "
                           "AttributeError, TypeError: a bug, not a Gladier exception), a "
                           "client may build here",
    "lazy client": "a client's constructor does no work (no files, no logins), so an error "
                   "0.11 raises when a client is created is raised here when its flow is "
                   "first asked for: the same exception, from get_flow_definition()",
    "path modifiers": "an InputPath or ResultPath modifier sets that field (0.11 writes "
                      "'InputPath.$' / 'ResultPath.$', which the Flows service refuses), and "
                      "InputPath replaces the state's Parameters (a state takes one of them)",
}
#: Exceptions 0.11 raises only through a bug of its own.
INTERNAL_ERRORS = frozenset({"KeyError", "AttributeError", "TypeError", "IndexError"})


def normalise_reference(value):
    """0.11's observation with the 'path modifiers' difference applied to every state."""
    if isinstance(value, dict):
        value = {k: normalise_reference(v) for k, v in value.items()}
        states = value.get("States")
        if isinstance(states, dict) and "StartAt" in value:
            for state in states.values():
                if isinstance(state, dict):
                    _normalise_state(state)
    elif isinstance(value, list):
        value = [normalise_reference(v) for v in value]
    return value


def _normalise_state(state: dict) -> None:
    for field in ("InputPath", "ResultPath"):
        if f"{field}.$" in state:
            state[field] = state.pop(f"{field}.$")
            if field == "InputPath":
                state.pop("Parameters", None)


def suite_directories() -> list[pathlib.Path]:
    """The folders of client scripts in tests/parity_clients/."""
    return sorted(p for p in CLIENTS.iterdir() if p.is_dir() and any(p.glob("client_*.py")))


def observe(python: str | os.PathLike, directories: list[pathlib.Path],
            *, extra_path: list[str] = ()) -> dict:
    """What ``python`` (one of the two environments) observes for the scripts in
    ``directories``. Runs with an empty HOME, ``GLADIER_ENGINE=globus`` (a 0.11 user's
    Globus client; the reference ignores it) and nothing else of this environment's."""
    with tempfile.TemporaryDirectory(prefix="gladier-parity-home-") as home:
        env = {
            "HOME": home,
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GLADIER_ENGINE": "globus",
            "PYTHONPATH": os.pathsep.join(extra_path),
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONHASHSEED": "0",
        }
        if os.environ.get("PARITY_TRACEBACKS"):
            env["PARITY_TRACEBACKS"] = "1"
        result = subprocess.run(
            [str(python), str(OBSERVER), *map(str, directories)],
            capture_output=True, text=True, env=env, cwd=home,
        )
    if result.returncode != 0:
        raise RuntimeError(f"{python} {OBSERVER} failed:\n{result.stderr[-6000:]}")
    return json.loads(result.stdout)


def _is_error(value) -> bool:
    return isinstance(value, dict) and set(value) >= {"error", "bases", "message"}


def differences(reference, here, where: str = "") -> list[str]:
    """Every way ``here`` differs from ``reference`` (JSON data), as readable lines.

    An error matches an error of the same type (or a subclass here); its message may differ
    (DELIBERATE["message"])."""
    if _is_error(reference) and reference["error"] in INTERNAL_ERRORS:
        return []  # DELIBERATE["0.11 internal error"]
    if _is_error(reference) and _is_error(here):
        if reference["error"] in here["bases"]:
            return []
        return [f"{where}: raises {here['error']} ({here['message']}), 0.11 raises "
                f"{reference['error']} ({reference['message']})"]
    if _is_error(reference) or _is_error(here):
        return [f"{where}: 0.11 gives {json.dumps(reference)[:600]}, here "
                f"{json.dumps(here)[:600]}"]
    if isinstance(reference, dict) and isinstance(here, dict):
        construct = reference.get("construct")
        if _is_error(construct) and construct["error"] in INTERNAL_ERRORS:
            return []  # DELIBERATE["0.11 internal error"]
        if _is_error(construct) and "construct" not in here:
            # DELIBERATE["lazy client"]
            return differences(construct, here.get("flow_definition"), f"{where}.construct")
        lines = []
        for key in sorted(set(reference) | set(here), key=str):
            if key not in here:
                lines.append(f"{where}.{key}: missing here (0.11: "
                             f"{json.dumps(reference[key])[:300]})")
            elif key not in reference:
                lines.append(f"{where}.{key}: only here ({json.dumps(here[key])[:300]})")
            else:
                lines += differences(reference[key], here[key], f"{where}.{key}")
        return lines
    if isinstance(reference, list) and isinstance(here, list) and len(reference) == len(here):
        return [line for i, (a, b) in enumerate(zip(reference, here))
                for line in differences(a, b, f"{where}[{i}]")]
    if reference != here:
        return [f"{where}: 0.11 gives {json.dumps(reference)[:300]}, here "
                f"{json.dumps(here)[:300]}"]
    return []


def builds(observation) -> bool:
    """A client or tool 'builds' when it produced a flow definition (no error)."""
    if not isinstance(observation, dict) or "construct" in observation:
        return False
    return not _is_error(observation.get("flow_definition", observation))


def compare(reference: dict, here: dict) -> dict:
    """``{module/label: [differences]}`` for every observation of either side."""
    result = {}
    modules = set(reference["modules"]) | set(here["modules"])
    for module in sorted(modules):
        ref_items = reference["modules"].get(module, {})
        our_items = here["modules"].get(module, {})
        for label in sorted(set(ref_items) | set(our_items)):
            result[f"{module}: {label}"] = differences(
                normalise_reference(ref_items.get(label)), our_items.get(label), label)
    return result


def figures(reference: dict, compared: dict) -> tuple[int, int, int]:
    """(observations, clients that build on 0.11, of those identical here)."""
    built = identical = 0
    for key, lines in compared.items():
        module, label = key.split(": ", 1)
        if label.startswith("client ") and builds(reference["modules"].get(module, {})
                                                   .get(label)):
            built += 1
            identical += not lines
    return len(compared), built, identical


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(HERE))
    from reference_gladier import reference_python

    directories = [pathlib.Path(d).resolve() for d in argv] or suite_directories()
    reference = observe(reference_python(), directories)
    here = observe(sys.executable, directories, extra_path=[str(REPO)])
    compared = compare(reference, here)
    for key, lines in compared.items():
        for line in lines:
            print(f"DIFF {key}: {line}")
    total, built, identical = figures(reference, compared)
    same = sum(not lines for lines in compared.values())
    print(f"{same} of {total} observations identical to Gladier "
          f"{reference['gladier_version']}")
    print(f"{built} clients build on 0.11, {identical} identical here")
    return 0 if same == total else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
