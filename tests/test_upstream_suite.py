"""Gladier 0.11's own test suite (from its wheel) passes here, except the tests
docs/compatibility.rst names with a reason (see tests/upstream_suite.py for how it runs).

The wheel comes from the package index (cached), as in CI.
"""

import upstream_suite

#: How many of upstream's tests must pass here (0.11 itself passes 107 of 108 with the
#: data file its wheel lacks; one is skipped by upstream).
MIN_PASSED = 96


def test_upstream_011_suite_fails_exactly_the_documented_tests():
    outcomes = upstream_suite.run_suite()
    failing = upstream_suite.failing(outcomes)
    documented = upstream_suite.documented_failures()
    assert sorted(documented) == failing, (
        f"failing here but not in docs/compatibility.rst: {sorted(set(failing) - set(documented))}; "
        f"documented but passing: {sorted(set(documented) - set(failing))}")
    passed = sum(outcome == "PASSED" for outcome in outcomes.values())
    assert passed >= MIN_PASSED, f"only {passed} of upstream's tests pass"
    assert sum(outcome == "SKIPPED" for outcome in outcomes.values()) == 1


def test_documented_failures_each_give_a_reason():
    text = "* ``test_a.py::test_b``: why it fails\n* ``test_c.py``: a module\n* ``x``: no\n"
    assert upstream_suite.documented_failures(text) == {
        "test_a.py::test_b": "why it fails", "test_c.py": "a module"}
