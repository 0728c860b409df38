// The run page, live: applies websocket events to the page at once and re-reads the
// state from the server (a snapshot) after bursts and on reconnect, so it is right even
// when events were dropped. Tells the canvas island the step statuses through a DOM event.
const root = document.getElementById("run");
const runId = root?.dataset.runId;
const FINISHED = new Set(["succeeded", "failed", "cancelled"]);
const STEP_DONE = new Set(["succeeded", "failed", "skipped", "cancelled"]);
const states = new Map();
let socket = null;
let refreshTimer = null;
let retryDelay = 500;

function label(status) {
  return status.charAt(0).toUpperCase() + status.slice(1);
}

function setBadge(element, status) {
  if (!element) return;
  element.className = `badge status-${status}`;
  element.textContent = label(status);
}

function applyStep(step) {
  states.set(step.node_id, step.status);
  const card = document.querySelector(`[data-step="${CSS.escape(step.node_id)}"]`);
  if (card) {
    setBadge(card.querySelector("[data-step-status]"), step.status);
    const error = card.querySelector("[data-step-error]");
    if (error) {
      error.textContent = step.error || "";
      error.hidden = !step.error;
    }
    if (step.status === "failed") card.open = true;
  }
  updateProgress();
  tellCanvas();
}

// The canvas island may mount after the first state: it also reads the last one here.
function tellCanvas() {
  const detail = { runId: Number(runId), steps: Object.fromEntries(states) };
  window.tributaryRunState = detail;
  document.dispatchEvent(new CustomEvent("tributary:run-state", { detail }));
}

function applyRun(run) {
  root.dataset.status = run.status;
  setBadge(document.querySelector("[data-run-status]"), run.status);
  const error = document.querySelector("[data-run-error]");
  if (error) {
    error.textContent = run.error || "";
    error.hidden = !run.error;
  }
  if (run.duration_seconds != null) {
    const duration = document.querySelector("[data-run-duration]");
    if (duration) duration.textContent = ` · ${run.duration_seconds.toFixed(3)} s`;
  }
  if (FINISHED.has(run.status) && root.dataset.rendered === "live") {
    // Finished while we watched: the actions change (re-run, retry), and the last outputs
    // and logs come in with one more read of the run.
    root.dataset.rendered = "finished";
    swapPart("run-actions");
    scheduleRefresh();
  }
}

// Server-rendered parts of the page (actions, timeline), fetched again by htmx.
function swapPart(id) {
  if (window.htmx && document.getElementById(id)) {
    window.htmx.ajax("GET", window.location.pathname, { target: `#${id}`, swap: "innerHTML" });
  }
}

function updateProgress() {
  const done = [...states.values()].filter((s) => STEP_DONE.has(s)).length;
  const bar = document.querySelector("[data-progress]");
  if (!bar || states.size === 0) return;
  bar.setAttribute("aria-valuenow", String(done));
  bar.querySelector(".bar").style.width = `${(done / states.size) * 100}%`;
  bar.querySelector("[data-done]").textContent = String(done);
}

function appendLog(nodeId, line) {
  const pane = document.querySelector(`[data-step="${CSS.escape(nodeId)}"] [data-step-logs]`);
  if (pane) pane.textContent += (pane.textContent ? "\n" : "") + line;
}

function showDetails(step) {
  const card = document.querySelector(`[data-step="${CSS.escape(step.node_id)}"]`);
  if (!card) return;
  const output = card.querySelector("[data-step-output]");
  if (output && step.output !== null) output.textContent = JSON.stringify(step.output, null, 2);
  const logs = card.querySelector("[data-step-logs]");
  if (logs && step.logs) logs.textContent = step.logs;
}

// Events are hints; after a burst, read the truth (statuses, outputs, logs) from the API.
function scheduleRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(async () => {
    const response = await fetch(`/api/runs/${runId}/`, { credentials: "same-origin" });
    if (!response.ok) return;
    const run = await response.json();
    run.steps.forEach((step) => { applyStep(step); showDetails(step); });
    applyRun(run);
    swapPart("run-timeline");
  }, 400);
}

function onMessage(message) {
  const data = JSON.parse(message.data);
  if (data.type === "snapshot") {
    data.steps.forEach(applyStep);
    applyRun(data.run);
  } else if (data.type === "step.changed") {
    applyStep(data.step);
    scheduleRefresh();
  } else if (data.type === "run.changed") {
    applyRun(data.run);
  } else if (data.type === "step.log") {
    appendLog(data.node_id, data.line);
  }
}

function connect() {
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${window.location.host}/ws/runs/${runId}/`);
  socket.addEventListener("open", () => { retryDelay = 500; });
  socket.addEventListener("message", onMessage);
  socket.addEventListener("close", () => {
    if (FINISHED.has(root.dataset.status)) return;
    setTimeout(connect, retryDelay);  // reconnect: the snapshot brings the page up to date
    retryDelay = Math.min(retryDelay * 2, 10000);
  });
}

if (runId) {
  root.dataset.rendered = FINISHED.has(root.dataset.status) ? "finished" : "live";
  document.querySelectorAll("[data-step]").forEach((card) => {
    states.set(card.dataset.step, card.querySelector("[data-step-status]").className
      .replace(/.*status-/, ""));
  });
  if (!FINISHED.has(root.dataset.status)) connect();
  tellCanvas();
}
