"""The dashboard in a real browser: headless Chromium (Debian's) driven by Playwright.

It loads the dashboard with the token, sees a run appear and finish, follows a run page
whose graph is coloured as states finish, answers the web input of Globus's admin_signoff
example, and a screenshot of the run page is checked to be a real picture (decoded by the
browser itself, its pixels counted).
"""

import base64
import json
import subprocess

import pytest

from corpus import CORPUS
from served import flows_client, gladier_command, wait_for_status

pytest.importorskip("starlette")

#: Waits 40 s: 2 s at the served fixture's time scale of 0.05.
NAP = {"StartAt": "Nap", "States": {
    "Nap": {"Type": "Wait", "Seconds": 40, "Next": "Done"},
    "Done": {"Type": "Pass", "End": True}}}
#: A step that fails, caught, and a private value that must not be shown.
CAUGHT = {"StartAt": "Hello", "States": {
    "Hello": {"Type": "Action", "ActionUrl": "https://actions.globus.org/hello_world",
              "Parameters": {"echo_string": "hi"}, "ResultPath": "$.hello", "Next": "Broken"},
    # nothing listens on port 1: the action cannot start (ActionUnableToRun), Catch goes on
    "Broken": {"Type": "Action", "ActionUrl": "http://127.0.0.1:1/nothing", "Parameters": {},
               "ResultPath": "$.x",
               "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error",
                          "Next": "Nap"}], "Next": "Nap"},
    "Nap": {"Type": "Wait", "Seconds": 20, "Next": "Done"},
    "Done": {"Type": "Pass", "Result": {"_private_password": "hunter2-secret", "ok": True},
             "ResultPath": "$.done", "End": True}}}
#: The graph's fill colours (gladier.ui.graph.STATUS_COLOURS) as RGB.
SUCCEEDED_FILL = (0xC8, 0xE6, 0xC9)
FAILED_FILL = (0xFF, 0xCD, 0xD2)


def start(served, monkeypatch, definition, *, label, title="Demo", body=None):
    flows, specific = flows_client(served, monkeypatch)
    flow = flows.create_flow(title=title, definition=definition, input_schema={})
    run = specific(flow["id"]).run_flow(body or {}, label=label)
    return flows, run["run_id"]


def test_without_the_token_the_dashboard_asks_for_it(served, browser_page):
    answer = browser_page.goto(served.url)
    assert answer.status == 401
    assert "?token=" in browser_page.text_content("main")


def test_runs_list_shows_a_run_appear_and_finish(served, browser_page, monkeypatch):
    browser_page.goto(served.dashboard_url)
    assert "token=" not in browser_page.url  # kept in a cookie, not in the address bar
    browser_page.wait_for_selector("#runs-body")
    flows, run_id = start(served, monkeypatch, NAP, label="appears live")
    row = f'#runs-body tr[data-run-id="{run_id}"]'
    browser_page.wait_for_selector(row + '[data-status="ACTIVE"]', timeout=20000)
    assert "appears live" in browser_page.text_content(row)
    assert "Demo" in browser_page.text_content(row)
    browser_page.wait_for_selector(row + '[data-status="SUCCEEDED"]', timeout=30000)
    browser_page.select_option("select[name=status]", "FAILED")
    browser_page.wait_for_selector(f'{row}', state="detached", timeout=10000)


def _pixels_like(page, png: bytes, colour: tuple) -> int:
    """How many pixels of the PNG are ``colour``, decoded and counted by the browser."""
    data_url = "data:image/png;base64," + base64.b64encode(png).decode()
    return page.evaluate("""async ([url, rgb]) => {
        const image = new Image();
        image.src = url;
        await image.decode();
        const canvas = document.createElement("canvas");
        canvas.width = image.width; canvas.height = image.height;
        const context = canvas.getContext("2d");
        context.drawImage(image, 0, 0);
        const pixels = context.getImageData(0, 0, image.width, image.height).data;
        let count = 0;
        for (let i = 0; i < pixels.length; i += 4) {
            if (Math.abs(pixels[i] - rgb[0]) < 6 && Math.abs(pixels[i + 1] - rgb[1]) < 6
                && Math.abs(pixels[i + 2] - rgb[2]) < 6) count++;
        }
        return count;
    }""", [data_url, list(colour)])


