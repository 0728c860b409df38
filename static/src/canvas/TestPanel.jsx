// Test a flow: the input its trigger would deliver live (a webhook's request, a schedule's
// firing...), the trigger it stands in for, and the run's progress, step by step. Nothing
// runs until the Run button here is pressed: steps really run (emails are sent).
import { CodeEditor } from "./CodeEditor.jsx";
import { ListenControl, formatTime } from "./TriggerInfo.jsx";
import { methodsOf } from "./testPayload.js";
import { retryOf, retryText } from "./retry.js";
import { stepPill } from "./graph.js";

export function TestPanel({ triggers, test, listener, onRun, run, busy, canWrite, saved, base, focus,
  onSelectNode, runUrl }) {
  const problem = test.problem;
  const blocked = !canWrite || Boolean(busy) || Boolean(problem) || !test.trigger;
  return (
    <div className="tb-test-panel">
      <h2>Test run</h2>
      <p className="muted">Runs the saved version without publishing it. Steps really run: emails are sent,
        APIs are called.</p>
      {!test.trigger && <p className="muted" data-testid="test-no-trigger">Add a trigger first: it decides what a run receives.</p>}
      {triggers.length > 1 && (
        <>
          <label htmlFor="test-trigger">Start from</label>
          <select id="test-trigger" value={test.trigger || ""} onChange={(event) => test.setTrigger(event.target.value)}>
            {triggers.map((node) => <option key={node.id} value={node.id}>{node.data.name} ({node.id})</option>)}
          </select>
        </>
      )}
      {test.trigger && (test.kind === "trigger.webhook"
        ? <RequestForm test={test} focus={focus} />
        : <JsonInput test={test} focus={focus} />)}
      {test.origin?.capturedAt && (
        <p className="muted" data-testid="test-origin">The request captured at {formatTime(test.origin.capturedAt)}.</p>
      )}
      {problem && <div className="tb-field-error" role="alert">{problem.message}</div>}
      {test.kind === "trigger.webhook" && canWrite && (
        saved
          ? <ListenControl nodeId={test.trigger} listener={listener}
              onCapturedText="Captured. Check the request above, then run the test." />
          : <p className="muted">Save the flow to listen for a real request to its URL.</p>
      )}
      <div className="tb-row">
        {test.hasSample && <button type="button" className="tb-small" onClick={test.useSample}>Use the trigger's sample</button>}
        <button type="button" className="primary" data-testid="run-test" onClick={() => onRun(saved ? base : null)}
          aria-disabled={blocked || undefined} disabled={blocked}>
          {busy === "running" ? "Running…" : saved ? "Run test" : "Save and run test"}
        </button>
        {!saved && base > 0 && (
          <button type="button" className="tb-small" onClick={() => onRun(base)} disabled={blocked}>Run saved v{base}</button>
        )}
      </div>
      {run && <RunSummary run={run} onSelectNode={onSelectNode} runUrl={runUrl} />}
    </div>
  );
}

function JsonInput({ test, focus }) {
  return (
    <>
      <label htmlFor="test-payload">{test.shape.label}</label>
      <CodeEditor key={test.trigger} id="test-payload" language="json" value={test.form.text}
        onChange={(text) => test.setField("text", text)} label={test.shape.label} autoFocus={focus}
        invalid={test.problem?.field === "text"} />
      <p className="muted tb-help">{test.shape.hint}</p>
    </>
  );
}

// A webhook's test input is a request: method, body, and (folded) query and headers.
function RequestForm({ test, focus }) {
  const { form } = test;
  const methods = methodsOf(test.node);
  const invalid = (field) => test.problem?.field === field;
  return (
    <fieldset className="tb-request tb-plain" data-testid="test-request">
      <legend>{test.shape.label}</legend>
      <div className="tb-request-line">
        <label htmlFor="test-method">Method</label>
        <select id="test-method" value={form.method} onChange={(event) => test.setField("method", event.target.value)}>
          {[...new Set([...methods, form.method])].map((method) => <option key={method}>{method}</option>)}
        </select>
      </div>
      <label htmlFor="test-body">Body <span className="muted">(event.trigger.body, JSON)</span></label>
      <CodeEditor key={`${test.trigger}-body`} id="test-body" language="json" value={form.body}
        onChange={(text) => test.setField("body", text)} label="Request body (JSON)" autoFocus={focus}
        invalid={invalid("body")} />
      <details open={invalid("query") || invalid("headers") || undefined}>
        <summary>Query and headers</summary>
        <label htmlFor="test-query">Query <span className="muted">(event.trigger.query)</span></label>
        <CodeEditor key={`${test.trigger}-query`} id="test-query" language="json" value={form.query}
          onChange={(text) => test.setField("query", text)} label="Query parameters (JSON)" invalid={invalid("query")} />
        <label htmlFor="test-headers">Headers <span className="muted">(event.trigger.headers)</span></label>
        <CodeEditor key={`${test.trigger}-headers`} id="test-headers" language="json" value={form.headers}
          onChange={(text) => test.setField("headers", text)} label="Request headers (JSON)" invalid={invalid("headers")} />
      </details>
      <p className="muted tb-help">{test.shape.hint} Missing headers (Content-Type, Content-Length) are filled
        in as a client sends them.</p>
    </fieldset>
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
            {" "}<span className={stepPill(step).className}>{stepPill(step).text}</span>
            {retryOf(step) && <div className="tb-retry">{retryText(retryOf(step))}</div>}
            {step.error && <div className="tb-field-error">{step.error}</div>}
          </li>
        ))}
      </ol>
      {run.input !== undefined && (
        <details className="tb-run-input">
          <summary>What the run received (event.trigger)</summary>
          <pre className="tb-json" data-testid="run-input">{JSON.stringify(run.input, null, 2)}</pre>
        </details>
      )}
    </section>
  );
}
