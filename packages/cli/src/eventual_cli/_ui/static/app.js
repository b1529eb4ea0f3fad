// eventual timeline UI: executions and, for one execution, a timeline of its calls.
// Plain DOM, no dependencies; every value from the service is inserted as text.
"use strict";

// The system API is the page's grandparent folder ({prefix}/_eventual/ui/ -> {prefix}/_eventual),
// so the page works wherever the service is mounted.
const API = new URL("..", document.baseURI).pathname.replace(/\/$/, "");
const TOKEN_KEY = "eventual-token";
const LIST_REFRESH_MS = 3000;
// A running execution's history is long-polled: the service answers as soon as a
// step commits, or after this many seconds, so that running bars keep growing.
const HISTORY_WAIT_S = 1;

const state = {
  token: sessionStorage.getItem(TOKEN_KEY) || "",
  timer: null,
  rendered: "",
  workflowsLoaded: false,
  schedules: "",
  // Bumped on every navigation, so a long-poll answering late draws nothing.
  generation: 0,
};

class NeedsToken extends Error {}

const $ = (id) => document.getElementById(id);

function element(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "className") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "style") Object.assign(node.style, value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child !== null && child !== undefined) {
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
  }
  return node;
}

async function api(path) {
  const headers = { accept: "application/json" };
  if (state.token) headers.authorization = "Bearer " + state.token;
  const response = await fetch(API + path, { headers, cache: "no-store" });
  if (response.status === 401) throw new NeedsToken("token required");
  let body = null;
  try {
    body = await response.json();
  } catch (error) {
    body = null;
  }
  if (!response.ok) {
    const message = body && body.error ? body.error : response.statusText;
    throw new Error(`${message} (HTTP ${response.status})`);
  }
  return body;
}

// --- time ---------------------------------------------------------------------

const ms = (text) => (text ? Date.parse(text) : NaN);

function duration(milliseconds) {
  if (!Number.isFinite(milliseconds)) return "";
  if (milliseconds < 1000) return `${Math.round(milliseconds)} ms`;
  const seconds = milliseconds / 1000;
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 2 : 1)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

function clock(text) {
  if (!text) return "";
  const date = new Date(text);
  return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
}

const short = (value, limit = 60) => {
  const text = JSON.stringify(value);
  if (text === undefined) return "";
  return text.length > limit ? text.slice(0, limit - 1) + "\u2026" : text;
};

// --- routing --------------------------------------------------------------------

function executionHref(id) {
  const [workflow, ...rest] = id.split("/");
  return `#/executions/${encodeURIComponent(workflow)}/${encodeURIComponent(rest.join("/"))}`;
}

function parseRoute() {
  const hash = location.hash.replace(/^#/, "") || "/";
  const detail = hash.match(/^\/executions\/([^/?]+)\/([^?]+)$/);
  if (detail) {
    return { view: "detail", id: `${decodeURIComponent(detail[1])}/${decodeURIComponent(detail[2])}` };
  }
  const query = new URLSearchParams(hash.split("?")[1] || "");
  return { view: "list", workflow: query.get("workflow") || "", status: query.get("status") || "" };
}

function show(view) {
  for (const id of ["token-panel", "list-view", "detail-view"]) $(id).hidden = id !== view;
}

function schedule(fn, delay) {
  clearTimeout(state.timer);
  state.timer = setTimeout(() => {
    if (document.hidden) schedule(fn, delay);
    else fn();
  }, delay);
}

async function route(moveFocus) {
  clearTimeout(state.timer);
  state.generation += 1;
  state.rendered = "";
  const current = parseRoute();
  const generation = state.generation;
  try {
    if (current.view === "detail") await renderDetail(current.id, moveFocus);
    else await renderList(current, moveFocus);
  } catch (error) {
    if (generation === state.generation) handle(error, current.view === "detail" ? "detail-error" : "list-error");
  }
}

function handle(error, target) {
  if (error instanceof NeedsToken) {
    askForToken();
    return;
  }
  $(target).textContent = `Could not load: ${error.message}`;
  $("live").textContent = "Update failed; retrying";
  schedule(() => route(false), LIST_REFRESH_MS);
}

// --- token ------------------------------------------------------------------------

function askForToken() {
  clearTimeout(state.timer);
  const hadToken = Boolean(state.token);
  show("token-panel");
  $("token-error").textContent = hadToken ? "That token was refused; enter the right one." : "";
  $("live").textContent = "Token required";
  $("token-input").focus();
}

$("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  state.token = $("token-input").value.trim();
  sessionStorage.setItem(TOKEN_KEY, state.token);
  $("token-input").value = "";
  route(true);
});

