#!/usr/bin/env bash
# Test the watchasay example in its own virtual environment (examples/watchasay/.venv):
# creates it when missing, installs the pinned requirements when they changed, runs the
# example's tests. Safe to run again; fast when nothing changed.
set -euo pipefail
cd "$(dirname "$0")"

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
    .venv/bin/python -m pip install -q --upgrade pip
fi

# Reinstall only when the requirement files differ from the last successful install.
stamp=.venv/.watchasay-requirements
wanted="$(cat requirements.txt requirements-test.txt)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
    .venv/bin/python -m pip install -q -r requirements-test.txt
    printf '%s' "$wanted" > "$stamp"
fi

.venv/bin/python -m pytest -q "$@"
