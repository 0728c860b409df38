// Follows one run until it finishes: the run's websocket (/ws/runs/<id>/) says when
// something changed, and the API says what (the database is the truth, so a dropped
// message cannot leave the canvas wrong). Without a socket it falls back to polling.
// The lines code steps print come over the socket as printed, each with its index; the
// API has the lines so far (stored every few seconds while the step runs, all of them when
// it ends), so a watcher that connected late still shows the earlier ones.
import { api, problemText } from "./api.js";

const FINISHED = new Set(["succeeded", "failed", "cancelled"]);
const POLL_MS = 300;
const SAFETY_MS = 2000;

// watchRun(runId, {onUpdate(run), onDone(run), onError(message)}) -> stop()
export function watchRun(runId, { onUpdate, onDone, onError }) {
  let stopped = false;
  let socket = null;
  let timer = null;
  let failures = 0;
  let inFlight = false;
  let again = false;
  let last = null;
  const printed = new Map(); // node id -> sparse array of the lines printed, by index

  function deliver(run) {
    last = run;
    if (!printed.size) { onUpdate?.(run); return; }
    const steps = (run.steps || []).map((step) => {
      const lines = printed.get(step.node_id);
      if (!lines) return step;
      const merged = step.logs ? step.logs.split("\n") : [];
      lines.forEach((line, index) => { merged[index] = line; });
      return { ...step, logs: merged.filter((line) => line !== undefined).join("\n") };
    });
    onUpdate?.({ ...run, steps });
  }

  function onMessage(message) {
    let data = null;
    try { data = JSON.parse(message.data); } catch { /* not ours: read the API anyway */ }
    if (data?.type === "step.progress") {
      // A for-each's items so far: shown at once; its end comes as a step change.
      if (last) {
        deliver({ ...last, steps: (last.steps || []).map((step) => (
          step.node_id === data.node_id ? { ...step, progress: data.progress } : step)) });
      }
      return;
    }
    if (data?.type === "step.log") {
      if (!printed.has(data.node_id)) printed.set(data.node_id, []);
      const lines = printed.get(data.node_id);
      lines[data.index ?? lines.length] = data.line;
      if (last) deliver(last);
      return;
    }
    refresh();
  }

  function schedule(ms) {
    window.clearTimeout(timer);
    if (!stopped) timer = window.setTimeout(refresh, ms);
  }

  async function refresh() {
    if (stopped) return;
    if (inFlight) { again = true; return; }
    inFlight = true;
    const result = await api.get(`/api/runs/${runId}/`);
    inFlight = false;
    if (stopped) return;
    if (result.ok) {
      failures = 0;
      deliver(result.data);
      if (FINISHED.has(result.data.status)) { finish(result.data); return; }
    } else if (++failures >= 5 || result.status === 404 || result.status === 403) {
      onError?.(problemText(result));
      stop();
      return;
    }
    if (again) { again = false; refresh(); return; }
    // Polling is the fallback; with a live socket it is only a safety net.
    schedule(socket?.readyState === WebSocket.OPEN ? SAFETY_MS : POLL_MS);
  }

  function finish(run) {
    stop();
    onDone?.(run);
  }

  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    try {
      socket = new WebSocket(`${scheme}://${window.location.host}/ws/runs/${runId}/`);
    } catch {
      socket = null;
      return;
    }
    socket.addEventListener("message", onMessage);
    socket.addEventListener("close", () => { if (!stopped) schedule(POLL_MS); });
  }

  function stop() {
    stopped = true;
    window.clearTimeout(timer);
    if (socket && socket.readyState <= WebSocket.OPEN) socket.close();
  }

  connect();
  refresh();
  return stop;
}

export function isFinished(status) {
  return FINISHED.has(status);
}