// --- the list ---------------------------------------------------------------------

async function loadWorkflows() {
  if (state.workflowsLoaded) return;
  const manifest = await api("/service");
  const select = $("filter-workflow");
  for (const workflow of manifest.workflows || []) {
    select.append(element("option", { value: workflow.name, text: workflow.name }));
  }
  state.workflowsLoaded = true;
}

$("filters").addEventListener("submit", (event) => {
  event.preventDefault();
  const query = new URLSearchParams();
  if ($("filter-workflow").value) query.set("workflow", $("filter-workflow").value);
  if ($("filter-status").value) query.set("status", $("filter-status").value);
  const text = query.toString();
  location.hash = "#/" + (text ? "?" + text : "");
});

function statusBadge(status) {
  return element("span", { className: `status status-${status}`, text: status });
}

async function renderList(filters, moveFocus) {
  await loadWorkflows();
  $("filter-workflow").value = filters.workflow;
  $("filter-status").value = filters.status;
  const query = new URLSearchParams({ limit: "100" });
  if (filters.workflow) query.set("workflow", filters.workflow);
  if (filters.status) query.set("status", filters.status);
  const page = await api(`/executions?${query}`);
  show("list-view");
  $("list-error").textContent = "";
  document.title = "eventual: executions";
  const key = JSON.stringify(page.executions.map((r) => [r.id, r.status]));
  if (key !== state.rendered) {
    state.rendered = key;
    const rows = page.executions.map((record) =>
      element(
        "tr",
        { "data-execution": record.id },
        element("td", {}, element("a", { href: executionHref(record.id), text: record.id })),
        element("td", {}, statusBadge(record.status)),
        element("td", { text: clock(record.started_at) }),
        element("td", {
          className: "number",
          text: record.ended_at ? duration(ms(record.ended_at) - ms(record.started_at)) : "running",
        }),
        element(
          "td",
          {},
          record.parent_id ? element("a", { href: executionHref(record.parent_id), text: record.parent_id }) : "",
        ),
      ),
    );
    $("executions").tBodies[0].replaceChildren(...rows);
    $("list-empty").hidden = rows.length > 0;
  }
  await renderSchedules();
  $("live").textContent = `${page.executions.length} executions, updated ${new Date().toLocaleTimeString()}`;
  if (moveFocus) $("list-title").focus({ preventScroll: true });
  schedule(() => renderList(filters, false).catch((error) => handle(error, "list-error")), LIST_REFRESH_MS);
}

function scheduleText(entry) {
  if (entry.kind === "cron") return `cron ${entry.expression} (${entry.tz})`;
  const seconds = entry.interval_seconds;
  for (const [unit, size] of [["d", 86400], ["h", 3600], ["min", 60]]) {
    if (seconds % size === 0) return `every ${seconds / size} ${unit}`;
  }
  return `every ${seconds} s`;
}

// The scheduled workflows, under the list; a service without any shows nothing.
async function renderSchedules() {
  const body = await api("/schedules");
  const key = JSON.stringify(body.schedules);
  if (key === state.schedules) return;
  state.schedules = key;
  const rows = body.schedules.map((entry) =>
    element(
      "tr",
      { "data-schedule": entry.workflow },
      element("td", { text: entry.workflow }),
      element("td", { text: scheduleText(entry) }),
      element("td", { text: `${entry.overlap}, ${entry.catch_up}` }),
      element("td", { text: entry.paused ? "paused" : "active" }),
      element("td", { text: clock(entry.next_run) }),
      element(
        "td",
        {},
        entry.last_run ? element("a", { href: executionHref(entry.last_run), text: entry.last_run }) : "",
        entry.last_status ? " " : "",
        entry.last_status ? statusBadge(entry.last_status) : "",
      ),
    ),
  );
  $("schedules").tBodies[0].replaceChildren(...rows);
  $("schedules-section").hidden = rows.length === 0;
}

// --- one execution ---------------------------------------------------------------

const ENDED = {
  TaskSucceeded: "succeeded",
  TaskFailed: "failed",
  TaskTimedOut: "timed out",
  TaskHeartbeatTimedOut: "missed heartbeat",
  ChildWorkflowSucceeded: "succeeded",
  ChildWorkflowFailed: "failed",
  TimerFired: "fired",
  TimerCancelled: "cancelled",
};

