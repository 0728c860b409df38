// The run page, live: applies websocket events to the page at once and re-reads the
// state from the server (a snapshot) after bursts and on reconnect, so it is right even
// when events were dropped. Tells the canvas island the step statuses through a DOM event.
const root = document.getElementById("run");
const runId = root?.dataset.runId;
const FINISHED = new Set(["succeeded", "failed", "cancelled"]);
const STEP_DONE = new Set(["succeeded", "failed", "skipped", "cancelled"]);
const states = new Map();
const retrying = new Map();  // node id -> {failures, wakeAt} while a step waits to retry
const progress = new Map();  // node id -> {total, done, failed, running} of a for-each
const handled = new Set();  // node ids of steps that failed into their error path
let socket = null;
let refreshTimer = null;
let retryDelay = 500;

function label(status) {
  return status.charAt(0).toUpperCase() + status.slice(1);
}

// A step that failed into its error path is "Failed — handled": the run went on.
function setBadge(element, status, isHandled = false) {
  if (!element) return;
  element.className = `badge status-${status}${isHandled ? " handled" : ""}`;
  element.textContent = isHandled ? "Failed — handled" : label(status);
  element.toggleAttribute("data-handled", isHandled);
  if (element.hasAttribute("data-step-status")) element.dataset.stepStatus = status;
}

function applyStep(step) {
  states.set(step.node_id, step.status);
  if (step.handle !== undefined) {
    if (step.status === "failed" && step.handle === "error") handled.add(step.node_id);
    else handled.delete(step.node_id);
  }
  if (step.progress) showProgress(step.node_id, step.progress, false);
  const card = document.querySelector(`[data-step="${CSS.escape(step.node_id)}"]`);
  if (card) {
    setBadge(card.querySelector("[data-step-status]"), step.status, handled.has(step.node_id));
    showText(card.querySelector("[data-step-error]"), step.error);
    showRetry(card, step);
    if (step.status === "failed" && !handled.has(step.node_id)) card.open = true;
  }
  updateProgress();
  tellCanvas();
}

function showText(element, text) {
  if (!element || text === undefined) return;
  element.textContent = text || "";
  element.hidden = !text;
}

// A step waiting after a failure is retrying: "retrying (attempt 2, next at 14:02:07)".
// The same wording as the designer's (static/src/canvas/retry.js). Events without the
// fields leave the line as it is; the next read of the API fills them in.
function showRetry(card, step) {
  const line = card.querySelector("[data-step-retry]");
  if (!line) return;
  if (step.status !== "waiting") {
    retrying.delete(step.node_id);
  } else if (step.failures !== undefined) {
    if (step.failures > 0) retrying.set(step.node_id, { failures: step.failures, wakeAt: step.wake_at });
    else retrying.delete(step.node_id);
  }
  const retry = retrying.get(step.node_id);
  showText(line, retry ? retryText(retry.failures, retry.wakeAt) : "");
}

function retryText(failures, wakeAt) {
  const at = wakeAt ? new Date(wakeAt) : null;
  const when = at && !Number.isNaN(at.getTime())
    ? at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" }) : "soon";
  return `retrying (attempt ${failures + 1}, next at ${when})`;
}

// A for-each's items: "37/40 done, 3 failed" and its bar, on the step and on the canvas.
// ``fresh`` (a step.progress frame) also re-reads the page of items shown, now and then.
function showProgress(nodeId, counts, fresh) {
  progress.set(nodeId, counts);
  const card = document.querySelector(`[data-step="${CSS.escape(nodeId)}"]`);
  const bar = card?.querySelector("[data-step-progress]");
  if (bar) {
    bar.setAttribute("aria-valuemax", String(counts.total));
    bar.setAttribute("aria-valuenow", String(counts.done));
    bar.querySelector(".bar").style.width = `${counts.total ? (counts.done / counts.total) * 100 : 0}%`;
    bar.querySelector("[data-progress-text]").textContent = progressText(counts);
  }
  if (fresh) scheduleItems(nodeId);
}

function progressText(counts) {
  return `${counts.done}/${counts.total} done${counts.failed ? `, ${counts.failed} failed` : ""}`;
}

// The page of items on show, read again at most once a second while the loop runs.
const itemTimers = new Map();
function scheduleItems(nodeId) {
  if (itemTimers.has(nodeId)) return;
  itemTimers.set(nodeId, setTimeout(() => {
    itemTimers.delete(nodeId);
    const selector = `[data-items="${CSS.escape(nodeId)}"]`;
    const list = document.querySelector(selector);
    if (!list || !window.htmx) return;
    const query = new URLSearchParams({ page: list.dataset.page || "1", status: list.dataset.filter || "" });
    window.htmx.ajax("GET", `${list.dataset.url}?${query}`, { target: selector, swap: "outerHTML" });
  }, 1000));
}

// The canvas island may mount after the first state: it also reads the last one here.
function tellCanvas() {
  const detail = { runId: Number(runId), steps: Object.fromEntries(states), handled: [...handled],
                   retrying: Object.fromEntries(retrying), progress: Object.fromEntries(progress) };
  window.tributaryRunState = detail;
  document.dispatchEvent(new CustomEvent("tributary:run-state", { detail }));
}

