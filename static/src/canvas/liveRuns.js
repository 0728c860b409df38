// The flow's runs as they start and finish, over /ws/flows/<id>/runs/. Each frame is a
// run's summary (id, status, trigger kind, times; never its error or output): the Runs tab
// reads its rows from the API when told (`tick`), and runs this page did not start become
// notices ("Run #20 (webhook) failed · Show"). The socket reconnects with a growing pause;
// every (re)connect's snapshot makes the Runs tab read again and announces the runs that
// started while it was down.
import { useCallback, useEffect, useRef, useState } from "react";

const MIN_GAP_MS = 400; // a burst of runs re-reads the Runs tab at most this often
const NOTICES = 3;
const SUCCEEDED_FOR_MS = 8000; // a success is news for a while; a failure until dismissed

export function useFlowRuns(flowId) {
  const [tick, setTick] = useState(0);
  const [notices, setNotices] = useState([]);
  const [connection, setConnection] = useState("connecting");
  const bump = useThrottledTick(setTick);
  const known = useRef(null); // the newest run id seen, once the first snapshot came

  const announce = useCallback((run) => {
    if (run.is_test) return; // tests are started and followed by whoever asked for them
    setNotices((current) => [run, ...current.filter((notice) => notice.id !== run.id)]
      .sort((a, b) => b.id - a.id).slice(0, NOTICES));
    if (run.status === "succeeded") {
      window.setTimeout(() => setNotices((current) => current.filter((n) => n.id !== run.id || n.status !== "succeeded")),
        SUCCEEDED_FOR_MS);
    }
  }, []);

  const onFrame = useCallback((data) => {
    if (data.type === "snapshot") {
      const newest = Math.max(0, ...data.runs.map((run) => run.id));
      const now = new Map(data.runs.map((run) => [run.id, run])); // what finished while away
      setNotices((current) => current.map((notice) => now.get(notice.id) || notice));
      if (known.current !== null) data.runs.filter((run) => run.id > known.current).reverse().forEach(announce);
      known.current = Math.max(known.current ?? 0, newest);
      bump();
    } else if (data.type === "run.changed") {
      known.current = Math.max(known.current ?? 0, data.run.id);
      bump();
      // A finished run's notice stays put if it is already gone: only news is announced.
      setNotices((current) => current.map((notice) => (notice.id === data.run.id ? data.run : notice)));
      if (data.new || data.run.status === "failed" || data.run.status === "succeeded") announce(data.run);
    }
  }, [announce, bump]);

  useEffect(() => connectLive(`/ws/flows/${flowId}/runs/`, onFrame, setConnection), [flowId, onFrame]);

  const dismiss = useCallback((runId) => setNotices((current) => current.filter((n) => n.id !== runId)), []);
  return { tick, notices, dismiss, connection };
}

// Calls setTick at once, then at most every MIN_GAP_MS while more come.
function useThrottledTick(setTick) {
  const timer = useRef(null);
  const pending = useRef(false);
  useEffect(() => () => window.clearTimeout(timer.current), []);
  return useCallback(() => {
    if (timer.current) { pending.current = true; return; }
    setTick((n) => n + 1);
    const cool = () => {
      if (!pending.current) { timer.current = null; return; }
      pending.current = false;
      setTick((n) => n + 1);
      timer.current = window.setTimeout(cool, MIN_GAP_MS);
    };
    timer.current = window.setTimeout(cool, MIN_GAP_MS);
  }, [setTick]);
}

// Opens the socket and keeps it open until the returned stop() is called.
function connectLive(path, onFrame, onConnection) {
  let socket = null;
  let stopped = false;
  let delay = 500;
  let timer = null;
  const open = () => {
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${window.location.host}${path}`);
    socket.addEventListener("open", () => { delay = 500; onConnection("open"); });
    socket.addEventListener("message", (message) => {
      let data = null;
      try { data = JSON.parse(message.data); } catch { return; } // not a frame of ours
      onFrame(data);
    });
    socket.addEventListener("close", () => {
      if (stopped) return;
      onConnection("lost");
      timer = window.setTimeout(open, delay);
      delay = Math.min(delay * 2, 10000);
    });
  };
  open();
  return () => {
    stopped = true;
    window.clearTimeout(timer);
    if (socket.readyState <= WebSocket.OPEN) socket.close();
  };
}

// "started", "running", "failed"...: what a notice says a run did.
export function noticeVerb(status) {
  return { pending: "started" }[status] || status;  // "queued": waiting for a concurrency slot
}
