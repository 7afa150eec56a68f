"""With ``CI`` set, a missing part that tests would skip without stops the session at once."""

import os
import pathlib
import subprocess
import sys

import pytest

TESTS = pathlib.Path(__file__).resolve().parent


@pytest.mark.parametrize("ci, returncode", [("true", pytest.ExitCode.USAGE_ERROR),
                                            ("", pytest.ExitCode.OK)])
def test_a_missing_flows_corpus_refuses_the_ci_session_and_only_skips_elsewhere(
        tmp_path, ci, returncode):
    missing = tmp_path / "no-corpus"
    env = {**os.environ, "CI": ci, "GLADIER_FLOWS_CORPUS": str(missing)}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         str(TESTS / "test_corpus_index.py")],
        cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == returncode, result.stdout + result.stderr
    refusal = f"CI is set, so these must be present: the flows corpus at {missing}"
    assert (refusal in result.stderr) == bool(ci), result.stderr


def test_a_missing_chromium_refuses_the_ci_session(tmp_path):
    env = {**os.environ, "CI": "true", "GLADIER_TEST_CHROMIUM": str(tmp_path / "no-chromium")}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         str(TESTS / "test_corpus_index.py")],
        cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, result.stdout + result.stderr
    assert "Chromium and Playwright for the dashboard tests" in result.stderr
