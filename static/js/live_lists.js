// Keeps the server-rendered lists of runs live: the runs on /runs/ and the flows list's
// "Last run" column. The socket /ws/runs/ only says which run of the user's workspaces
// started or finished (ids, status, kind, times); the rows come over HTTP from the page's
// own view with the filters the page shows, so they pass the same permission and
// disclosure checks as a reload. Every (re)connect reads the rows again: what happened
// while the socket was down cannot be missed. The filter form is never touched, so nothing
// typed there is lost, and rows are patched cell by cell, so focus stays where it was.
const root = document.querySelector("[data-live-runs]");
const MIN_GAP_MS = 500; // a burst of runs costs each open page at most two reads a second
let socket = null;
let retryDelay = 500;
let inFlight = false;
let again = false;
let lastRead = 0;

// Runs list: the first page of the applied filters (the URL's, which htmx keeps up to
// date) replaces the rows it covers; older pages the user opened stay below it.
const runs = {
  wants(run) {
    // Filters that can never come to match a run (its flow and trigger do not change).
    const query = new URLSearchParams(window.location.search);
    if (query.get("flow") && Number(query.get("flow")) !== run.flow_id) return false;
    return !query.get("trigger") || query.get("trigger") === run.trigger_kind;
  },
  everything() {},
  async read() {
    const query = appliedQuery();
    const fresh = await fetchRows(`${window.location.pathname}?${query}`, "run-rows");
    // The filters changed while we read: what we got is for the old ones.
    if (appliedQuery() !== query) return false;
    const body = document.getElementById("run-rows");
    if (body) patchBody(body, mergedRuns(body, fresh));
    return true;
  },
};

function appliedQuery() {
  const query = new URLSearchParams(window.location.search);
  query.delete("before");
  return query.toString();
}

const runId = (row) => Number(row.dataset.runId || 0);

// The fetched page covers every matching run from its oldest row up (all of them when it
// has no "Older runs" row): in that window it is the truth, rows of runs that no longer
// match included. Below it, the older rows already shown stay, with their "Older runs".
function mergedRuns(body, fresh) {
  const shown = [...body.children];
  const freshMore = fresh.find((row) => row.classList.contains("more"));
  const ids = fresh.map(runId).filter(Boolean);
  const floor = freshMore && ids.length ? Math.min(...ids) : 0;
  const older = shown.filter((row) => runId(row) && runId(row) < floor);
  const shownMore = shown.find((row) => row.classList.contains("more"));
  // Without an "Older runs" row the page showed every run down to the oldest: rows kept
  // below the window already continue it.
  const more = shownMore || (older.length ? null : freshMore);
  const byId = new Map(shown.filter(runId).map((row) => [runId(row), row]));
  const top = Math.max(0, ...byId.keys());
  const covered = fresh.filter((row) => row !== freshMore).map((row) => {
    const existing = byId.get(runId(row));
    if (existing) return patchRow(existing, row);
    if (runId(row) > top) row.classList.add("fresh");
    return row;
  });
  return [...covered, ...older, ...(more ? [more] : [])];
}

// Flows list: only the rows of flows whose runs changed are read again and patched.
const changedFlows = new Set();
const flows = {
  wants(run) {
    if (!document.getElementById(`flow-${run.flow_id}`)) return false;
    changedFlows.add(run.flow_id);
    return true;
  },
  everything() {
    document.querySelectorAll("#flow-rows > tr[id^='flow-']").forEach((row) => {
      changedFlows.add(Number(row.id.slice("flow-".length)));
    });
  },
  async read() {
    const ids = [...changedFlows];
    changedFlows.clear();
    const url = window.location.pathname + window.location.search;
    const fresh = await fetchRows(url, "flow-rows").catch((error) => {
      ids.forEach((id) => changedFlows.add(id)); // still to do, after the next event
      throw error;
    });
    ids.forEach((id) => {
      const row = document.getElementById(`flow-${id}`);
      const update = fresh.find((candidate) => candidate.id === `flow-${id}`);
      if (row && update) patchRow(row, update);
    });
    return true;
  },
};

async function fetchRows(url, target) {
  const response = await fetch(url, {
    credentials: "same-origin",
    headers: { "HX-Request": "true", "HX-Target": target },
  });
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  const template = document.createElement("template");
  template.innerHTML = await response.text();
  return [...template.content.querySelectorAll("tr")];
}

// Replace only the cells that changed, keeping the row (and a focused control in it).
function patchRow(row, fresh) {
  let changed = false;
  [...fresh.cells].forEach((cell, index) => {
    const old = row.cells[index];
    if (old && old.innerHTML === cell.innerHTML) return;
    if (old) old.replaceWith(cell);
    else row.append(cell);
    changed = true;
  });
  if (changed) window.htmx?.process(row);
  return row;
}

// Put ``rows`` in ``body`` in order, moving only what must move.
function patchBody(body, rows) {
  rows.forEach((row, index) => {
    const current = body.children[index];
    if (current !== row) {
      body.insertBefore(row, current || null);
      window.htmx?.process(row);
    }
  });
  while (body.children.length > rows.length) body.lastElementChild.remove();
}

// One read at a time, and not more often than MIN_GAP_MS: events meanwhile ask for one
// more read after it. A failed read is retried by the next event or the next reconnect.
async function read() {
  if (inFlight) { again = true; return; }
  inFlight = true;
  const wait = lastRead + MIN_GAP_MS - Date.now();
  if (wait > 0) await new Promise((done) => { setTimeout(done, wait); });
  again = false; // what was asked for while we waited, this read brings
  lastRead = Date.now();
  let current = true;
  try {
    current = await list.read();
  } catch {
    // The server may be restarting: the socket's reconnect reads again.
  }
  inFlight = false;
  if (again || !current) read();
}

function onMessage(message) {
  const data = JSON.parse(message.data);
  if (data.type === "snapshot") {
    list.everything();
    read();
  } else if (data.type === "run.changed" && list.wants(data.run)) {
    // (A for-each's item runs are not listed; the server leaves them out too.)
    read();
  }
}

// Says when the live connection is lost (the page keeps trying, with a growing pause).
function showConnection(state) {
  root.dataset.connection = state;
  const line = root.querySelector("[data-live-state]");
  if (line) {
    line.textContent = state === "lost" ? "Connection lost: reconnecting…" : "";
    line.hidden = state !== "lost";
  }
}

function connect() {
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${window.location.host}/ws/runs/`);
  socket.addEventListener("open", () => { retryDelay = 500; showConnection("open"); });
  socket.addEventListener("message", onMessage);
  socket.addEventListener("close", () => {
    showConnection("lost");
    setTimeout(connect, retryDelay); // the snapshot after reconnecting brings the rows up to date
    retryDelay = Math.min(retryDelay * 2, 10000);
  });
}

const list = root?.dataset.liveRuns === "flows" ? flows : runs;
if (root) connect();
