// gladier serve dashboard. Plain JavaScript, no libraries: every page is filled from the
// Flows API routes (the ones globus-sdk calls) and the run page's document, and refreshed
// while what it shows can still change.
"use strict";

const LIVE = new Set(["ACTIVE", "INACTIVE"]);
const RUN_POLL_MS = 1000;
const LIST_POLL_MS = 2000;
const PER_PAGE = 20;

// --- helpers -------------------------------------------------------------------------------

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "className") node.className = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

async function api(path, options) {
  const init = Object.assign({credentials: "same-origin", headers: {}}, options || {});
  if (init.body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(init.body);
  }
  const response = await fetch(path, init);
  let data = null;
  try { data = await response.json(); } catch (err) { data = null; }
  if (!response.ok) {
    const error = (data && data.error) || {};
    const detail = typeof error.detail === "string" ? error.detail : JSON.stringify(error.detail);
    throw new Error(`${response.status} ${error.code || ""}: ${error.message || detail || ""}`);
  }
  return data;
}

// replaceChildren() would show a null child as the text "null".
function fill(node, ...children) {
  node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
}

function pad(n) { return String(n).padStart(2, "0"); }

function fmtTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (isNaN(d)) return iso;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
         `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

function fmtClock(iso) {
  const d = iso ? new Date(iso) : null;
  return d && !isNaN(d) ? `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}` : "";
}

function fmtSeconds(seconds) {
  if (seconds === null || seconds === undefined || isNaN(seconds)) return "";
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 2 : 1)} s`;
  const whole = Math.floor(seconds);
  const h = Math.floor(whole / 3600), m = Math.floor((whole % 3600) / 60), s = whole % 60;
  return h ? `${h}h${pad(m)}m${pad(s)}s` : `${m}m${pad(s)}s`;
}

function duration(start, end) {
  if (!start) return "";
  const finish = end ? new Date(end) : new Date();
  return fmtSeconds((finish - new Date(start)) / 1000);
}

function badge(status) {
  return el("span", {className: `badge s-${status}`}, status);
}

function outcomeBadge(outcome) {
  return el("span", {className: `badge o-${String(outcome).replace(/ /g, "-")}`}, outcome);
}

function jsonBlock(value, label, key) {
  return el("details", {"data-key": key},
            el("summary", {}, label), el("pre", {}, JSON.stringify(value, null, 2)));
}

// Keep which <details> are open across a refresh of the part they are in.
function replaceKeepingOpen(container, fresh) {
  const open = new Set([...container.querySelectorAll("details[open]")]
    .map((node) => node.getAttribute("data-key")));
  fresh.querySelectorAll("details").forEach((node) => {
    if (open.has(node.getAttribute("data-key"))) node.open = true;
  });
  fill(container, ...fresh.childNodes);
}

function showError(target, err) {
  fill(target, el("p", {className: "error"}, String(err.message || err)));
}

function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "") search.set(key, value);
  }
  return search.toString();
}

const main = document.getElementById("main");
const page = document.body.dataset.page;

// --- runs list -------------------------------------------------------------------------------

