// A form generated from a kind's JSON Schema (config_schema), one field per property.
// Supports string, number, integer, boolean, enum, array of enum, object of strings and the
// x-widget hints: code, textarea, json, keyvalue, secret, node, cron, connection, image, flow,
// flow-input (the last two in FlowCall.jsx); readOnly fields are shown, not edited.
import { useEffect, useId, useState } from "react";
import { CodeEditor } from "./CodeEditor.jsx";
import { FlowField, FlowInputField } from "./FlowCall.jsx";
import { TemplateInput } from "./TemplateInput.jsx";
import { CronPreview } from "./TriggerInfo.jsx";

export function SchemaForm({ schema, value, onChange, errors, context, prefix }) {
  const properties = schema?.properties || {};
  const required = new Set(schema?.required || []);
  const keys = Object.keys(properties);
  if (!keys.length) return <p className="muted">Nothing to configure.</p>;
  const set = (key, next) => {
    const copy = { ...value };
    if (next === undefined) delete copy[key];
    else copy[key] = next;
    onChange(copy);
  };
  return keys.map((key) => (
    <Field key={key} name={key} schema={properties[key]} value={value?.[key]} required={required.has(key)}
      onChange={(next) => set(key, next)} error={errors?.[key]} context={context} prefix={prefix}
      config={value} />
  ));
}

function kindOf(schema) {
  const widget = schema["x-widget"];
  if (widget) return widget;
  if (schema.readOnly) return "readonly";
  if (schema.enum) return "enum";
  if (schema.type === "array" && schema.items?.enum) return "enum-array";
  if (schema.type === "array") return "list";
  if (schema.type === "object") return "keyvalue";
  if (schema.type === "boolean") return "boolean";
  if (schema.type === "number" || schema.type === "integer") return "number";
  if (schema.type === "string") return "string";
  return "json";
}

function hint(schema) {
  if (schema.examples?.length) return `e.g. ${schema.examples[0]}`;
  if (schema.default !== undefined && typeof schema.default !== "object") return `${schema.default} (default)`;
  return undefined;
}

function Field({ name, schema, value, required, onChange, error, context, prefix, config }) {
  const id = `${prefix || "field"}-${name}`;
  const describedBy = `${id}-help`;
  const title = schema.title || name;
  const widget = kindOf(schema);
  const common = { id, schema, value, onChange, context, invalid: Boolean(error), describedBy,
                   disabled: context.readOnly, config };
  const grouped = ["enum-array", "keyvalue", "flow-input", "boolean"].includes(widget);
  const Wrapper = grouped ? "fieldset" : "div";
  return (
    <Wrapper className={`tb-field${error ? " tb-field-has-error" : ""}`} data-field={name}>
      {widget === "boolean" ? null : grouped
        ? <legend>{title}{required && <span className="tb-required" aria-hidden="true"> *</span>}</legend>
        : <label htmlFor={id}>{title}{required && <span className="tb-required" aria-hidden="true"> *</span>}</label>}
      <Widget widget={widget} title={title} {...common} />
      {(schema.description || error) && (
        <div id={describedBy} className="tb-help">
          {error && <div className="tb-field-error" role="alert">{error}</div>}
          {schema.description && <div className="muted">{schema.description}</div>}
        </div>
      )}
    </Wrapper>
  );
}

