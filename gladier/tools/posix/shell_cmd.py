"""ShellCmdState: run a shell command on a Globus Compute endpoint.

``shell_cmd`` is the compute function; it imports what it needs inside its body because
Globus Compute ships the function alone to the endpoint.
"""

from __future__ import annotations

import typing as t

from gladier.tools.globus.compute import Compute


def shell_cmd(
    args: t.Union[str, t.List[str]],
    arg_sep_char: str = " ",
    capture_output: bool = False,
    cwd: t.Optional[str] = None,
    env: t.Optional[t.Dict[str, str]] = None,
    timeout: t.Optional[int] = 60,
    exception_on_error: bool = True,
    input_path: t.Optional[str] = None,
    output_path: t.Optional[str] = None,
    error_path: t.Optional[str] = None,
    **_ignored: t.Any,
) -> t.Tuple[int, t.Optional[str], t.Optional[str]]:
    """Run ``args`` in a shell; return ``(returncode, stdout, stderr)``.

    ``args`` is a command string (split on ``arg_sep_char``) or a list of words.
    ``input_path``/``output_path``/``error_path`` redirect stdin/stdout/stderr to files;
    stdout and stderr are returned only with ``capture_output``. A non-zero exit raises
    ``subprocess.CalledProcessError`` unless ``exception_on_error`` is false.
    """
    import contextlib
    import os
    import subprocess

    if isinstance(args, str):
        args = [word for word in args.split(arg_sep_char) if word]
    if capture_output and (output_path or error_path):
        raise ValueError("capture_output cannot be combined with output_path or error_path")
    if env is not None and not isinstance(env, dict):
        raise TypeError(f"env must be a dict of strings, got {type(env).__name__}")

    with contextlib.ExitStack() as files:
        streams: t.Dict[str, t.Any] = {}
        if input_path is not None:
            streams["stdin"] = files.enter_context(open(os.path.expanduser(input_path)))
        if output_path is not None:
            streams["stdout"] = files.enter_context(open(os.path.expanduser(output_path), "w"))
        if error_path is not None:
            streams["stderr"] = files.enter_context(open(os.path.expanduser(error_path), "w"))
        completed = subprocess.run(
            " ".join(args),
            shell=True,
            cwd=os.path.expanduser(cwd) if cwd is not None else None,
            env=env,
            timeout=timeout,
            check=exception_on_error,
            capture_output=capture_output,
            text=True,
            **streams,
        )
    return completed.returncode, completed.stdout, completed.stderr


class ShellCmdState(Compute):
    """A Compute state running :func:`shell_cmd` with ``cmd_args`` and the options below.

    Any option may be a ``$.`` path, read from the run state when the flow runs.
    """

    cmd_args: t.Optional[t.Union[t.List[str], str]] = None
    capture_output: t.Union[bool, str] = False
    cwd: t.Optional[str] = None
    env: t.Optional[t.Union[t.Dict[str, str], str]] = None
    timeout: t.Union[int, str] = 60
    exception_on_error: t.Union[bool, str] = True
    output_path: t.Optional[str] = None
    error_path: t.Optional[str] = None
    stdin_path: t.Optional[str] = None
    _required_fields: t.ClassVar[t.Tuple[str, ...]] = ("action_url", "cmd_args")

    def __init__(self, **fields: t.Any) -> None:
        fields.setdefault("function_to_call", shell_cmd)
        super().__init__(**fields)

    def get_parameters(self) -> t.Dict[str, t.Any]:
        self.function_parameters = {
            "args": self.cmd_args,
            "capture_output": self.capture_output,
            "cwd": self.cwd,
            "env": self.env,
            "timeout": self.timeout,
            "exception_on_error": self.exception_on_error,
            "input_path": self.stdin_path,
            "output_path": self.output_path,
            "error_path": self.error_path,
        }
        return super().get_parameters()