function runsPage() {
  const initial = new URLSearchParams(location.search);
  const filters = {filter_status: initial.get("status") || "", filter_label: initial.get("label") || "",
                   filter_flow_title: initial.get("flow_title") || "",
                   filter_flow_id: initial.get("flow_id") || ""};
  let markers = [null];  // the marker of each page seen so far (null: the first)
  let index = 0, next = null, timer = null;

  const statusSelect = el("select", {name: "status", onchange: () => { filters.filter_status = statusSelect.value; restart(); }},
    el("option", {value: ""}, "any"),
    ...["ACTIVE", "INACTIVE", "SUCCEEDED", "FAILED", "ENDED"].map((s) => el("option", {value: s}, s)));
  statusSelect.value = filters.filter_status;
  const labelInput = el("input", {name: "label", placeholder: "part of a label", value: filters.filter_label});
  const flowInput = el("input", {name: "flow_title", placeholder: "part of a flow title", value: filters.filter_flow_title});
  const apply = () => { filters.filter_label = labelInput.value.trim(); filters.filter_flow_title = flowInput.value.trim(); restart(); };
  labelInput.addEventListener("change", apply);
  flowInput.addEventListener("change", apply);
  const body = el("tbody", {id: "runs-body"});
  const newer = el("button", {onclick: () => { index -= 1; load(); }}, "← Newer");
  const older = el("button", {onclick: () => { markers[index + 1] = next; index += 1; load(); }}, "Older →");
  const where = el("span", {className: "muted"});
  fill(main,
    el("h1", {}, "Runs"),
    el("div", {className: "filters"},
       el("label", {}, "Status", statusSelect), el("label", {}, "Label", labelInput),
       el("label", {}, "Flow", flowInput),
       filters.filter_flow_id ? el("span", {className: "muted"}, `flow ${filters.filter_flow_id} `,
                                   el("a", {href: "/"}, "(all flows)")) : null),
    el("table", {id: "runs"},
       el("thead", {}, el("tr", {}, ["Status", "Flow", "Label", "Started", "Duration", "Run"].map((h) => el("th", {}, h)))),
       body),
    el("div", {className: "pager"}, newer, older, where));

  function restart() { markers = [null]; index = 0; load(); }

  async function load() {
    clearTimeout(timer);
    const marker = markers[index];
    const params = marker ? {marker} : Object.assign({per_page: PER_PAGE}, filters);
    try {
      const data = await api(`/runs?${query(params)}`);
      next = data.has_next_page ? data.marker : null;
      fill(body, ...data.runs.map(runRow));
      if (!data.runs.length) body.append(el("tr", {}, el("td", {colspan: 6, className: "muted"}, "No runs yet.")));
      newer.disabled = index === 0;
      older.disabled = !next;
      where.textContent = `page ${index + 1}`;
    } catch (err) {
      fill(body, el("tr", {}, el("td", {colspan: 6, className: "error"}, String(err.message))));
    }
    timer = setTimeout(load, LIST_POLL_MS);
  }

  function runRow(run) {
    const link = `/dashboard/runs/${run.run_id}`;
    return el("tr", {"data-run-id": run.run_id, "data-status": run.status},
      el("td", {}, badge(run.status)),
      el("td", {}, el("a", {href: `/dashboard/flows/${run.flow_id}`}, run.flow_title || run.flow_id)),
      el("td", {}, el("a", {href: link}, run.label || "(no label)")),
      el("td", {}, fmtTime(run.start_time)),
      el("td", {}, duration(run.start_time, run.completion_time)),
      el("td", {}, el("a", {href: link}, el("code", {className: "run-id"}, run.run_id))));
  }

  load();
}

// --- web input form --------------------------------------------------------------------------

function webInputForm(doc, onAnswered) {
  const box = el("div", {className: "web-input", "data-web-input-id": doc.id});
  const context = doc.context || {};
  box.append(el("h2", {}, context.title || "A person's input is needed"));
  if (context.text) box.append(el("p", {}, context.text));
  if (Array.isArray(context.rows)) {
    box.append(el("table", {className: "context"},
      el("tbody", {}, context.rows.map((row) => el("tr", {}, el("th", {}, row.field),
                                                   el("td", {}, typeof row.value === "string" ? row.value : JSON.stringify(row.value)))))));
  }
  if (doc.status !== "open") {
    box.append(el("p", {className: "notice"}, "This web input is closed: it was answered (or expired)."));
    return box;
  }
  const message = el("div", {});
  async function respond(value) {
    box.querySelectorAll("button").forEach((b) => { b.disabled = true; });
    try {
      await api(`/web_inputs/${doc.id}/respond`, {method: "POST", body: {response: {value}}});
      fill(message, el("p", {className: "notice"}, "Answer sent; the run goes on."));
      if (onAnswered) onAnswered();
    } catch (err) {
      box.querySelectorAll("button").forEach((b) => { b.disabled = false; });
      showError(message, err);
    }
  }
  box.append(schemaInput(doc.input_schema || {}, respond), message);
  return box;
}

// The web input's schema drives its form: one button per option of its choice (the
// approve/reject and the other selections of Globus's examples, the only input type).
function schemaInput(schema, submit) {
  const choices = Array.isArray(schema.oneOf) ? schema.oneOf : [];
  return el("div", {className: "options"}, choices.map((choice) =>
    el("div", {className: "option"},
       el("button", {className: "primary", type: "button", "data-option": choice.const,
                     onclick: () => submit(choice.const)}, choice.title || String(choice.const)),
       choice.description ? el("p", {}, choice.description) : null)));
}

function webInputPage() {
  const id = document.body.dataset.webInputId;
  api(`/web_inputs/${id}`).then((doc) => {
    const runLink = doc.run && doc.run.id ? el("a", {href: `/dashboard/runs/${doc.run.id}`}, doc.run.label || doc.run.id) : null;
    fill(main, el("h1", {}, "Web input"),
      el("p", {className: "muted"}, "Flow ", (doc.flow && doc.flow.title) || "", runLink ? " · run " : "", runLink),
      el("div", {className: "card"}, webInputForm(doc, null)));
  }).catch((err) => showError(main, err));
}

// --- run page --------------------------------------------------------------------------------

function drawGraph(graph) {
  if (graph.svg) {
    const parsed = new DOMParser().parseFromString(graph.svg, "image/svg+xml");
    const svg = parsed.documentElement;
    svg.querySelectorAll("script").forEach((node) => node.remove());
    return el("div", {className: "graph"}, document.importNode(svg, true));
  }
  return el("div", {className: "graph graph-list"},
            graph.states.map((state) => el("span", {className: `badge o-${state.outcome.replace(/ /g, "-")}`,
                                                    title: state.type}, state.name)));
}