function outcomeClass(outcome) {
  if (outcome === "succeeded" || outcome === "fired") return "succeeded";
  if (outcome === "running" || outcome === "waiting" || outcome === "scheduled") return "running";
  if (outcome === "cancelled") return "cancelled";
  if (outcome === "timed out" || outcome === "TIMED_OUT") return "timed-out";
  if (["sent", "published", "received", "requested", "started"].includes(outcome)) return "neutral";
  return "failed";
}

// Turns a history into rows: one per call (its sequence number) and one per instant
// (a signal received, a cancel request), each with segments in time.
function buildTimeline(record, events) {
  const start = ms(events[0].timestamp);
  const now = record.ended_at ? ms(record.ended_at) : Date.now();
  const rows = [];
  const bySeq = new Map();
  const workflowRow = {
    seq: "",
    kind: "workflow",
    call: `${record.workflow}(${short(record.input)})`,
    start,
    end: record.ended_at ? ms(record.ended_at) : null,
    outcome: record.status === "RUNNING" ? "running" : record.status.toLowerCase().replace("_", " "),
    attempts: "",
    segments: [],
  };
  rows.push(workflowRow);
  const attempt = (row, from, to, outcome) => row.segments.push({ from, to, outcome });

  for (const event of events) {
    const at = ms(event.timestamp);
    const row = bySeq.get(event.seq);
    switch (event.type) {
      case "TaskScheduled": {
        const added = { seq: event.seq, kind: "task", call: `${event.task}(${event.args.map((a) => short(a, 30)).join(", ")})`, start: at, end: null, outcome: "running", attempts: 1, segments: [] };
        attempt(added, at, null, "running");
        bySeq.set(event.seq, added);
        rows.push(added);
        break;
      }
      case "TaskRetryScheduled": {
        if (!row) break;
        const last = row.segments[row.segments.length - 1];
        last.to = at;
        last.outcome = "failed";
        last.note = `attempt ${event.attempt - 1} failed: ${event.error_type}: ${event.message}`;
        attempt(row, at, ms(event.retry_at), "retry-wait");
        attempt(row, ms(event.retry_at), null, "running");
        row.attempts = event.attempt;
        row.error = `${event.error_type}: ${event.message}`;
        break;
      }
      case "TaskStarted": {
        // Written with the outcome: the wait before it was queueing, not running.
        if (!row) break;
        const last = row.segments[row.segments.length - 1];
        if (at > last.from) {
          last.to = at;
          last.outcome = "queued";
          attempt(row, at, null, "running");
        }
        break;
      }
      case "TimerScheduled": {
        const added = { seq: event.seq, kind: "timer", call: `sleep until ${clock(event.until)}`, start: at, end: null, planned: ms(event.until), outcome: "waiting", attempts: "", segments: [] };
        attempt(added, at, null, "running");
        bySeq.set(event.seq, added);
        rows.push(added);
        break;
      }
      case "ChildWorkflowScheduled": {
        const added = { seq: event.seq, kind: event.wait === false ? "child (started)" : "child workflow", call: `${event.execution_id}(${short(event.input, 40)})`, child: event.execution_id, start: at, end: event.wait === false ? at : null, outcome: event.wait === false ? "started" : "running", attempts: "", segments: [] };
        attempt(added, at, event.wait === false ? at : null, event.wait === false ? "instant" : "running");
        bySeq.set(event.seq, added);
        rows.push(added);
        break;
      }
      case "SignalSent":
        rows.push({ seq: event.seq, kind: "signal sent", call: `${event.signal} \u2192 ${event.execution_id}: ${short(event.payload, 40)}`, start: at, end: at, outcome: "sent", attempts: "", segments: [{ from: at, to: at, outcome: "instant" }] });
        break;
      case "EventsPublished":
        rows.push({ seq: event.seq, kind: "publish", call: event.events.map((e) => `${e.name} ${short(e.payload, 40)}`).join(", "), start: at, end: at, outcome: "published", attempts: "", segments: [{ from: at, to: at, outcome: "instant" }] });
        break;
      case "SignalReceived":
        rows.push({ seq: "", kind: "signal received", call: `${event.signal}: ${short(event.payload, 40)}`, start: at, end: at, outcome: "received", attempts: "", segments: [{ from: at, to: at, outcome: "instant" }] });
        break;
      case "WorkflowContinuedAsNew":
        // The run's calls still waiting were cancelled; the next run follows on the same axis.
        for (const open of rows) {
          if (open !== workflowRow && open.end === null) {
            open.end = at;
            open.outcome = "cancelled";
            const last = open.segments[open.segments.length - 1];
            last.to = at;
            last.outcome = "cancelled";
          }
        }
        rows.push({ seq: "", kind: "continued as new", call: `run ${event.run} \u2192 run ${event.run + 1} with ${short(event.input, 40)}`, start: at, end: at, outcome: "started", attempts: "", segments: [{ from: at, to: at, outcome: "instant" }] });
        break;
      case "WorkflowCancelRequested":
        rows.push({ seq: "", kind: "cancel request", call: event.reason || "cancel requested", start: at, end: at, outcome: "requested", attempts: "", segments: [{ from: at, to: at, outcome: "instant" }] });
        break;
      default:
        if (row && event.type in ENDED) {
          row.end = at;
          row.outcome = ENDED[event.type];
          if (event.attempt) row.attempts = event.attempt;
          if (event.error_type) row.error = `${event.error_type}: ${event.message}`;
          const last = row.segments[row.segments.length - 1];
          last.to = at;
          last.outcome = outcomeClass(row.outcome);
        }
    }
  }
  workflowRow.segments.push({ from: start, to: workflowRow.end, outcome: outcomeClass(record.status === "RUNNING" ? "running" : workflowRow.outcome) });
  if (record.error_type) workflowRow.error = `${record.error_type}: ${record.message || ""}`;
  let end = now;
  for (const row of rows) {
    for (const segment of row.segments) {
      if (segment.to === null) segment.to = now;
      end = Math.max(end, segment.to);
    }
  }
  return { rows, start, span: Math.max(end - start, 1) };
}

