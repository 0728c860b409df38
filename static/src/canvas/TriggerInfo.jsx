// What a trigger node shows besides its form: a webhook's URL (copy, rotate, listen for a
// test event) and a schedule's next fire times. A node the server has no URL for yet (not
// saved, or not published) gets a hint saying what to do.
import { useEffect, useRef, useState } from "react";
import { api, problemText } from "./api.js";

export function WebhookInfo({ flowId, nodeId, revision, canWrite, saved, onCaptured }) {
  const [state, setState] = useState({ loading: true });
  const [copied, setCopied] = useState(false);
  const [listening, setListening] = useState(null);
  const stopListening = useRef(null);

  useEffect(() => {
    let cancelled = false;
    setState({ loading: true });
    api.get(`/api/flows/${flowId}/triggers/`).then((result) => {
      if (cancelled) return;
      if (!result.ok) { setState({ failed: problemText(result) }); return; }
      const entry = Array.isArray(result.data) ? result.data.find((item) => item.node_id === nodeId) : null;
      setState(entry?.url ? { url: entry.url, active: entry.active } : { unavailable: true });
    });
    return () => { cancelled = true; };
  }, [flowId, nodeId, revision]);

  useEffect(() => () => stopListening.current?.(), []);

  async function copy() {
    let done = false;
    try {
      await navigator.clipboard.writeText(state.url);
      done = true;
    } catch {
      const field = document.getElementById(`webhook-url-${nodeId}`);
      field?.select();
      done = document.execCommand?.("copy") ?? false;
    }
    setCopied(done ? "Copied" : "Select the URL and copy it");
    window.setTimeout(() => setCopied(false), 2000);
  }

  async function rotate() {
    if (!window.confirm("Make a new URL? The current one stops working at once.")) return;
    const result = await api.post(`/api/flows/${flowId}/triggers/${nodeId}/rotate/`);
    if (result.ok && result.data?.url) setState({ ...state, url: result.data.url });
    else setState({ ...state, problem: problemText(result) });
  }

  async function listen() {
    const url = `/api/flows/${flowId}/triggers/${nodeId}/listen/`;
    const started = await api.post(url);
    if (!started.ok) { setListening({ problem: problemText(started) }); return; }
    setListening({ waiting: true });
    let stopped = false;
    let timer = null;
    const deadline = Date.now() + 5 * 60 * 1000;
    stopListening.current = () => { stopped = true; window.clearTimeout(timer); };
    const poll = async () => {
      if (stopped) return;
      const result = await api.get(url);
      if (stopped) return;
      if (result.ok && result.data?.status === "captured") {
        setListening({ captured: true });
        onCaptured(result.data.payload);
      } else if (!result.ok && result.status !== 0) {
        setListening({ problem: problemText(result) });
      } else if (result.data?.status === "expired" || result.data?.status === "idle" || Date.now() > deadline) {
        setListening({ problem: "Nothing arrived in time. Listen again when you are ready to send it." });
      } else {
        timer = window.setTimeout(poll, 1000);
      }
    };
    poll();
  }

  return (
    <section className="tb-trigger-info" aria-label="Webhook trigger">
      <h3>Webhook URL</h3>
      {state.loading && <p className="muted">Loading…</p>}
      {state.failed && <p className="error">{state.failed}</p>}
      {state.unavailable && (
        <p className="muted" data-testid="webhook-url-missing">
          {saved ? "Publish the flow to get the URL." : "Save and publish to get the URL."}
        </p>
      )}
      {state.url && (
        <>
          <div className="tb-copy-row">
            <input id={`webhook-url-${nodeId}`} readOnly value={state.url} aria-label="Webhook URL"
              onFocus={(event) => event.target.select()} />
            <button type="button" onClick={copy}>Copy</button>
          </div>
          <p className="muted" role="status">{copied || (state.active ? "Active: calls start runs of the live version."
            : "Inactive until the flow is published.")}</p>
          {canWrite && <button type="button" className="tb-small" onClick={rotate}>New URL…</button>}
          {state.problem && <p className="error">{state.problem}</p>}
        </>
      )}
      {canWrite && (
        <div className="tb-listen">
          {listening?.waiting
            ? <p role="status"><span className="tb-spinner" aria-hidden="true" /> Waiting for a request to the URL…{" "}
                <button type="button" className="tb-small" onClick={() => { stopListening.current?.(); setListening(null); }}>Stop</button></p>
            : <button type="button" className="tb-small" onClick={listen}>Listen for a test event</button>}
          {listening?.captured && <p role="status">Captured. It is now the test run's sample payload.</p>}
          {listening?.problem && <p className="muted">{listening.problem}</p>}
        </div>
      )}
    </section>
  );
}

export function CronPreview({ expression, timezone }) {
  const [state, setState] = useState(null);
  useEffect(() => {
    if (!expression) { setState(null); return undefined; }
    let cancelled = false;
    const timer = window.setTimeout(async () => {
      const query = new URLSearchParams({ expression, timezone: timezone || "" });
      const result = await api.get(`/api/cron/preview/?${query}`);
      if (cancelled) return;
      if (result.ok) setState({ next: result.data?.next || [] });
      else setState({ problem: result.data?.errors?.[0]?.message || problemText(result) });
    }, 350);
    return () => { cancelled = true; window.clearTimeout(timer); };
  }, [expression, timezone]);
  if (!state) return null;
  if (state.problem) return <p className="tb-field-error" role="alert">{state.problem}</p>;
  return (
    <div className="tb-cron-next" aria-live="polite">
      <span className="muted">Next runs:</span>
      <ol>{state.next.map((time) => <li key={time}><time dateTime={time}>{formatTime(time)}</time></li>)}</ol>
    </div>
  );
}

export function formatTime(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString(undefined, { weekday: "short", year: "numeric", month: "short", day: "numeric",
                                          hour: "2-digit", minute: "2-digit" });
}
