"""Differential parity with the reference Gladier 0.11.0 (and gladier-tools 0.5.4).

Every client script under tests/parity_clients/*/ is run in both packages (each in its own
interpreter, empty HOME, no network; see parity.py and parity_clients/observe.py), and what
a user observes must be the same: flow definitions, schemas and input of clients, each
tool's required and default input and state names, tools' own flows, and the errors raised.
Differences that are deliberate choices are in parity.DELIBERATE (and docs/parity.rst).

The reference is installed from the package index into a cached virtualenv
(reference_gladier.py). Without the index the tests are skipped, except with CI set.
"""

import os
import sys

import pytest

import parity
from reference_gladier import ReferenceUnavailable, reference_python

SCRIPTS = sorted(
    f"{directory.name}/{path.stem}"
    for directory in parity.suite_directories()
    for path in directory.glob("client_*.py")
)


@pytest.fixture(scope="session")
def observations():
    try:
        python = reference_python()
    except ReferenceUnavailable as error:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"the reference Gladier 0.11 cannot be installed here: {error}")
    directories = parity.suite_directories()
    reference = parity.observe(python, directories)
    here = parity.observe(sys.executable, directories, extra_path=[str(parity.REPO)])
    return reference, here, parity.compare(reference, here)


def test_the_reference_is_gladier_0_11_and_this_package_is_not(observations):
    reference, here, _ = observations
    assert reference["gladier_version"] == "0.11.0"
    assert here["gladier_version"] != "0.11.0"


@pytest.mark.parametrize("script", SCRIPTS)
def test_client_script_observed_as_on_gladier_0_11(observations, script):
    reference, here, compared = observations
    observed = reference["modules"][script]
    assert "import" not in observed, f"the script fails to import on 0.11: {observed}"
    assert observed, f"{script} defines no client, tool or OBSERVE entry"
    lines = [f"{key}: {line}" for key, found in compared.items()
             if key.startswith(f"{script}: ") for line in found]
    assert not lines, "\n".join(lines)


def test_every_client_that_builds_on_0_11_builds_identically(observations):
    reference, _, compared = observations
    _, built, identical = parity.figures(reference, compared)
    assert built >= 20, "the suite's clients should mostly build on 0.11"
    assert identical == built