function Widget({ widget, title, id, schema, value, onChange, context, invalid, describedBy, disabled, config }) {
  const textProps = { id, disabled, "aria-describedby": describedBy, "aria-invalid": invalid || undefined,
                      className: invalid ? "tb-field-invalid" : undefined };
  const template = schema["x-template"] && schema["x-template"] !== "value";
  const expression = schema["x-expression"];
  switch (widget) {
    case "code":
      return <CodeEditor id={id} code language={schema["x-language"]} value={value ?? ""} invalid={invalid}
        label={`${title} (${schema["x-language"]})`} readOnly={disabled}
        check={context.assist?.checkCode && ((text) => context.assist.checkCode(schema["x-language"], text))}
        onChange={(text) => onChange(text === "" ? undefined : text)} />;
    case "json":
      return <JsonField id={id} value={value} onChange={onChange} label={title} readOnly={disabled} invalid={invalid} />;
    case "enum":
      return (
        <select {...textProps} value={value ?? ""} onChange={(e) => onChange(e.target.value === "" ? undefined : e.target.value)}>
          <option value="">{schema.default !== undefined ? `Default (${schema.default})` : "—"}</option>
          {schema.enum.map((option) => <option key={option} value={option}>{option}</option>)}
        </select>
      );
    case "enum-array": {
      const chosen = value ?? schema.default ?? [];
      return (
        <div className="tb-checks">
          {schema.items.enum.map((option) => (
            <label key={option} className="tb-check">
              <input type="checkbox" disabled={disabled} checked={chosen.includes(option)}
                onChange={(e) => onChange(e.target.checked ? [...chosen, option]
                  : chosen.filter((item) => item !== option))} /> {option}
            </label>
          ))}
        </div>
      );
    }
    case "boolean":
      return (
        <label className="tb-check" htmlFor={id}>
          <input type="checkbox" id={id} disabled={disabled} aria-describedby={describedBy}
            checked={value ?? schema.default ?? false} onChange={(e) => onChange(e.target.checked)} /> {title}
        </label>
      );
    case "number":
      return <input {...textProps} type="number" value={value ?? ""} placeholder={hint(schema)}
        min={schema.minimum} max={schema.maximum} step={schema.type === "integer" ? 1 : "any"}
        onChange={(e) => onChange(e.target.value === "" ? undefined : Number(e.target.value))} />;
    case "keyvalue":
      return <KeyValue id={id} value={value} onChange={onChange} schema={schema} context={context} disabled={disabled} />;
    case "list":
      return <input {...textProps} value={(value || []).join(", ")} placeholder="Comma-separated"
        onChange={(e) => {
          const items = e.target.value.split(",").map((item) => item.trim()).filter(Boolean);
          onChange(items.length ? items : undefined);
        }} />;
    case "node":
      return (
        <select {...textProps} value={value ?? ""} onChange={(e) => onChange(e.target.value || undefined)}>
          <option value="">—</option>
          {context.nodeIds.map((nodeId) => <option key={nodeId} value={nodeId}>{nodeId}</option>)}
        </select>
      );
    case "connection":
      return <ConnectionField textProps={textProps} value={value} onChange={onChange}
        kinds={schema["x-connection-kinds"]} connections={context.connections} />;
    case "image":
      return <ImageField textProps={textProps} value={value} onChange={onChange} images={context.images}
        recorded={config?.digest} />;
    case "readonly":
      return <output id={id} aria-describedby={describedBy} className="tb-readonly">
        {value ? <code>{value}</code> : <span className="muted">— set when the version is saved —</span>}
      </output>;
    case "flow":
      return <FlowField textProps={textProps} value={value} onChange={onChange} flows={context.flows}
        self={context.flowId} />;
    case "flow-input":
      return <FlowInputField id={id} value={value} onChange={onChange} config={config} context={context}
        disabled={disabled}
        fallback={<KeyValue id={id} value={value} onChange={onChange} schema={schema} context={context} disabled={disabled} />} />;
    case "secret":
      return <SecretField textProps={textProps} value={value} onChange={onChange} secrets={context.secrets} />;
    case "cron":
      return (
        <>
          <input {...textProps} value={value ?? ""} placeholder={hint(schema) || "0 2 * * *"} spellCheck={false}
            onChange={(e) => onChange(e.target.value === "" ? undefined : e.target.value)} />
          <CronPreview expression={value} timezone={config?.timezone} />
        </>
      );
    default:
      if (template || expression || widget === "textarea") {
        return <TemplateInput id={id} value={value} multiline={widget === "textarea"} completions={context.completions}
          expression={Boolean(expression)} html={schema["x-template"] === "html"} assist={context.assist}
          disabled={disabled} invalid={invalid} describedBy={describedBy}
          placeholder={hint(schema)} onChange={(text) => onChange(text === "" ? undefined : text)} />;
      }
      return <input {...textProps} value={value ?? ""} placeholder={hint(schema)}
        onChange={(e) => onChange(e.target.value === "" ? undefined : e.target.value)} />;
  }
}

// A connection by name, from the workspace's connections of the kinds the step can use.
// A name that is not (or no longer) among them stays as typed, and the step says so when it runs.
function ConnectionField({ textProps, value, onChange, kinds, connections }) {
  const loading = connections === null;
  const choices = (connections || []).filter((c) => !kinds || kinds.includes(c.kind));
  const known = !value || choices.some((c) => c.name === value);
  const empty = loading ? "— loading connections… —" : "— no connection of this kind yet —";
  return (
    <select {...textProps} value={value ?? ""} aria-busy={loading || undefined}
      onChange={(e) => onChange(e.target.value || undefined)}>
      <option value="">{choices.length ? "— choose a connection —" : empty}</option>
      {choices.map((c) => <option key={c.name} value={c.name}>{c.name} ({c.kind})</option>)}
      {known ? null : <option value={value}>{value} {loading ? "(loading…)" : "(not found)"}</option>}
    </select>
  );
}

