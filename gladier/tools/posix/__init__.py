"""States for POSIX hosts reached through Globus Compute."""

from gladier.tools.posix.shell_cmd import ShellCmdState, shell_cmd

__all__ = ["ShellCmdState", "shell_cmd"]
