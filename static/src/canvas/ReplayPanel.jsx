// Replay past runs against the version being edited: the last N runs of the live version
// (or runs picked from a list), with the steps that act on the world simulated unless
// checked under "Perform for real". The report (ReplayResults.jsx) shows what would change.
import { useEffect, useMemo, useState } from "react";
import { api, problemText } from "./api.js";
import { actsOnWorld } from "./effects.js";
import { formatTime } from "./TriggerInfo.jsx";
import { ReplayReport } from "./ReplayResults.jsx";

const FINISHED = new Set(["succeeded", "failed", "cancelled"]);

export function ReplayPanel({ flowId, base, dirty, live, nodes, replay, canWrite, runUrl, onSaveFirst }) {
  const [mode, setMode] = useState("last");
  const [last, setLast] = useState("20");
  const [status, setStatus] = useState("");
  const [picked, setPicked] = useState([]);
  const [perform, setPerform] = useState([]);
  const [invalid, setInvalid] = useState(null);
  const names = useMemo(() => Object.fromEntries(nodes.map((n) => [n.id, n.data.name || n.id])), [nodes]);
  const acting = useMemo(() => nodes.filter((n) => actsOnWorld(n.data.kind, n.data.config)), [nodes]);
  const busy = replay.starting || Boolean(replay.report && !replay.report.done);

  const start = async () => {
    const count = Number(last);
    if (mode === "last" && !(Number.isInteger(count) && count >= 1 && count <= 1000)) {
      setInvalid("Replay between 1 and 1000 runs."); return;
    }
    if (mode === "pick" && !picked.length) { setInvalid("Pick at least one run to replay."); return; }
    setInvalid(null);
    const version = dirty ? await onSaveFirst() : base;
    if (!version) return;
    const chosen = mode === "last" ? { last: count, ...(status ? { status } : {}) } : { runs: picked };
    replay.start({ version, ...chosen, perform: perform.filter((id) => names[id]) });
  };

  return (
    <div className="tb-replay-panel">
      <h2>Replay</h2>
      <p className="muted">Runs past runs again on the version you edit and shows what would change. Steps that
        send, write or wait are simulated: nothing is sent unless you say so below.</p>
      {!base && <p className="muted" data-testid="replay-save-first">Save first: a replay runs a saved version.</p>}
      <fieldset className="tb-plain">
        <legend>Which runs</legend>
        <label className="tb-check"><input type="radio" name="replay-mode" checked={mode === "last"}
          onChange={() => setMode("last")} /> The last runs of the live version{live ? ` (v${live})` : ""}</label>
        {mode === "last" && (
          <div className="tb-row tb-replay-last">
            <label htmlFor="replay-last">How many</label>
            <input id="replay-last" type="number" min="1" max="1000" value={last} aria-invalid={Boolean(invalid) || undefined}
              onChange={(event) => setLast(event.target.value)} />
            <label htmlFor="replay-status">Status</label>
            <select id="replay-status" value={status} onChange={(event) => setStatus(event.target.value)}>
              <option value="">any</option><option value="succeeded">succeeded</option>
              <option value="failed">failed</option><option value="cancelled">cancelled</option>
            </select>
          </div>
        )}
        <label className="tb-check"><input type="radio" name="replay-mode" checked={mode === "pick"}
          onChange={() => setMode("pick")} /> Runs I pick</label>
        {mode === "pick" && <RunPicker flowId={flowId} picked={picked} onChange={setPicked} />}
      </fieldset>
      {acting.length > 0 && (
        <fieldset className="tb-plain tb-perform">
          <legend>Perform for real</legend>
          {acting.map((node) => (
            <label key={node.id} className="tb-check">
              <input type="checkbox" checked={perform.includes(node.id)} onChange={(event) => setPerform((p) => (
                event.target.checked ? [...p, node.id] : p.filter((id) => id !== node.id)))} />
              {" "}{node.data.name || node.id} <code className="muted">{node.id}</code>
            </label>
          ))}
          <p className={perform.length ? "tb-field-error" : "muted"} role={perform.length ? "alert" : undefined}>
            Checked steps really act, once for every replayed run: emails are sent, APIs are called, rows are written.
          </p>
        </fieldset>
      )}
      {invalid && <div className="tb-field-error" role="alert">{invalid}</div>}
      {replay.problem && <div className="tb-field-error" role="alert">{replay.problem}</div>}
      <div className="tb-row">
        <button type="button" className="primary" onClick={start} disabled={!canWrite || !base || busy}>
          {replay.starting ? "Starting…" : dirty ? "Save and replay" : `Replay on v${base}`}
        </button>
      </div>
      {replay.report && <ReplayReport report={replay.report} names={names} runUrl={runUrl} onClose={replay.close} />}
    </div>
  );
}

// The flow's recent finished runs (not test runs), to tick.
function RunPicker({ flowId, picked, onChange }) {
  const [state, setState] = useState({ loading: true });
  useEffect(() => {
    let cancelled = false;
    api.get(`/api/runs/?flow=${flowId}&page_size=50`).then((result) => {
      if (cancelled) return;
      if (!result.ok) { setState({ problem: problemText(result) }); return; }
      setState({ runs: (result.data.results || []).filter((run) => !run.is_test && FINISHED.has(run.status)) });
    });
    return () => { cancelled = true; };
  }, [flowId]);
  if (state.loading) return <p className="muted">Loading the recent runs…</p>;
  if (state.problem) return <p className="error">{state.problem}</p>;
  if (!state.runs.length) return <p className="muted">No finished run of this flow yet.</p>;
  return (
    <ul className="tb-run-picker" aria-label="Recent runs">
      {state.runs.map((run) => (
        <li key={run.id}>
          <label className="tb-check">
            <input type="checkbox" checked={picked.includes(run.id)} onChange={(event) => onChange(
              event.target.checked ? [...picked, run.id] : picked.filter((id) => id !== run.id))} />
            {" "}#{run.id} <span className={`tb-pill tb-pill-${run.status}`}>{run.status}</span> v{run.version}
            {" · "}<time dateTime={run.created_at}>{formatTime(run.created_at)}</time>
          </label>
        </li>
      ))}
    </ul>
  );
}
