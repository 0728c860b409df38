// Follows one run until it finishes. Today it polls GET /api/runs/<id>/; when the run
// websocket (/ws/runs/<id>/) lands, only this module changes: callers get the same calls.
import { api, problemText } from "./api.js";

const FINISHED = new Set(["succeeded", "failed", "cancelled"]);
const INTERVAL_MS = 300;

// watchRun(runId, {onUpdate(run), onDone(run), onError(message)}) -> stop()
export function watchRun(runId, { onUpdate, onDone, onError }) {
  let stopped = false;
  let timer = null;
  let failures = 0;

  async function poll() {
    if (stopped) return;
    const result = await api.get(`/api/runs/${runId}/`);
    if (stopped) return;
    if (result.ok) {
      failures = 0;
      onUpdate?.(result.data);
      if (FINISHED.has(result.data.status)) {
        onDone?.(result.data);
        return;
      }
    } else if (++failures >= 5 || result.status === 404 || result.status === 403) {
      onError?.(problemText(result));
      return;
    }
    timer = window.setTimeout(poll, INTERVAL_MS);
  }

  poll();
  return () => {
    stopped = true;
    if (timer) window.clearTimeout(timer);
  };
}

export function isFinished(status) {
  return FINISHED.has(status);
}