function bar(row, timeline) {
  const track = element("div", { className: "track", role: "img" });
  const percent = (value) => ((value - timeline.start) / timeline.span) * 100;
  for (const segment of row.segments) {
    const left = percent(segment.from);
    if (segment.outcome === "instant") {
      track.append(element("span", { className: "marker outcome-instant", style: { left: `${left}%` } }));
      continue;
    }
    const width = Math.max(percent(segment.to) - left, 0.3);
    track.append(
      element("span", {
        className: `segment outcome-${segment.outcome}`,
        style: { left: `${Math.min(left, 99.7)}%`, width: `${width}%` },
        title: segment.note || "",
      }),
    );
  }
  const when = `starts at +${duration(row.start - timeline.start)}`;
  const took = row.end !== null ? `, took ${duration(row.end - row.start)}` : ", still going";
  const tries = row.attempts > 1 ? `, ${row.attempts} attempts` : "";
  // Failed attempts are also in the label: their tooltips need a mouse.
  const failures = row.segments.filter((segment) => segment.note).map((segment) => `; ${segment.note}`).join("");
  track.setAttribute("aria-label", `${row.kind} ${row.call}: ${row.outcome}, ${when}${took}${tries}${failures}`);
  return track;
}

function summaryItem(list, term, value) {
  list.append(element("dt", { text: term }), element("dd", {}, value));
}

const visible = () =>
  new Promise((resolve) => {
    if (!document.hidden) resolve();
    else document.addEventListener("visibilitychange", resolve, { once: true });
  });

async function renderDetail(id, moveFocus) {
  const generation = state.generation;
  const path = executionHref(id).replace("#/executions", "/executions");
  let [record, body, logBody] = await Promise.all([api(path), api(`${path}/history`), api(`${path}/logs`)]);
  const events = body.events;
  const logs = logBody.entries;
  for (;;) {
    // The history's status is read before its events, so once it has ended the
    // events are all here; the record then holds the result and the end time.
    if (body.status !== "RUNNING" && record.status === "RUNNING") record = await api(path);
    if (generation !== state.generation) return;
    drawDetail(id, record, events, logs, moveFocus);
    moveFocus = false;
    if (body.status !== "RUNNING") return;
    await visible();
    body = await api(`${path}/history?after=${body.next}&wait=${HISTORY_WAIT_S}`);
    events.push(...body.events);
    // Lines are kept after their step commits: read them once the step shows.
    logBody = await api(`${path}/logs?after=${logBody.next}`);
    logs.push(...logBody.entries);
  }
}

