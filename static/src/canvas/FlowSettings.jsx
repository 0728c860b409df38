// Flow-level settings (the graph's "settings"): a concurrency limit, optionally per key, the
// worker queue its steps run on, and what happens when a run fails (an error flow, an alert
// email). Saved with the next version, like every change to the graph.
import { useEffect, useState } from "react";

const DEFAULT_QUIET = 15;

// The settings object without what the user left empty ("no limit" stores nothing).
export function concurrencySettings(limitText, key) {
  const limit = Number(limitText);
  if (limitText === "" || !Number.isFinite(limit)) return {};
  const concurrency = { limit };
  if (key.trim()) concurrency.key = key;
  return { concurrency };
}

// Addresses typed one per line or separated by commas.
export const parseEmails = (text) => text.split(/[\s,;]+/).filter(Boolean);

// settings.on_failure, or null when it asks for nothing (no error flow, no address).
export function onFailureSettings(flow, emailsText, quietText) {
  const onFailure = {};
  if (flow != null) onFailure.flow = flow;
  const emails = parseEmails(emailsText);
  if (emails.length) {
    const quiet = Number(quietText);
    onFailure.alert = { emails, quiet_minutes: quietText === "" || !Number.isFinite(quiet) ? DEFAULT_QUIET : quiet };
  }
  return Object.keys(onFailure).length ? onFailure : null;
}

// The settings with `name` replaced (removed when empty), keys in the server's order so an
// edit undone compares equal to what was saved.
const ORDER = ["concurrency", "on_failure", "queue"];
function withPart(settings, name, value) {
  const next = { ...(settings || {}) };
  if (value && (typeof value !== "object" || Object.keys(value).length)) next[name] = value;
  else delete next[name];
  const known = ORDER.filter((key) => key in next).map((key) => [key, next[key]]);
  const rest = Object.entries(next).filter(([key]) => !ORDER.includes(key));
  return Object.fromEntries([...known, ...rest]);
}

export function FlowSettings({ settings, problems, readOnly, onChange, flows, flowId, queues }) {
  const concurrency = settings?.concurrency || {};
  const limitText = concurrency.limit == null ? "" : String(concurrency.limit);
  const key = concurrency.key || "";
  const errors = problems || [];
  const set = (nextLimit, nextKey) => onChange(
    withPart(settings, "concurrency", concurrencySettings(nextLimit, nextKey).concurrency));
  return (
    <div className="tb-flow-settings">
      <h2>Flow settings</h2>
      <label htmlFor="flow-concurrency-limit">Concurrent runs at most</label>
      <input id="flow-concurrency-limit" type="number" min="1" max="1000" step="1" inputMode="numeric"
        placeholder="No limit" value={limitText} readOnly={readOnly}
        aria-describedby="flow-concurrency-help" onChange={(e) => set(e.target.value, key)} />
      <p className="muted" id="flow-concurrency-help">
        Runs beyond the limit wait, queued, and start in order as earlier runs end.
      </p>
      <label htmlFor="flow-concurrency-key">Per key (optional)</label>
      <input id="flow-concurrency-key" type="text" value={key} readOnly={readOnly || limitText === ""}
        placeholder="{{ event.trigger.body.customer_id }}" aria-describedby="flow-concurrency-key-help"
        onChange={(e) => set(limitText, e.target.value)} />
      <p className="muted" id="flow-concurrency-key-help">
        A template over the trigger's event: the limit then applies to each value separately
        (one run at a time per customer).
      </p>
      <QueuePicker value={settings?.queue || ""} queues={queues || []} readOnly={readOnly}
        onChange={(next) => onChange(withPart(settings, "queue", next))} />
      <OnFailure value={settings?.on_failure} readOnly={readOnly} flows={flows} flowId={flowId}
        onChange={(next) => onChange(withPart(settings, "on_failure", next))} />
      {errors.map((error) => (
        <div key={`${error.field}:${error.message}`} className="tb-field-error" role="alert">
          {error.field}: {error.message}
        </div>
      ))}
    </div>
  );
}