// A registered container image by name. A saved version runs the digest it recorded: when the
// name has moved since, the panel says that saving records the new one.
function ImageField({ textProps, value, onChange, images, recorded }) {
  const loading = images === null;
  const chosen = (images || []).find((image) => image.name === value);
  const empty = loading ? "— loading images… —" : "— no image registered yet —";
  return (
    <>
      <select {...textProps} value={value ?? ""} aria-busy={loading || undefined}
        onChange={(e) => onChange(e.target.value || undefined)}>
        <option value="">{images?.length ? "— choose an image —" : empty}</option>
        {(images || []).map((image) => (
          <option key={image.name} value={image.name}>{image.name} ({image.digest.slice(7, 19)})</option>
        ))}
        {!value || chosen ? null : <option value={value}>{value} {loading ? "(loading…)" : "(not found)"}</option>}
      </select>
      {chosen && recorded && chosen.digest !== recorded && (
        <p className="muted" role="status">
          {value} now points to {chosen.digest.slice(0, 19)}…; saving records it for the new version.
        </p>
      )}
      {!loading && !images?.length && <p className="muted"><a href="/images/">Register an image</a> first.</p>}
    </>
  );
}

function SecretField({ textProps, value, onChange, secrets }) {
  const listId = useId();
  return (
    <>
      <input {...textProps} value={value ?? ""} list={listId} placeholder="SECRET_NAME" spellCheck={false}
        onChange={(e) => onChange(e.target.value === "" ? undefined : e.target.value)} />
      <datalist id={listId}>{(secrets || []).map((name) => <option key={name} value={name} />)}</datalist>
    </>
  );
}

function KeyValue({ id, value, onChange, schema, context, disabled }) {
  const rows = Object.entries(value || {});
  const valueSchema = typeof schema.additionalProperties === "object" ? schema.additionalProperties : {};
  const update = (entries) => onChange(entries.length ? Object.fromEntries(entries) : undefined);
  return (
    <div className="tb-keyvalue" id={id}>
      {rows.map(([key, item], index) => (
        <div className="tb-kv-row" key={index}>
          <input aria-label={`Name ${index + 1}`} value={key} disabled={disabled} placeholder="Name"
            onChange={(e) => update(rows.map((row, i) => (i === index ? [e.target.value, row[1]] : row)))} />
          {valueSchema["x-template"]
            ? <TemplateInput value={item} completions={context.completions} assist={context.assist}
                disabled={disabled} placeholder="Value" label={`Value ${index + 1}`}
                onChange={(text) => update(rows.map((row, i) => (i === index ? [row[0], text] : row)))} />
            : <input aria-label={`Value ${index + 1}`} value={item} disabled={disabled} placeholder="Value"
                onChange={(e) => update(rows.map((row, i) => (i === index ? [row[0], e.target.value] : row)))} />}
          <button type="button" className="tb-icon" disabled={disabled} aria-label={`Remove ${key || "row"}`}
            onClick={() => update(rows.filter((_, i) => i !== index))}>×</button>
        </div>
      ))}
      <button type="button" className="tb-small" disabled={disabled}
        onClick={() => onChange({ ...(value || {}), [uniqueKey(value)]: "" })}>Add</button>
    </div>
  );
}

function uniqueKey(value) {
  let n = 1;
  while (value && `name${n}` in value) n += 1;
  return n === 1 && !(value && "name" in value) ? "name" : `name${n}`;
}

// Any JSON value, edited as text: the config changes only when the text parses.
export function JsonField({ id, value, onChange, label, readOnly, invalid }) {
  const [text, setText] = useState(() => (value === undefined ? "" : JSON.stringify(value, null, 2)));
  const [problem, setProblem] = useState(null);
  useEffect(() => {
    let current;
    try {
      current = text.trim() ? JSON.parse(text) : undefined;
    } catch {
      return; // the user is mid-edit: keep their text
    }
    if (JSON.stringify(current) !== JSON.stringify(value)) {
      setText(value === undefined ? "" : JSON.stringify(value, null, 2));
    }
    // Only an outside change (undo, load) should replace the text.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [value]);
  return (
    <>
      <CodeEditor id={id} language="json" value={text} label={label} readOnly={readOnly}
        invalid={invalid || Boolean(problem)}
        onChange={(next) => {
          setText(next);
          if (!next.trim()) { setProblem(null); onChange(undefined); return; }
          try {
            const parsed = JSON.parse(next);
            setProblem(null);
            onChange(parsed);
          } catch (error) {
            setProblem(error.message);
          }
        }} />
      {problem && <div className="tb-field-error" role="alert">Not valid JSON yet: {problem}</div>}
    </>
  );
}
