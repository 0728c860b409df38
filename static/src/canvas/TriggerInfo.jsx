// What a trigger node shows besides its form: a webhook's URL (copy, rotate, listen for a
// test event) and a schedule's next fire times. A node the server has no URL for yet (not
// saved, or not published) gets a hint saying what to do.
import { useEffect, useState } from "react";
import { api, problemText } from "./api.js";

export function WebhookInfo({ flowId, nodeId, revision, canWrite, saved, listener }) {
  const [state, setState] = useState({ loading: true });
  const [copied, setCopied] = useState(false);

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
          <UrlMismatch url={state.url} />
          <p className="muted" role="status">{copied || (state.active ? "Active: calls start runs of the live version."
            : "Inactive until the flow is published.")}</p>
          {canWrite && <button type="button" className="tb-small" onClick={rotate}>New URL…</button>}
          {state.problem && <p className="error">{state.problem}</p>}
        </>
      )}
      {canWrite && listener && <ListenControl nodeId={nodeId} listener={listener} />}
    </section>
  );
}

// The server names webhook URLs after TRIBUTARY_PUBLIC_URL when it is set: a URL on another
// address than this page's is what a caller gets refused at (e.g. :8000 while serving :8020).
export function UrlMismatch({ url }) {
  let origin = null;
  try { origin = new URL(url).origin; } catch { return null; }
  if (origin === window.location.origin) return null;
  return (
    <p className="tb-warning" role="alert" data-testid="webhook-url-mismatch">
      This URL points at <strong>{origin}</strong>, but you opened Tributary at{" "}
      <strong>{window.location.origin}</strong>. Callers who use it may not reach this server: check
      TRIBUTARY_PUBLIC_URL (leave it empty to follow the address you use).
    </p>
  );
}

// Start or stop listening, and what happened (shared by the node and the test panel).
export function ListenControl({ nodeId, listener, onCapturedText = "Captured. It is now the test run's input." }) {
  const mine = listener.state?.nodeId === nodeId ? listener.state : null;
  return (
    <div className="tb-listen">
      {mine?.waiting
        ? <p role="status"><span className="tb-spinner" aria-hidden="true" /> Waiting for a request to the URL…{" "}
            <button type="button" className="tb-small" onClick={listener.stop}>Stop</button></p>
        : <button type="button" className="tb-small" onClick={() => listener.start(nodeId)}>Listen for a test event</button>}
      {mine?.waiting && mine.url && <p className="muted">Send it to <code data-testid="listen-url">{mine.url}</code></p>}
      {mine?.waiting && mine.url && <UrlMismatch url={mine.url} />}
      {mine?.captured && <p role="status">{onCapturedText}</p>}
      {mine?.problem && <p className="muted">{mine.problem}</p>}
    </div>
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
