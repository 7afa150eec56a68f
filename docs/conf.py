"""Sphinx configuration for the gladier documentation.

Build: ``sphinx-build -W -b html docs docs/_build/html`` (``pip install -e '.[docs]'``).
The CLI reference is rendered from the ``gladier`` command's own ``--help`` text by the
small ``gladier-help`` directive below, so it cannot drift from the code.
"""

import os
import sys

from docutils import nodes
from docutils.parsers.rst import Directive

sys.path.insert(0, os.path.abspath(".."))

from gladier.version import __version__  # noqa: E402

project = "gladier"
author = "The gladier developers"
copyright = "2026, The gladier developers"
release = __version__
version = ".".join(__version__.split(".")[:2])

extensions = ["sphinx.ext.autodoc", "sphinx.ext.viewcode"]
exclude_patterns = ["_build"]
html_theme = "alabaster"
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True}


class GladierHelp(Directive):
    """``.. gladier-help:: runs show`` inserts the output of ``gladier runs show --help``."""

    required_arguments = 0
    optional_arguments = 10

    def run(self):
        from click.testing import CliRunner

        from gladier.cli import cli

        result = CliRunner().invoke(cli, [*self.arguments, "--help"], prog_name="gladier",
                                    terminal_width=88)
        if result.exit_code != 0:
            raise self.error(f"gladier {' '.join(self.arguments)} --help failed: "
                             f"{result.output}")
        return [nodes.literal_block(result.output, result.output)]


def setup(app):
    app.add_directive("gladier-help", GladierHelp)
    return {"parallel_read_safe": True}
