// Test a flow: a sample payload (JSON), the trigger it stands in for, and the run's
// progress, step by step.
import { CodeEditor } from "./CodeEditor.jsx";
import { formatTime } from "./TriggerInfo.jsx";
import { retryOf, retryText } from "./retry.js";

export function TestPanel({ triggers, trigger, onTrigger, payloadText, onPayload, payloadProblem, onRun,
  run, busy, canWrite, onUseSample, onSelectNode, runUrl }) {
  return (
    <div className="tb-test-panel">
      <h2>Test run</h2>
      <p className="muted">Runs the saved version without publishing it. Steps really run: emails are sent,
        APIs are called.</p>
      {triggers.length > 1 && (
        <>
          <label htmlFor="test-trigger">Start from</label>
          <select id="test-trigger" value={trigger || ""} onChange={(event) => onTrigger(event.target.value)}>
            {triggers.map((node) => <option key={node.id} value={node.id}>{node.data.name} ({node.id})</option>)}
          </select>
        </>
      )}
      <label htmlFor="test-payload">Sample payload (event.trigger)</label>
      <CodeEditor id="test-payload" language="json" value={payloadText} onChange={onPayload}
        label="Sample payload (JSON)" invalid={Boolean(payloadProblem)} />
      {payloadProblem && <div className="tb-field-error" role="alert">{payloadProblem}</div>}
      <div className="tb-row">
        {onUseSample && <button type="button" className="tb-small" onClick={onUseSample}>Use the trigger's sample</button>}
        <button type="button" className="primary" onClick={onRun} disabled={!canWrite || Boolean(busy) || Boolean(payloadProblem)}>
          {busy === "running" ? "Running…" : "Run test"}
        </button>
      </div>
      {run && <RunSummary run={run} onSelectNode={onSelectNode} runUrl={runUrl} />}
    </div>
  );
}

export function RunSummary({ run, onSelectNode, runUrl }) {
  const steps = run.steps || [];
  const done = steps.filter((s) => ["succeeded", "failed", "skipped", "cancelled"].includes(s.status)).length;
  return (
    <section className="tb-run-summary" aria-live="polite" data-run-id={run.id}>
      <h3>Run #{run.id}: <span className={`tb-pill tb-pill-${run.status}`} data-testid="run-status">{run.status}</span></h3>
      <p className="muted">Version {run.version}{run.is_test ? " · test" : ""} · {formatTime(run.created_at)}
        {" · "}{done}/{steps.length} steps finished{" · "}<a href={runUrl.replace("{id}", run.id)} target="_blank" rel="noreferrer">all details</a></p>
      {run.error && <pre className="tb-error-box">{run.error}</pre>}
      <ol className="tb-step-list">
        {steps.map((step) => (
          <li key={step.node_id}>
            <button type="button" className="tb-link" onClick={() => onSelectNode(step.node_id)}>{step.name || step.node_id}</button>
            {" "}<span className={`tb-pill tb-pill-${step.status}`}>{step.status}</span>
            {retryOf(step) && <div className="tb-retry">{retryText(retryOf(step))}</div>}
            {step.error && <div className="tb-field-error">{step.error}</div>}
          </li>
        ))}
      </ol>
    </section>
  );
}
