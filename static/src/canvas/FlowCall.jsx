// The flow.call step's form: the picker of flows that can be called, and the input form
// generated from the fields the callee declares ("When called by another flow").
import { useEffect, useState } from "react";
import { api } from "./api.js";
import { TemplateInput } from "./TemplateInput.jsx";

const CALLED = "trigger.called";
const PLACEHOLDERS = {
  string: "Text or {{ template }}",
  number: "{{ 42 }} or {{ event.trigger… }}",
  boolean: "{{ true }} or {{ … }}",
  object: "{{ event.trigger… }} (an object)",
  list: "{{ event.trigger… }} (a list)",
};

// Every flow of the workspace, all pages, with whether (and how) it can be called, and
// whether it can be an error flow (FlowSettings.jsx).
export async function loadFlows(workspace) {
  const flows = [];
  let url = `/api/flows/?workspace=${workspace}`;
  while (url) {
    const result = await api.get(url);
    if (!result.ok) break;
    const page = result.data.results || result.data;
    flows.push(...page.map(({ id, name, live_version, callable, call_fields, catches_failures }) => (
      { id, name, live: live_version, callable, fields: call_fields, catches: catches_failures })));
    url = result.data.next ? pathOf(result.data.next) : null;
  }
  return flows;
}

function pathOf(link) {
  const parsed = new URL(link, window.location.href);
  return parsed.pathname + parsed.search;
}

// Why a flow is not offered (shown for a current value only).
function whyNot(flow) {
  return flow.live == null ? "not published" : "no 'When called' trigger";
}

// Only flows that can be called are offered. The flow being edited is offered only when
// its live version can be called: calling that live version is a cycle the save refuses,
// but pinning one of its own earlier versions is a legal (bounded) self-call.
export function FlowField({ textProps, value, onChange, flows, self }) {
  const loading = flows == null;
  const current = (flows || []).find((f) => f.id === value);
  const choices = (flows || []).filter((f) => f.callable);
  let extra = null;
  if (value != null && !current?.callable) {
    const why = loading ? "loading…" : current ? whyNot(current) : "not found";
    extra = <option value={value}>{current?.name || `flow #${value}`} ({why})</option>;
  }
  const empty = choices.length ? "— choose a flow —" : "— no flow of this workspace can be called yet —";
  return (
    <select {...textProps} value={value ?? ""} aria-busy={loading || undefined}
      onChange={(e) => onChange(e.target.value === "" ? undefined : Number(e.target.value))}>
      <option value="">{loading ? "— loading flows… —" : empty}</option>
      {choices.map((f) => <option key={f.id} value={f.id}>{f.name}{f.id === self ? " (this flow)" : ""}</option>)}
      {extra}
    </select>
  );
}

// The declared fields of the version that will be called: the live one, or the pinned
// one (read from its graph). undefined while unknown, null when it cannot be called.
function useCallFields(callee, pinned) {
  const key = callee && pinned ? `${callee.id}:${pinned}` : null;
  const [loaded, setLoaded] = useState({ key: null, fields: undefined });
  useEffect(() => {
    if (!key) return undefined;
    let current = true;
    api.get(`/api/flows/${callee.id}/versions/${pinned}/`).then((result) => {
      const trigger = result.ok ? (result.data.graph?.nodes || []).find((n) => n.type === CALLED) : null;
      if (current) setLoaded({ key, fields: trigger ? (trigger.config?.fields || []) : null });
    });
    return () => { current = false; };
  }, [key]); // eslint-disable-line react-hooks/exhaustive-deps
  if (!key) return callee ? callee.fields : undefined;
  return loaded.key === key ? loaded.fields : undefined;
}

// One template per declared field; with nothing declared (or the callee unknown), the
// rows-of-templates widget ``fallback`` (any object is accepted then).
export function FlowInputField({ id, value, onChange, config, context, disabled, fallback }) {
  const callee = (context.flows || []).find((f) => f.id === config?.flow);
  const fields = useCallFields(callee, config?.version);
  if (!fields?.length) return fallback;
  const given = value || {};
  const set = (name, text) => {
    const copy = { ...given };
    if (text === undefined || text === "") delete copy[name];
    else copy[name] = text;
    onChange(Object.keys(copy).length ? copy : undefined);
  };
  const declared = new Set(fields.map((f) => f.name));
  const unknown = Object.keys(given).filter((name) => !declared.has(name));
  return (
    <div className="tb-flow-input" id={id}>
      {fields.map((field) => (
        <DeclaredField key={field.name} id={`${id}-${field.name}`} field={field} callee={callee.name}
          value={given[field.name]} onChange={(text) => set(field.name, text)} context={context} disabled={disabled} />
      ))}
      {unknown.length > 0 && (
        <div className="tb-field-error" role="alert">
          {callee.name} does not declare {unknown.join(", ")}.{" "}
          <button type="button" className="tb-small" disabled={disabled}
            onClick={() => onChange(Object.fromEntries(Object.entries(given).filter(([name]) => declared.has(name))))}>
            Remove
          </button>
        </div>
      )}
    </div>
  );
}

function DeclaredField({ id, field, callee, value, onChange, context, disabled }) {
  const text = value === undefined || typeof value === "string" ? value : JSON.stringify(value);
  const missing = field.required && !(text || "").trim();
  const help = `${id}-help`;
  return (
    <div className={`tb-flow-input-field${missing ? " tb-field-has-error" : ""}`} data-input-field={field.name}>
      <label htmlFor={id}>
        {field.name} <span className="muted">({field.type})</span>
        {field.required && <span className="tb-required" aria-label="required"> *</span>}
      </label>
      <TemplateInput id={id} value={text} completions={context.completions} assist={context.assist}
        disabled={disabled} invalid={missing} describedBy={help} placeholder={PLACEHOLDERS[field.type]}
        onChange={onChange} />
      <div id={help} className="tb-help">
        {missing && <div className="tb-field-error" role="alert">{callee} requires {field.name}.</div>}
        {field.description && <div className="muted">{field.description}</div>}
      </div>
    </div>
  );
}
