// A replay batch's report: progress, the summary sentence, and each replay with its
// node-by-node differences from the run it replays (status, output, what it would send).
import { useState } from "react";
import { REPLAY_NOTES, json } from "./replayReport.js";

const FINISHED = new Set(["succeeded", "failed", "cancelled"]);

export function ReplayReport({ report, names, runUrl, onClose }) {
  const link = (id) => runUrl.replace("{id}", id);
  return (
    <section className="tb-replay-report" aria-labelledby="replay-report-title" data-batch={report.id}
      data-done={report.done || undefined}>
      <div className="tb-panel-head">
        <h3 id="replay-report-title">Replay on v{report.version}</h3>
        <button type="button" className="tb-small" onClick={onClose}>Close replay</button>
      </div>
      <div className="tb-replay-progress">
        <progress max={report.total} value={report.finished} aria-label="Replays finished" />
        <span>{report.finished} of {report.total} replayed{report.done ? "" : "…"}</span>
      </div>
      <p className="tb-replay-summary" role="status" data-testid="replay-summary">{report.summary}</p>
      {report.perform?.length > 0 && (
        <p className="muted">Performed for real: {report.perform.map((id) => names[id] || id).join(", ")}.</p>
      )}
      <ul className="tb-replays">
        {report.replays.map((replay) => (
          <ReplayItem key={replay.run} replay={replay} names={names} link={link} />
        ))}
      </ul>
    </section>
  );
}

function ReplayItem({ replay, names, link }) {
  const [open, setOpen] = useState(false);
  const finished = FINISHED.has(replay.status);
  const verdict = !finished ? replay.status : replay.identical ? "identical" : "differs";
  const panelId = `replay-diff-${replay.run}`;
  return (
    <li data-replay={replay.run} data-verdict={verdict}>
      <a href={link(replay.run)} target="_blank" rel="noreferrer">Replay #{replay.run}</a>
      {replay.original && <> of <a href={link(replay.original)} target="_blank" rel="noreferrer">run #{replay.original}</a></>}
      {" "}<span className={`tb-pill tb-verdict-${verdict}`}>{verdict}</span>
      {finished && !replay.identical && (
        <button type="button" className="tb-link tb-replay-toggle" aria-expanded={open} aria-controls={panelId}
          onClick={() => setOpen((o) => !o)}>
          {open ? "Hide" : "Show"} differences<span className="visually-hidden"> of replay #{replay.run}</span>
        </button>
      )}
      {replay.error && <div className="tb-field-error">{replay.error}</div>}
      {open && (
        <div id={panelId} className="tb-replay-diffs">
          {replay.differences.map((diff) => <NodeDifference key={diff.node} diff={diff} name={names[diff.node]} />)}
        </div>
      )}
    </li>
  );
}

function NodeDifference({ diff, name }) {
  return (
    <section className="tb-replay-node" data-node={diff.node}>
      <h4>{name || diff.node} <code className="muted">{diff.node}</code></h4>
      {diff.change === "added" && <p className="muted">Not in the original run: new in this version, or reached only now.</p>}
      {diff.change === "removed" && <p className="muted">Ran in the original run, not in the replay.</p>}
      {REPLAY_NOTES[diff.replay] && <p className="tb-replay-note">{REPLAY_NOTES[diff.replay]}</p>}
      {diff.status && (
        <p className="tb-change" data-aspect="status">Status: <span className={`tb-pill tb-pill-${diff.status[0]}`}>
          {diff.status[0]}</span> → <span className={`tb-pill tb-pill-${diff.status[1]}`}>{diff.status[1]}</span></p>
      )}
      <Changes title="What it would send" aspect="sent" changes={diff.sent} />
      <Changes title="Output" aspect="output" changes={diff.output} />
    </section>
  );
}

function Changes({ title, aspect, changes }) {
  if (!changes?.length) return null;
  return (
    <>
      <h5>{title}</h5>
      <ul className="tb-changes">
        {changes.map((change) => (
          <li key={change.path} className="tb-change" data-aspect={aspect} data-path={change.path}>
            <code>{change.path}</code>
            {!("before" in change) && !("after" in change)
              ? <span className="muted"> changed (its values use secrets and are not shown)</span>
              : (
                <div className="tb-before-after">
                  <pre className="tb-json" aria-label="before">{json(change.before)}</pre>
                  <span aria-hidden="true">→</span><span className="visually-hidden">becomes</span>
                  <pre className="tb-json" aria-label="after">{json(change.after)}</pre>
                </div>
              )}
          </li>
        ))}
      </ul>
    </>
  );
}