def test_run_page_colours_the_graph_live_marks_a_caught_failure_and_masks_secrets(
        served, browser_page, monkeypatch, tmp_path):
    flows, run_id = start(served, monkeypatch, CAUGHT, label="nightly reduction",
                          body={"_private_token": "zzz-private-input"})
    browser_page.goto(served.dashboard_url)
    browser_page.goto(f"{served.url}dashboard/runs/{run_id}")
    browser_page.wait_for_selector('#steps tr[data-state="Nap"][data-outcome="running"]',
                                   timeout=20000)
    assert "failed, run continued" in browser_page.text_content(
        '#steps tr[data-state="Broken"]')
    browser_page.wait_for_selector('#steps tr[data-state="Done"][data-outcome="succeeded"]',
                                   timeout=30000)
    browser_page.wait_for_selector("#run-head .s-SUCCEEDED")
    browser_page.click('#steps tr[data-state="Done"] summary:text("output")')
    shown = browser_page.content()
    assert "hunter2-secret" not in shown and "zzz-private-input" not in shown
    assert browser_page.is_disabled("#cancel")
    entries = browser_page.locator("#timeline li")
    assert entries.count() == len(flows.get_run_logs(run_id, limit=100)["entries"])
    picture = browser_page.screenshot(full_page=True, path=str(tmp_path / "run.png"))
    assert picture[:8] == b"\x89PNG\r\n\x1a\n" and len(picture) > 20000
    graph = browser_page.locator("#run-graph svg").screenshot()
    assert _pixels_like(browser_page, graph, SUCCEEDED_FILL) > 500  # green states
    assert _pixels_like(browser_page, graph, FAILED_FILL) > 100  # the caught failure


def test_cancel_button_stops_a_run(served, browser_page, monkeypatch):
    flows, run_id = start(served, monkeypatch, {"StartAt": "Long", "States": {
        "Long": {"Type": "Wait", "Seconds": 3600, "End": True}}}, label="too long")
    browser_page.goto(served.dashboard_url)
    browser_page.goto(f"{served.url}dashboard/runs/{run_id}")
    browser_page.wait_for_selector("#run-head .s-ACTIVE")
    browser_page.click("#cancel")
    browser_page.wait_for_selector("#run-head .s-FAILED", timeout=20000)
    assert "Canceled" in browser_page.text_content("#run-failure")
    assert flows.get_run(run_id)["details"]["code"] == "FlowCanceled"


