"""The examples run as users run them: fresh processes, offline, on the embedded engine."""

import json
import os
import pathlib
import subprocess
import sys

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"

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


def test_batch_job_with_relative_paths_checksums_and_publishes_the_same_files(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.txt").write_text("alpha\n")
    done = run_example([str(EXAMPLES / "batch_job.py"), "data", "out"], tmp_path)

    assert done.returncode == 0, done.stderr
    manifest = (tmp_path / "out" / "MANIFEST.sha256").read_text().splitlines()
    assert [line.split("  ")[1] for line in manifest] == ["a.txt"]
    assert "1 files checksummed; manifest published" in done.stderr


def test_batch_job_exits_1_naming_a_step_that_failed_while_the_run_went_on(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.txt").write_text("alpha\n")
    (tmp_path / "data.manifest").write_text("a file where the manifest directory goes\n")
    done = run_example([str(EXAMPLES / "batch_job.py"), "data", "out"], tmp_path)

    assert done.returncode == 1, done.stderr
    errors = [line for line in done.stderr.splitlines() if " ERROR " in line]
    assert any("step ChecksumFiles failed" in line and "FileExistsError" in line
               for line in errors), done.stderr
    assert "manifest published" not in done.stderr


def test_batch_job_on_globus_without_credentials_fails_fast_naming_missing_scopes(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    done = run_example([str(EXAMPLES / "batch_job.py"), str(data), str(tmp_path / "out"),
                        "--engine", "globus"], tmp_path)

    assert done.returncode == 2
    (error,) = [line for line in done.stderr.splitlines() if " ERROR " in line]
    assert "AuthException" in error and "Missing scopes: https://auth.globus.org/scopes/" in error


def test_notebook_executes_offline_in_a_kernel_and_displays_flow_progress_and_run(
        tmp_path, monkeypatch):
    """The notebook runs in a real IPython kernel (nbclient), as Jupyter would run it."""
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("GLADIER_DB", str(tmp_path / "local.db"))
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    notebook = nbformat.read(EXAMPLES / "notebook.ipynb", as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()

    outputs = [output for cell in notebook.cells if cell.cell_type == "code"
               for output in cell.outputs]
    html = [output["data"]["text/html"] for output in outputs
            if "text/html" in output.get("data", {})]
    flow_view, progress, run_view = html
    assert "CountWords" in flow_view and "CopyReport" in flow_view
    assert "SUCCEEDED" in progress  # the live progress display, in its final form
    for state in ("CountWords", "CopyReport"):
        assert f"<td>{state}</td><td>Action</td><td>succeeded</td>" in progress
    assert "SUCCEEDED" in run_view and "CopyReport" in run_view
    assert {"text/plain": "'SUCCEEDED'"} in [output.get("data") for output in outputs]
    printed = "".join(output.get("text", "") for output in outputs
                      if output["output_type"] == "stream")
    assert "10 words in 2 files" in printed
    (report,) = tmp_path.glob("gladier-notebook-*/published/report.json")
    assert json.loads(report.read_text()) == {"a.txt": 4, "b.txt": 6}
