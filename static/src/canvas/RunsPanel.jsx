// The flow's recent runs; choosing one shows its statuses and outputs on the canvas. Read
// again when the flow's live socket says a run started or finished (`live`, liveRuns.js).
import { useEffect, useRef, useState } from "react";
import { api, problemText } from "./api.js";
import { formatTime } from "./TriggerInfo.jsx";

export function RunsPanel({ flowId, revision, live, onShow, shownId, runsUrl }) {
  const [state, setState] = useState({ loading: true });
  const [reload, setReload] = useState(0);
  const newest = useRef(null); // the newest run listed so far: newer ones are highlighted
  useEffect(() => {
    let cancelled = false;
    api.get(`/api/runs/?flow=${flowId}&page_size=25`).then((result) => {
      if (cancelled) return;
      if (!result.ok) { setState({ problem: problemText(result) }); return; }
      const runs = result.data.results || [];
      const before = newest.current;
      newest.current = Math.max(before ?? 0, ...runs.map((run) => run.id));
      setState({ runs, fresh: before === null ? 0 : before });
    });
    return () => { cancelled = true; };
  }, [flowId, revision, live, reload]);
  return (
    <div className="tb-runs-panel">
      <div className="tb-panel-head">
        <h2>Recent runs</h2>
        <button type="button" className="tb-small" onClick={() => setReload((n) => n + 1)}>Refresh</button>
      </div>
      {state.loading && <p className="muted">Loading…</p>}
      {state.problem && <p className="error">{state.problem}</p>}
      {state.runs && !state.runs.length && <p className="muted">No runs yet. Test the flow, or publish it.</p>}
      {state.runs && state.runs.length > 0 && (
        <table className="tb-runs">
          <thead><tr><th>Run</th><th>Status</th><th>Version</th><th>Started</th></tr></thead>
          <tbody>
            {state.runs.map((run) => (
              <tr key={run.id} data-run-id={run.id}
                className={[run.id === shownId && "tb-current", state.fresh && run.id > state.fresh && "tb-fresh"].filter(Boolean).join(" ") || undefined}>
                <td><button type="button" className="tb-link" onClick={() => onShow(run.id)}
                  aria-label={`Show run ${run.id} on the canvas`}>#{run.id}</button>
                  {run.is_test ? <span className="badge">test</span> : <span className="tb-run-kind">{run.trigger_kind}</span>}</td>
                <td><span className={`tb-pill tb-pill-${run.status}`}>{run.status}</span></td>
                <td>v{run.version}</td>
                <td><time dateTime={run.created_at}>{formatTime(run.created_at)}</time></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <p className="muted"><a href={runsUrl} target="_blank" rel="noreferrer">All runs of this flow</a></p>
    </div>
  );
}
