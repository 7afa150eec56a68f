"""The examples run as users run them: fresh processes, offline, on the embedded engine."""

import json
import os
import pathlib
import subprocess
import sys

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"

#: Executes a notebook's code cells in order, in one namespace, as a kernel would; the value
#: of a cell's last expression is rendered through _repr_mimebundle_ like Jupyter does, and
#: each rendering is reported as one JSON line on stdout.
NOTEBOOK_RUNNER = r"""
import ast, json, sys
notebook = json.load(open(sys.argv[1]))
namespace = {"__name__": "__main__"}
for index, cell in enumerate(notebook["cells"]):
    if cell["cell_type"] != "code":
        continue
    tree = ast.parse("".join(cell["source"]))
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    exec(compile(tree, f"<cell {index}>", "exec"), namespace)
    if last is not None:
        value = eval(compile(ast.Expression(last.value), f"<cell {index}>", "eval"), namespace)
        if value is None:  # Jupyter shows nothing for None (e.g. a final print call)
            continue
        bundle = value._repr_mimebundle_() if hasattr(value, "_repr_mimebundle_") else {
            "text/plain": repr(value)}
        print("DISPLAY", json.dumps({"cell": index, "mimetypes": sorted(bundle),
                          "html": bundle.get("text/html", ""),
                          "text": bundle.get("text/plain", "")}))
"""


def run_example(args, tmp_path, **env):
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    environ = {k: v for k, v in os.environ.items() if not k.startswith("GLADIER_")}
    environ.update(HOME=str(home), GLADIER_DB=str(tmp_path / "local.db"), **env)
    return subprocess.run([sys.executable, *args], env=environ, cwd=tmp_path, text=True,
                          capture_output=True, stdin=subprocess.DEVNULL, timeout=300)


def test_quickstart_generates_analyses_and_publishes_results(tmp_path):
    workdir = tmp_path / "work"
    done = run_example([str(EXAMPLES / "quickstart.py"), "--workdir", str(workdir),
                        "--samples", "500"], tmp_path)

    assert done.returncode == 0, done.stdout + done.stderr
    readings = (workdir / "raw" / "readings.csv").read_text().splitlines()
    assert len(readings) == 501  # header + one line per sample
    published = json.loads((workdir / "published" / "summary.json").read_text())
    assert published == json.loads((workdir / "results" / "summary.json").read_text())
    assert published["samples"] == 500 and 2.4 < published["mean"] < 2.6
    assert (workdir / "published" / "clean.csv").read_text().count("\n") == published["kept"] + 1
    assert "SUCCEEDED" in done.stdout
    assert f"Published: {workdir / 'published'}" in done.stdout
    assert f"500 samples, {published['kept']} kept" in done.stdout


def test_quickstart_without_workdir_uses_a_fresh_temporary_directory(tmp_path):
    done = run_example([str(EXAMPLES / "quickstart.py"), "--samples", "50"], tmp_path,
                       TMPDIR=str(tmp_path))

    assert done.returncode == 0, done.stdout + done.stderr
    (workdir,) = tmp_path.glob("gladier-quickstart-*")
    assert sorted(p.name for p in (workdir / "published").iterdir()) == [
        "clean.csv", "summary.json"]


def test_batch_job_writes_and_publishes_manifest_on_local_engine(tmp_path):
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    (data / "a.txt").write_text("alpha\n")
    (data / "sub" / "b.txt").write_text("beta\n")
    done = run_example([str(EXAMPLES / "batch_job.py"), str(data), str(tmp_path / "out")],
                       tmp_path)

    assert done.returncode == 0, done.stderr
    manifest = (tmp_path / "out" / "MANIFEST.sha256").read_text().splitlines()
    assert [line.split("  ")[1] for line in manifest] == ["a.txt", "sub/b.txt"]
    assert done.stdout == ""  # everything goes to the log (stderr), for cron mail
    log_lines = done.stderr.splitlines()
    assert all(line[:4].isdigit() for line in log_lines)  # each line starts with a timestamp
    assert any("SUCCEEDED" in line for line in log_lines)
    assert "2 files checksummed" in done.stderr


def test_batch_job_on_globus_without_credentials_fails_fast_naming_missing_scopes(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    done = run_example([str(EXAMPLES / "batch_job.py"), str(data), str(tmp_path / "out"),
                        "--engine", "globus"], tmp_path)

    assert done.returncode == 2
    (error,) = [line for line in done.stderr.splitlines() if " ERROR " in line]
    assert "AuthException" in error and "Missing scopes: https://auth.globus.org/scopes/" in error


def test_notebook_executes_offline_and_displays_flow_and_run(tmp_path):
    done = run_example(["-c", NOTEBOOK_RUNNER, str(EXAMPLES / "notebook.ipynb")], tmp_path,
                       TMPDIR=str(tmp_path))

    assert done.returncode == 0, done.stdout + done.stderr
    shown = [json.loads(line[len("DISPLAY "):]) for line in done.stdout.splitlines()
             if line.startswith("DISPLAY ")]
    flow_view, status, run_view = shown
    assert "text/html" in flow_view["mimetypes"]
    assert "CountWords" in flow_view["html"] and "CopyReport" in flow_view["html"]
    assert status["text"] == "'SUCCEEDED'"
    assert "SUCCEEDED" in run_view["html"] and "CopyReport" in run_view["html"]
    assert "10 words in 2 files" in done.stdout
    (report,) = tmp_path.glob("gladier-notebook-*/published/report.json")
    assert json.loads(report.read_text()) == {"a.txt": 4, "b.txt": 6}