function stepRow(step, index) {
  return el("tr", {"data-state": step.name, "data-outcome": step.outcome},
    el("td", {}, step.name, el("div", {className: "muted"}, step.type)),
    el("td", {}, outcomeBadge(step.outcome),
       step.continued ? el("div", {className: "continued", title: "This state failed; a Catch let the run go on"}, "failed, run continued") : null),
    el("td", {className: "nowrap", title: fmtTime(step.started)}, fmtClock(step.started)),
    el("td", {className: "nowrap"}, fmtSeconds(step.seconds)),
    el("td", {},
       step.input !== undefined && step.input !== null ? jsonBlock(step.input, "input", `in-${index}`) : null,
       step.output !== undefined && step.output !== null ? jsonBlock(step.output, "output", `out-${index}`) : null,
       step.error ? jsonBlock(step.error, "error", `err-${index}`) : null));
}

function logItem(entry, index) {
  const failed = /Failed|Canceled|Timeout|Exception/.test(entry.code);
  const done = /Succeeded|Completed/.test(entry.code);
  return el("li", {className: failed ? "e-failed" : (done ? "e-succeeded" : "")},
    el("span", {className: "time"}, fmtTime(entry.time)), el("strong", {}, entry.code), " ",
    el("span", {className: "muted"}, entry.description),
    entry.details && Object.keys(entry.details).length ? jsonBlock(entry.details, "details", `log-${index}`) : null);
}

function runPage() {
  const runId = document.body.dataset.runId;
  const head = el("div", {id: "run-head"});
  const failure = el("div", {id: "run-failure"});
  const waiting = el("div", {id: "run-waiting"});
  const graph = el("div", {id: "run-graph", className: "card"});
  const steps = el("div", {id: "run-steps"});
  const log = el("div", {id: "run-log", className: "card"});
  fill(main, head, failure, waiting,
    el("div", {className: "layout"}, el("div", {}, el("h2", {}, "Flow"), graph),
       el("div", {}, el("h2", {}, "States"), steps)),
    el("h2", {}, "Log"), log);
  let lastSvg = null, shownWebInput = null, timer = null;

  async function act(verb) {
    try {
      await api(`/runs/${runId}/${verb}`, {method: "POST"});
    } catch (err) {
      showError(failure, err);
    }
    refresh();
  }

  function render(view) {
    const run = view.run;
    const live = LIVE.has(run.status);
    fill(head,
      el("h1", {}, run.label || "Run ", run.label ? null : el("code", {}, run.run_id), " ", badge(run.status)),
      el("dl", {className: "meta"},
         el("dt", {}, "Flow"), el("dd", {}, el("a", {href: `/dashboard/flows/${run.flow_id}`}, run.flow_title || run.flow_id)),
         el("dt", {}, "Run id"), el("dd", {}, el("code", {}, run.run_id)),
         el("dt", {}, "Started"), el("dd", {}, fmtTime(run.start_time)),
         el("dt", {}, "Duration"), el("dd", {id: "run-duration"}, duration(run.start_time, run.completion_time)),
         run.tags && run.tags.length ? [el("dt", {}, "Tags"), el("dd", {}, run.tags.join(", "))] : null,
         view.running.length ? [el("dt", {}, "Now"), el("dd", {}, view.running.join(", "))] : null),
      el("div", {className: "actions"},
         el("button", {className: "danger", id: "cancel", disabled: !live, onclick: () => act("cancel")}, "Cancel run"),
         el("button", {id: "resume", disabled: !live, onclick: () => act("resume"),
                       title: "Continue the run here if the process that drove it is gone"}, "Resume run")));
    if (view.failure) {
      const f = view.failure;
      fill(failure, el("div", {className: "failure"},
        el("h2", {}, f.code === "FlowCanceled" ? "Canceled" : "Failed", f.state_name ? ` in state ${f.state_name}` : ""),
        f.error ? el("p", {}, el("strong", {}, f.error)) : null,
        el("p", {}, f.cause || f.description || "")));
    } else {
      fill(failure);
    }
    const webInput = view.web_input;
    if (webInput && webInput.id !== shownWebInput) {
      shownWebInput = webInput.id;
      fill(waiting, el("div", {className: "waiting"},
        el("p", {}, "This run waits for a person's answer (",
           el("a", {href: `/dashboard/web-inputs/${webInput.id}`}, "open the form on its own page"), ")."),
        webInputForm(webInput, refresh)));
    } else if (!webInput && shownWebInput) {
      shownWebInput = null;
      fill(waiting);
    }
    const svgKey = view.graph.svg || JSON.stringify(view.graph.states);
    if (svgKey !== lastSvg) {
      lastSvg = svgKey;
      fill(graph, drawGraph(view.graph));
    }
    const table = el("div", {}, el("table", {id: "steps"},
      el("thead", {}, el("tr", {}, ["State", "Outcome", "Started", "Took", "Data"].map((h) => el("th", {}, h)))),
      el("tbody", {}, view.steps.map(stepRow))));
    replaceKeepingOpen(steps, table);
    const entries = el("div", {},
      view.log_count > view.log.length ? el("p", {className: "muted"}, `The ${view.log.length} newest of ${view.log_count} entries.`) : null,
      el("ol", {className: "timeline", id: "timeline"}, view.log.map(logItem)),
      view.run.details ? jsonBlock(view.run.details, "run details", "run-details") : null);
    replaceKeepingOpen(log, entries);
    return live;
  }

  async function refresh() {
    clearTimeout(timer);
    let live = true;
    try {
      live = render(await api(`/dashboard/api/runs/${runId}`));
    } catch (err) {
      showError(failure, err);
    }
    if (live) timer = setTimeout(refresh, RUN_POLL_MS);
  }

  refresh();
}

