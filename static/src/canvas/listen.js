// "Listen for a test event": the next request to a webhook's URL is kept as the test run's
// input instead of starting a run. One listener for the designer, so the node panel and the
// test panel show the same state and switching tabs does not lose a request on its way.
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { api, problemText } from "./api.js";

const LISTEN_MS = 5 * 60 * 1000;  // the server keeps a capture waiting this long

export function useWebhookListener(flowId, onCaptured) {
  const [state, setState] = useState(null);  // {nodeId, waiting | captured | problem, url}
  const stopRef = useRef(null);
  const waitingFor = useRef(null);  // the node whose capture waits on the server
  const captured = useRef(onCaptured);
  captured.current = onCaptured;

  // Stopping tells the server too: a capture left waiting would keep the next request
  // (even a live one) as a test event.
  const stop = useCallback(() => {
    const nodeId = waitingFor.current;
    if (!nodeId) return Promise.resolve();
    stopRef.current?.();
    stopRef.current = null;
    waitingFor.current = null;
    setState(null);
    return api.delete(`/api/flows/${flowId}/triggers/${encodeURIComponent(nodeId)}/listen/`);
  }, [flowId]);

  const start = useCallback(async (nodeId) => {
    await stop();
    const url = `/api/flows/${flowId}/triggers/${encodeURIComponent(nodeId)}/listen/`;
    const started = await api.post(url);
    if (!started.ok) { setState({ nodeId, problem: problemText(started) }); return; }
    setState({ nodeId, waiting: true, url: started.data?.url });
    waitingFor.current = nodeId;
    let stopped = false;
    let timer = null;
    const deadline = Date.now() + LISTEN_MS;
    stopRef.current = () => { stopped = true; window.clearTimeout(timer); };
    const poll = async () => {
      if (stopped) return;
      const result = await api.get(url);
      if (stopped) return;
      if (result.ok && result.data?.status === "captured") {
        stopRef.current = null;
        waitingFor.current = null;
        setState({ nodeId, captured: true, url: started.data?.url });
        captured.current?.(result.data.payload, nodeId, result.data.captured_at);
      } else if (!result.ok && result.status !== 0) {
        waitingFor.current = null;
        setState({ nodeId, problem: problemText(result) });
      } else if (["expired", "idle"].includes(result.data?.status) || Date.now() > deadline) {
        waitingFor.current = null;
        setState({ nodeId, problem: "Nothing arrived in time. Listen again when you are ready to send it." });
      } else {
        timer = window.setTimeout(poll, 1000);
      }
    };
    poll();
  }, [flowId, stop]);

  useEffect(() => () => stopRef.current?.(), []);
  return useMemo(() => ({ state, start, stop }), [state, start, stop]);
}
