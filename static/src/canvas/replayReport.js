// A replay batch as the designer follows it: started through the API, read again every
// second until every replay has finished, and what the canvas marks (how many replays
// differ at each node). The report outlives the Replay tab: it is cleared by close().
import { useCallback, useEffect, useRef, useState } from "react";
import { api, problemText } from "./api.js";

const POLL_MS = 1000;

export function useReplay(flowId) {
  const [report, setReport] = useState(null);
  const [problem, setProblem] = useState(null);
  const [starting, setStarting] = useState(false);
  const timer = useRef(null);
  const current = useRef(null);  // the batch followed now: a closed one's answers are dropped

  const stop = useCallback(() => { window.clearTimeout(timer.current); current.current = null; }, []);
  useEffect(() => stop, [stop]);

  const follow = useCallback((batchId) => {
    current.current = batchId;
    const poll = async () => {
      const result = await api.get(`/api/replays/${batchId}/`);
      if (current.current !== batchId) return;
      if (result.ok) {
        setReport(result.data);
        if (result.data.done) { current.current = null; return; }
      } else if (result.status === 403 || result.status === 404) {
        setProblem(problemText(result));
        current.current = null;
        return;
      }
      timer.current = window.setTimeout(poll, POLL_MS);
    };
    timer.current = window.setTimeout(poll, POLL_MS);
  }, []);

  // body: {version, runs?|last?, status?, perform?}; a 400 comes back as {field, message}.
  const start = useCallback(async (body) => {
    stop();
    setStarting(true);
    setProblem(null);
    setReport(null);
    const result = await api.post(`/api/flows/${flowId}/replays/`, body);
    setStarting(false);
    if (result.status !== 202) {
      const error = result.data?.errors?.[0];
      setProblem(error?.message || problemText(result));
      return;
    }
    setReport(result.data);
    if (!result.data.done) follow(result.data.id);
  }, [flowId, follow, stop]);

  const close = useCallback(() => { stop(); setReport(null); setProblem(null); }, [stop]);

  return { report, problem, starting, start, close };
}

// node id -> how many replays differ there, for the canvas.
export function replayMarks(report) {
  if (!report) return {};
  return Object.fromEntries(Object.entries(report.nodes || {}).map(([node, seen]) => [node, seen.runs]));
}

// Why a node's output in a replay is what it is: the step was rehearsed, not performed.
export const REPLAY_NOTES = {
  simulated: "simulated: not sent",
  not_simulated: "not simulated: no original output",
  sample: "sample output used",
};

export function json(value) {
  return value === undefined ? "(none)" : JSON.stringify(value, null, 2);
}