// --- flows -----------------------------------------------------------------------------------

function flowsPage() {
  let markers = [null], index = 0, next = null;
  const body = el("tbody", {});
  const newer = el("button", {onclick: () => { index -= 1; load(); }}, "← Newer");
  const older = el("button", {onclick: () => { markers[index + 1] = next; index += 1; load(); }}, "Older →");
  fill(main, el("h1", {}, "Flows"),
    el("table", {id: "flows"}, el("thead", {}, el("tr", {}, ["Title", "States", "Updated", "Flow id", "Runs"].map((h) => el("th", {}, h)))), body),
    el("div", {className: "pager"}, newer, older));

  async function load() {
    const marker = markers[index];
    try {
      const data = await api(`/flows?${query(marker ? {marker} : {per_page: PER_PAGE})}`);
      next = data.has_next_page ? data.marker : null;
      fill(body, ...data.flows.map((flow) => el("tr", {"data-flow-id": flow.id},
        el("td", {}, el("a", {href: `/dashboard/flows/${flow.id}`}, flow.title || "(untitled)"),
           flow.subtitle ? el("div", {className: "muted"}, flow.subtitle) : null),
        el("td", {}, Object.keys((flow.definition && flow.definition.States) || {}).length),
        el("td", {}, fmtTime(flow.updated_at)),
        el("td", {}, el("code", {}, flow.id)),
        el("td", {}, el("a", {href: `/?flow_id=${flow.id}`}, "runs")))));
      if (!data.flows.length) body.append(el("tr", {}, el("td", {colspan: 5, className: "muted"}, "No flows yet.")));
      newer.disabled = index === 0;
      older.disabled = !next;
    } catch (err) {
      fill(body, el("tr", {}, el("td", {colspan: 5, className: "error"}, String(err.message))));
    }
  }
  load();
}

function flowPage() {
  const flowId = document.body.dataset.flowId;
  Promise.all([api(`/flows/${flowId}`), api(`/dashboard/api/flows/${flowId}/graph`),
               api(`/runs?${query({filter_flow_id: flowId, per_page: 10})}`)])
    .then(([flow, graph, runs]) => {
      fill(main,
        el("h1", {}, flow.title || "(untitled flow)"),
        flow.description ? el("p", {}, flow.description) : null,
        el("dl", {className: "meta"}, el("dt", {}, "Flow id"), el("dd", {}, el("code", {}, flow.id)),
           el("dt", {}, "Created"), el("dd", {}, fmtTime(flow.created_at)),
           el("dt", {}, "Updated"), el("dd", {}, fmtTime(flow.updated_at))),
        el("div", {className: "layout"},
           el("div", {}, el("h2", {}, "Graph"), el("div", {className: "card"}, drawGraph(graph))),
           el("div", {}, el("h2", {}, "Definition"), el("pre", {id: "definition"}, JSON.stringify(flow.definition, null, 2)),
              el("h2", {}, "Input schema"), el("pre", {}, JSON.stringify(flow.input_schema, null, 2)))),
        el("h2", {}, "Recent runs ", el("a", {href: `/?flow_id=${flow.id}`}, "(all)")),
        el("table", {}, el("tbody", {}, runs.runs.map((run) => el("tr", {},
          el("td", {}, badge(run.status)),
          el("td", {}, el("a", {href: `/dashboard/runs/${run.run_id}`}, run.label || run.run_id)),
          el("td", {}, fmtTime(run.start_time)), el("td", {}, duration(run.start_time, run.completion_time)))))));
    }).catch((err) => showError(main, err));
}

({"runs": runsPage, "run": runPage, "flows": flowsPage, "flow": flowPage, "web-input": webInputPage}[page] || (() => {}))();