function applyRun(run) {
  root.dataset.status = run.status;
  setBadge(document.querySelector("[data-run-status]"), run.status);
  const queued = document.querySelector("[data-run-queued]");
  if (queued) queued.hidden = run.status !== "queued";  // admitted: no longer waiting
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

// Lines printed while we watch, by their index: the API's stored logs (saved every few
// seconds while a step runs, in full when it ends) hold the earlier ones.
const printed = new Map(); // node id -> sparse array of lines

function appendLog(nodeId, line, index) {
  if (!printed.has(nodeId)) printed.set(nodeId, []);
  const lines = printed.get(nodeId);
  lines[index ?? lines.length] = line;
  const pane = document.querySelector(`[data-step="${CSS.escape(nodeId)}"] [data-step-logs]`);
  if (pane) pane.textContent = mergeLogs(pane.dataset.stored || "", lines);
}

function mergeLogs(stored, lines) {
  const merged = stored ? stored.split("\n") : [];
  lines.forEach((line, index) => { merged[index] = line; });
  return merged.filter((line) => line !== undefined).join("\n");
}

// What the API says about a step beyond its status: input, output, logs, error detail and
// attempts (as the server renders them: strings as they are, the rest as indented JSON).
function showDetails(step) {
  const card = document.querySelector(`[data-step="${CSS.escape(step.node_id)}"]`);
  if (!card) return;
  const input = card.querySelector("[data-step-input]");
  if (input && step.input !== null) input.textContent = pretty(step.input);
  const output = card.querySelector("[data-step-output]");
  if (output && step.output !== null) output.textContent = pretty(step.output);
  const logs = card.querySelector("[data-step-logs]");
  if (logs && step.logs) {
    logs.dataset.stored = step.logs;
    logs.textContent = mergeLogs(step.logs, printed.get(step.node_id) || []);
  }
  showText(card.querySelector("[data-step-detail]"), step.error_detail);
  const attempts = card.querySelector("[data-step-attempts]");
  if (attempts) {
    attempts.textContent = [step.attempt > 1 ? `${step.attempt} attempts` : "",
      step.reused ? "reused from the earlier run" : ""].filter(Boolean).join(" · ");
  }
}

function pretty(value) {
  return typeof value === "string" ? value : JSON.stringify(value, null, 2);
}

// Events are hints; after a burst, read the truth (statuses, outputs, logs) from the API.
// A failed read (the server restarting) is retried by the next event or the reconnect.
function scheduleRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(async () => {
    let run;
    try {
      const response = await fetch(`/api/runs/${runId}/`, { credentials: "same-origin" });
      if (!response.ok) return;
      run = await response.json();
    } catch {
      return;
    }
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
    // Outputs, logs and attempts of what changed while we were away come with the API.
    scheduleRefresh();
  } else if (data.type === "step.changed") {
    applyStep(data.step);
    scheduleRefresh();
  } else if (data.type === "run.changed") {
    applyRun(data.run);
  } else if (data.type === "step.log") {
    appendLog(data.node_id, data.line, data.index);
  } else if (data.type === "step.progress") {
    showProgress(data.node_id, data.progress, true);
    tellCanvas();
  }
}

// Says when the live connection is lost (the page keeps trying, with a growing pause).
function showConnection(state) {
  root.dataset.connection = state;
  showText(document.querySelector("[data-live-state]"),
    state === "lost" ? "Connection lost: reconnecting…" : "");
}

function connect() {
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${window.location.host}/ws/runs/${runId}/`);
  socket.addEventListener("open", () => { retryDelay = 500; showConnection("open"); });
  socket.addEventListener("message", onMessage);
  socket.addEventListener("close", () => {
    if (FINISHED.has(root.dataset.status)) { showConnection("done"); return; }
    showConnection("lost");
    setTimeout(connect, retryDelay);  // reconnect: the snapshot brings the page up to date
    retryDelay = Math.min(retryDelay * 2, 10000);
  });
}

if (runId) {
  root.dataset.rendered = FINISHED.has(root.dataset.status) ? "finished" : "live";
  document.querySelectorAll("[data-step]").forEach((card) => {
    const badge = card.querySelector("[data-step-status]");
    const status = badge.dataset.stepStatus;
    states.set(card.dataset.step, status);
    if (badge.hasAttribute("data-handled")) handled.add(card.dataset.step);
    const bar = card.querySelector("[data-step-progress]");
    if (bar) {
      const counts = Object.fromEntries(["total", "done", "failed", "running"]
        .map((key) => [key, Number(bar.dataset[key] || 0)]));
      progress.set(card.dataset.step, counts);
    }
    const retry = card.querySelector("[data-step-retry]");
    if (retry) {
      const failures = Number(retry.dataset.failures || 0);
      showRetry(card, { node_id: card.dataset.step, status, failures, wake_at: retry.dataset.wakeAt });
    }
  });
  if (!FINISHED.has(root.dataset.status)) connect();
  tellCanvas();
}