def _signoff_started_elsewhere(tmp_path, served):
    """admin_signoff (Globus's example) started by a ``gladier run`` process that has
    exited, waiting for the admin's answer; returns its run id and the destination."""
    settings = json.loads((CORPUS / "admin_signoff" / "sample_input.json").read_text())[
        "file_manager_settings"]
    source, destination = tmp_path / "source", tmp_path / "enclave"
    (source / "path" / "to").mkdir(parents=True)
    (source / "path" / "to" / "file.txt").write_text("approved in a browser")
    destination.mkdir(exist_ok=True)
    collections = json.dumps({settings["source_endpoint"]: str(source),
                              settings["destination_endpoint"]: str(destination)})
    folder = CORPUS / "admin_signoff"
    started = subprocess.run(gladier_command(
        "run", str(folder / "definition.json"), "--schema", str(folder / "input_schema.json"),
        "--input", str(folder / "sample_input.json"), "--collections", collections,
        "--db", served.db, "--json"), capture_output=True, text=True, timeout=120)
    run = json.loads(started.stdout)
    assert run["status"] == "INACTIVE", started.stderr
    return run["run_id"], destination


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"no flows corpus at {CORPUS}")
def test_admin_signoff_is_approved_in_the_run_pages_form(served, browser_page, monkeypatch,
                                                        tmp_path):
    flows, _ = flows_client(served, monkeypatch)
    run_id, destination = _signoff_started_elsewhere(tmp_path, served)
    browser_page.goto(served.dashboard_url)
    browser_page.goto(f"{served.url}dashboard/runs/{run_id}")
    form = browser_page.wait_for_selector("#run-waiting .web-input", timeout=20000)
    assert "Secure Enclave" in form.text_content()
    assert "Total data item count" in form.text_content()  # the example's context rows
    web_input_id = flows.get_run(run_id)["blocking_web_input_id"]
    assert form.get_attribute("data-web-input-id") == web_input_id
    link = browser_page.get_attribute("#run-waiting a", "href")
    assert link == f"/dashboard/web-inputs/{web_input_id}"
    browser_page.click("#run-waiting button:has-text('Approve')")
    browser_page.wait_for_selector("#run-head .s-SUCCEEDED", timeout=30000)
    assert (destination / "file.txt").read_text() == "approved in a browser"


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"no flows corpus at {CORPUS}")
def test_admin_signoff_denied_on_the_web_inputs_own_page(served, browser_page, monkeypatch,
                                                        tmp_path):
    flows, _ = flows_client(served, monkeypatch)
    run_id, destination = _signoff_started_elsewhere(tmp_path, served)
    web_input_id = flows.get_run(run_id)["blocking_web_input_id"]
    browser_page.goto(served.dashboard_url)
    browser_page.goto(f"{served.url}dashboard/web-inputs/{web_input_id}")
    browser_page.click(".web-input button:has-text('Deny')")
    browser_page.wait_for_selector(".notice")
    done = wait_for_status(flows, run_id, {"SUCCEEDED", "FAILED"})
    assert done["status"] == "FAILED" and not (destination / "file.txt").exists()
    browser_page.goto(f"{served.url}dashboard/runs/{run_id}")
    browser_page.wait_for_selector("#run-failure .failure")
    assert "The transfer request was not approved." in browser_page.text_content("#run-failure")


def test_flows_list_and_flow_page_show_definitions_and_graphs(served, browser_page,
                                                              monkeypatch):
    flows, _ = start(served, monkeypatch, NAP, label="one", title="Napper")
    browser_page.goto(served.dashboard_url)
    browser_page.goto(f"{served.url}dashboard/flows")
    browser_page.click("#flows a:text('Napper')")
    browser_page.wait_for_selector("#definition")
    assert json.loads(browser_page.text_content("#definition")) == NAP
    assert browser_page.locator(".graph svg").count() == 1


def test_runs_list_pages_and_filters_by_label(served, browser_page, monkeypatch):
    flows, specific = flows_client(served, monkeypatch)
    flow = flows.create_flow(title="Quick", definition={"StartAt": "P", "States": {
        "P": {"Type": "Pass", "End": True}}}, input_schema={})
    ids = [specific(flow["id"]).run_flow({}, label=f"quick {n}")["run_id"] for n in range(23)]
    for run_id in ids:
        wait_for_status(flows, run_id, {"SUCCEEDED"})
    browser_page.goto(served.dashboard_url)
    rows = "#runs-body tr[data-run-id]"
    browser_page.wait_for_selector(f'{rows}[data-run-id="{ids[-1]}"]')
    assert browser_page.locator(rows).count() == 20  # the newest 20
    browser_page.click("text=Older →")
    browser_page.wait_for_selector(f'{rows}[data-run-id="{ids[0]}"]')
    assert browser_page.locator(rows).count() == 3
    browser_page.fill("input[name=label]", "quick 1")
    browser_page.press("input[name=label]", "Enter")
    browser_page.wait_for_selector(f'{rows}[data-run-id="{ids[19]}"]')
    shown = browser_page.locator(rows).evaluate_all("rows => rows.map(r => r.dataset.runId)")
    assert sorted(shown) == sorted(ids[n] for n in range(23) if str(n).startswith("1"))