function drawLogs(logs) {
  $("logs-empty").hidden = logs.length > 0;
  $("logs").tBodies[0].replaceChildren(
    ...logs.map((entry) =>
      element(
        "tr",
        { className: `level-${entry.level}` },
        element("td", { className: "number", text: String(entry.seq) }),
        element("td", { text: clock(entry.time) }),
        element("td", { text: entry.task ? `${entry.task} (attempt ${entry.attempt})` : "workflow" }),
        element("td", { text: entry.level }),
        element("td", { className: "message", text: entry.message }),
      ),
    ),
  );
}

function drawDetail(id, record, events, logs, moveFocus) {
  show("detail-view");
  $("detail-error").textContent = "";
  document.title = `eventual: ${id}`;
  const key = `${record.status}|${events.length}|${logs.length}`;
  const running = record.status === "RUNNING";
  if (key !== state.rendered || running) {
    const sameData = key === state.rendered;
    state.rendered = key;
    $("detail-title").textContent = id;
    const summary = $("summary");
    summary.replaceChildren();
    summaryItem(summary, "Status", statusBadge(record.status));
    summaryItem(summary, "Workflow", record.workflow);
    if (record.parent_id) summaryItem(summary, "Parent", element("a", { href: executionHref(record.parent_id), text: record.parent_id }));
    summaryItem(summary, "Started", clock(record.started_at));
    // continue_as_new: every run is in the history and on the timeline, in order.
    if (record.run > 1) summaryItem(summary, "Runs", `${record.run} (continued as new; the current run starts at history event ${record.run_start})`);
    summaryItem(summary, "Duration", duration((record.ended_at ? ms(record.ended_at) : Date.now()) - ms(record.started_at)) + (running ? " so far" : ""));
    summaryItem(summary, "Input", element("pre", { text: JSON.stringify(record.input, null, 1) }));
    if (record.status === "SUCCEEDED") summaryItem(summary, "Result", element("pre", { text: JSON.stringify(record.result, null, 1) }));
    if (record.error_type) summaryItem(summary, "Error", `${record.error_type}: ${record.message || ""}`);

    const timeline = buildTimeline(record, events);
    const focused = document.activeElement && document.activeElement.closest("#timeline") ? document.activeElement.getAttribute("href") : null;
    const rows = timeline.rows.map((row) =>
      element(
        "tr",
        { className: row.end === null && running ? "running-now" : "", "data-kind": row.kind },
        element("td", { className: "number", text: String(row.seq) }),
        element("td", { text: row.kind }),
        element("td", { className: "call" }, row.child ? element("a", { href: executionHref(row.child), text: row.call }) : row.call),
        element("td", { className: `outcome-text-${outcomeClass(row.outcome)}`, title: row.error || null, text: row.error && row.outcome !== "succeeded" ? `${row.outcome}: ${row.error}` : row.outcome }),
        element("td", { className: "number", text: String(row.attempts) }),
        element("td", { className: "number", text: `+${duration(row.start - timeline.start)}` }),
        element("td", { className: "number", text: row.end !== null ? duration(row.end - row.start) : "\u2026" }),
        element("td", {}, bar(row, timeline)),
      ),
    );
    $("timeline").tBodies[0].replaceChildren(...rows);
    if (focused) {
      const again = document.querySelector(`#timeline a[href="${CSS.escape(focused)}"]`);
      if (again) again.focus();
    }
    if (!sameData) {
      drawLogs(logs);
      $("event-count").textContent = String(events.length);
      $("events").replaceChildren(
        ...events.map((event) => element("li", { text: `${event.timestamp} ${event.type}${event.seq !== undefined ? " #" + event.seq : ""} ${short(Object.fromEntries(Object.entries(event).filter(([k]) => !["type", "timestamp", "seq"].includes(k))), 200)}` })),
      );
    }
  }
  $("live").textContent = running ? `${id} is running; updating as it goes` : `${id} ${record.status.toLowerCase()}`;
  if (moveFocus) $("detail-title").focus({ preventScroll: false });
}

// --- start --------------------------------------------------------------------------

for (const id of ["list-title", "detail-title"]) $(id).setAttribute("tabindex", "-1");
window.addEventListener("hashchange", () => route(true));
fetch(API + "/health", { cache: "no-store" })
  .then((response) => response.json())
  .then((health) => {
    $("service-name").textContent = health.service;
  })
  .catch(() => {});
route(false);