// Which worker queue every step of the flow runs on; none: each step's kind decides (light,
// io, compute). A queue the operator no longer declares is still shown, marked.
function QueuePicker({ value, queues, readOnly, onChange }) {
  const choices = value && !queues.includes(value) ? [...queues, value] : queues;
  return (
    <>
      <label htmlFor="flow-queue">Worker queue</label>
      <select id="flow-queue" value={value} disabled={readOnly} aria-describedby="flow-queue-help"
        onChange={(e) => onChange(e.target.value)}>
        <option value="">By kind of step (light, io, compute)</option>
        {choices.map((name) => (
          <option key={name} value={name}>{queues.includes(name) ? name : `${name} (not declared)`}</option>
        ))}
      </select>
      <p className="muted" id="flow-queue-help">
        Every step of the flow runs on the workers serving this queue, e.g. a nightly report on
        a pool of its own.
      </p>
    </>
  );
}

// "When a run fails": the error flow picker (flows whose live version starts "When a flow
// fails") and the alert's addresses and quiet period.
function OnFailure({ value, readOnly, flows, flowId, onChange }) {
  const flow = value?.flow ?? null;
  const saved = (value?.alert?.emails || []).join(", ");
  const quietText = String(value?.alert?.quiet_minutes ?? DEFAULT_QUIET);
  // The addresses as typed ("a@x.com, " mid-word), re-read only when the settings change
  // to other addresses (a reload, Load theirs).
  const [emailsText, setEmailsText] = useState(saved);
  useEffect(() => {
    if (parseEmails(emailsText).join(", ") !== saved) setEmailsText(saved);
  }, [saved]); // eslint-disable-line react-hooks/exhaustive-deps
  const update = (next) => onChange(onFailureSettings(next.flow, next.emails, next.quiet));
  const current = { flow, emails: emailsText, quiet: quietText };
  return (
    <fieldset className="tb-on-failure">
      <legend>When a run fails</legend>
      <label htmlFor="flow-error-flow">Error flow</label>
      <ErrorFlowPicker value={flow} flows={flows} flowId={flowId} readOnly={readOnly}
        onChange={(next) => update({ ...current, flow: next })} />
      <p className="muted" id="flow-error-flow-help">
        Started with the failed run's flow, run link, failed step and error. Only flows whose live
        version starts “When a flow fails” are offered.
      </p>
      <label htmlFor="flow-alert-emails">Alert emails</label>
      <textarea id="flow-alert-emails" rows="2" value={emailsText} readOnly={readOnly}
        placeholder="ops@example.com, ada@example.com" aria-describedby="flow-alert-help"
        onChange={(e) => { setEmailsText(e.target.value); update({ ...current, emails: e.target.value }); }} />
      <label htmlFor="flow-alert-quiet">At most one alert every (minutes)</label>
      <input id="flow-alert-quiet" type="number" min="1" max="10080" step="1" inputMode="numeric"
        value={quietText} readOnly={readOnly || !emailsText.trim()} aria-describedby="flow-alert-help"
        onChange={(e) => update({ ...current, quiet: e.target.value })} />
      <p className="muted" id="flow-alert-help">
        Each address gets an email naming the failed step, with a link to the run; further
        failures within the quiet period send none.
      </p>
    </fieldset>
  );
}

function ErrorFlowPicker({ value, flows, flowId, readOnly, onChange }) {
  const loading = flows == null;
  const choices = (flows || []).filter((f) => f.catches && f.id !== flowId);
  const current = (flows || []).find((f) => f.id === value);
  let extra = null;
  if (value != null && !choices.some((f) => f.id === value)) {
    const why = loading ? "loading…" : !current ? "not found" : value === flowId ? "this flow"
      : "no “When a flow fails” trigger live";
    extra = <option value={value}>{current?.name || `flow #${value}`} ({why})</option>;
  }
  return (
    <select id="flow-error-flow" value={value ?? ""} disabled={readOnly} aria-busy={loading || undefined}
      aria-describedby="flow-error-flow-help"
      onChange={(e) => onChange(e.target.value === "" ? null : Number(e.target.value))}>
      <option value="">{loading ? "— loading flows… —" : "— none —"}</option>
      {choices.map((f) => <option key={f.id} value={f.id}>{f.name}</option>)}
      {extra}
    </select>
  );
}
