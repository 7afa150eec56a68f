"""The documentation stays true: the Sphinx site builds with -W, its Python examples and the
README's run, and every command the README shows exists."""

import importlib.util
import json
import os
import pathlib
import re
import subprocess
import sys
import textwrap

import pytest
from click.testing import CliRunner

from gladier.cli import cli

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README = ROOT / "README.rst"
PYTHON_BLOCK = re.compile(r"\.\. code-block:: python\n\n((?:(?:    .*)?\n)+)")
PAGES_WITH_EXAMPLES = sorted(p.name for p in DOCS.glob("*.rst") if PYTHON_BLOCK.search(p.read_text()))


def run_python(code, tmp_path):
    """Run ``code`` in a fresh interpreter, offline, with a private HOME and engine database."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    environ = {k: v for k, v in os.environ.items() if not k.startswith("GLADIER_")}
    environ.update(HOME=str(home), GLADIER_DB=str(tmp_path / "local.db"), TMPDIR=str(tmp_path))
    return subprocess.run([sys.executable, "-c", code], env=environ, cwd=tmp_path, text=True,
                          capture_output=True, stdin=subprocess.DEVNULL, timeout=300)


@pytest.mark.skipif(importlib.util.find_spec("sphinx") is None,
                    reason="Sphinx is not installed (pip install -e '.[docs]')")
def test_sphinx_site_builds_without_warnings(tmp_path):
    done = subprocess.run([sys.executable, "-m", "sphinx", "-W", "-q", "-b", "html",
                           str(DOCS), str(tmp_path / "html")],
                          capture_output=True, text=True, timeout=600)

    assert done.returncode == 0, done.stderr
    cli_page = (tmp_path / "html" / "cli.html").read_text()
    assert "Usage: gladier runs show" in cli_page  # generated from the command's --help
    assert "LocalEngine" in (tmp_path / "html" / "api.html").read_text()


def test_docs_pages_have_python_examples():
    assert {"tools.rst", "engines.rst", "login.rst", "flow-language.rst"} <= set(
        PAGES_WITH_EXAMPLES)


@pytest.mark.parametrize("page", PAGES_WITH_EXAMPLES)
def test_python_examples_of_docs_page_run(page, tmp_path):
    blocks = PYTHON_BLOCK.findall((DOCS / page).read_text())
    program = "\n".join(textwrap.dedent(block) for block in blocks)

    done = run_python(program, tmp_path)

    assert done.returncode == 0, done.stdout + done.stderr


def test_readme_client_quickstart_runs(tmp_path):
    text = README.read_text()
    block = text.split("chains its tools in order::\n", 1)[1].split("\n``run_flow``", 1)[0]
    (tmp_path / "hostname.txt").write_text("three words here\n")
    code = textwrap.dedent(block).replace('"/etc/hostname"', repr(str(tmp_path / "hostname.txt")))

    done = run_python(code, tmp_path)

    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.rstrip().endswith("[3]")


def readme_commands():
    """Each ``gladier ...`` line of the README, as its command words (``runs show``)."""
    commands = set()
    for line in README.read_text().splitlines():
        words = line.split()
        if words[:1] == ["gladier"] and len(words) > 1:
            commands.add(" ".join(w for w in words[1:3] if re.fullmatch(r"[a-z]+", w)))
    return sorted(commands)


def test_readme_shows_the_main_cli_commands():
    assert {"validate", "run", "runs list", "resume", "graph"} <= set(readme_commands())


@pytest.mark.parametrize("command", readme_commands())
def test_cli_command_shown_in_readme_exists(command):
    result = CliRunner().invoke(cli, [*command.split(), "--help"])

    assert result.exit_code == 0, result.output
    assert f"Usage: gladier {command}" in result.output.replace("Usage: cli", "Usage: gladier")


def test_readme_flow_calling_watchasay_is_the_example_flow_without_its_comment():
    block = README.read_text().split("(`examples/watchasay/echo_flow.json\n", 1)[1]
    shown = json.loads(textwrap.dedent(block.split("::\n\n", 1)[1].split("\n\n", 1)[0]))
    example = json.loads((ROOT / "examples" / "watchasay" / "echo_flow.json").read_text())
    example.pop("Comment")
    assert shown == example
