// The side panel for the selected node: id, name, the kind's config form, step settings,
// connections, trigger details and what the last run did at this node.
import { useEffect, useState } from "react";
import { SchemaForm } from "./SchemaForm.jsx";
import { WebhookInfo } from "./TriggerInfo.jsx";
import { NODE_ID_PATTERN, isHandled, stepPill } from "./graph.js";
import { retryOf, retryText } from "./retry.js";

// Server problems name fields like "config.source", "settings.retries", "name", "nodes[2].id".
export function fieldErrors(problems) {
  const out = { config: {}, settings: {}, name: null, id: null, other: [] };
  (problems || []).forEach(({ field, message }) => {
    const match = /^(config|settings)\.([^.[]+)/.exec(field || "");
    if (match) out[match[1]][match[2]] ??= message;
    else if (field === "name") out.name ??= message;
    else if (field === "id" || /\.id$/.test(field || "")) out.id ??= message;
    else out.other.push(message);
  });
  return out;
}

export function NodePanel({ node, kind, settingsSchema, problems, context, onChange, onRename, onDelete,
  step, connections, webhook }) {
  const errors = fieldErrors(problems);
  const readOnly = context.readOnly;
  const isTrigger = kind?.category === "trigger";
  return (
    <div className="tb-node-panel" data-node={node.id}>
      <div className="tb-panel-head">
        <div>
          <div className="tb-kind">{kind?.label || node.data.kind}</div>
          <h2>{node.data.name}</h2>
        </div>
        {!readOnly && <button type="button" className="tb-danger" onClick={onDelete}>Delete node</button>}
      </div>
      {step?.status === "failed" && step.error && (
        <div className="tb-step-failure" role="alert" data-testid="step-failure">
          <strong>{isHandled(step) ? "This step failed; the run went on along its error path:"
            : "This step failed:"}</strong> <span>{step.error}</span>
        </div>
      )}
      {kind?.description && <p className="muted">{kind.description}</p>}
      {errors.other.length > 0 && (
        <ul className="tb-node-errors" role="alert">{errors.other.map((m) => <li key={m}>{m}</li>)}</ul>
      )}
      <fieldset disabled={readOnly} className="tb-plain">
        <div className={`tb-field${errors.name ? " tb-field-has-error" : ""}`} data-field="name">
          <label htmlFor="node-name">Name</label>
          <input id="node-name" value={node.data.name} maxLength={200}
            className={errors.name ? "tb-field-invalid" : undefined}
            onChange={(event) => onChange((data) => ({ ...data, name: event.target.value }))} />
          {errors.name && <div className="tb-field-error" role="alert">{errors.name}</div>}
        </div>
        <NodeIdField key={node.id} nodeId={node.id} error={errors.id} onRename={onRename} />
      </fieldset>
      {kind?.type === "trigger.webhook" && webhook && <WebhookInfo nodeId={node.id} {...webhook} />}
      <h3>Configuration</h3>
      <SchemaForm schema={kind?.config_schema} value={node.data.config} errors={errors.config} context={context}
        prefix={`config-${node.id}`}
        onChange={(config) => onChange((data) => ({ ...data, config }))} />
      {!isTrigger && (
        <details className="tb-settings" open={Object.keys(errors.settings).length > 0 || undefined}>
          <summary>Step settings (timeout, retries)</summary>
          <SchemaForm schema={settingsSchema} value={node.data.settings || {}} errors={errors.settings}
            context={context} prefix={`settings-${node.id}`}
            onChange={(settings) => onChange((data) => ({ ...data, settings }))} />
        </details>
      )}
      {connections}
      {step && <StepResult step={step} />}
    </div>
  );
}

function NodeIdField({ nodeId, error, onRename }) {
  const [value, setValue] = useState(nodeId);
  const [problem, setProblem] = useState(null);
  useEffect(() => setValue(nodeId), [nodeId]);
  function commit() {
    if (value === nodeId) { setProblem(null); return; }
    if (!NODE_ID_PATTERN.test(value)) {
      setProblem("1-64 letters, digits, _ or -, starting with a letter or _.");
      return;
    }
    const refused = onRename(value);
    setProblem(refused || null);
  }
  const message = problem || error;
  return (
    <div className={`tb-field${message ? " tb-field-has-error" : ""}`} data-field="id">
      <label htmlFor="node-id">Id <span className="muted">(templates use event.steps.{nodeId})</span></label>
      <input id="node-id" value={value} spellCheck={false} className={message ? "tb-field-invalid" : undefined}
        onChange={(event) => setValue(event.target.value)} onBlur={commit}
        onKeyDown={(event) => { if (event.key === "Enter") { event.preventDefault(); commit(); } }} />
      {message && <div className="tb-field-error" role="alert">{message}</div>}
    </div>
  );
}

export function StepResult({ step }) {
  const retry = retryOf(step);
  return (
    <section className="tb-step-result" aria-label="Last run of this node">
      <h3>Last run: <span className={stepPill(step).className}>{stepPill(step).text}</span>
        {step.duration_seconds != null && <span className="muted"> {step.duration_seconds.toFixed(2)} s</span>}</h3>
      {retry && <p className="tb-retry" data-testid="step-retry">{retryText(retry)}</p>}
      {step.attempt > 1 && <p className="muted">{step.attempt} attempts</p>}
      {step.error && <pre className="tb-error-box">{step.error}</pre>}
      {step.output !== null && step.output !== undefined && (
        <>
          <h4>Output</h4>
          <pre className="tb-json" data-testid="step-output">{JSON.stringify(step.output, null, 2)}</pre>
        </>
      )}
      {step.logs && (<><h4>Logs</h4><pre className="tb-json" data-testid="step-logs">{step.logs}</pre></>)}
    </section>
  );
}
