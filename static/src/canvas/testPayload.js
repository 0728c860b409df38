// A test run's input in the shape its trigger delivers live (event.trigger): a webhook's
// request as method, body, query and headers; every other kind as one JSON object shaped
// like its live firing. Kept per flow and trigger in localStorage. The server completes it
// as a live firing would (runtime/triggers/*: test_input) and refuses what no live firing
// could deliver, so a test that passes here passes live with the same request.
import { useCallback, useEffect, useMemo, useState } from "react";
import { api } from "./api.js";
import { payloadLoad, payloadStore } from "./drafts.js";

const pretty = (value) => JSON.stringify(value, null, 2);
const nowIso = () => new Date().toISOString();
const minuteIso = () => { const d = new Date(); d.setUTCSeconds(0, 0); return d.toISOString(); };

// What each trigger kind delivers, as the panel names it, and where its data is.
export const SHAPES = {
  "trigger.webhook": { label: "The request (event.trigger)",
    hint: "A webhook delivers the request: the posted data is event.trigger.body." },
  "trigger.manual": { label: "The payload (event.trigger)",
    hint: "A manual run gets exactly the JSON it is started with." },
  "trigger.cron": { label: "The schedule's firing (event.trigger)",
    hint: "expression and timezone are always the node's; times are now unless you give them." },
  "trigger.event": { label: "The event (event.trigger)",
    hint: "The emitted data is event.trigger.payload; the type must match the trigger and its filter hold." },
  "trigger.dbchange": { label: "The row change (event.trigger)",
    hint: "new and old are the rows; changed_columns is worked out from them, as for a live change." },
  "trigger.error": { label: "The failure (event.trigger)",
    hint: "A failed run of another flow: its flow, run (with its link), failed step and error. Keys left out take example values." },
  "trigger.queue": { label: "The message (event.trigger)",
    hint: "The message body is event.trigger.body; connection and size are filled in as for a live message." },
};

export function methodsOf(node) {
  return node?.data.config?.methods?.length ? node.data.config.methods : ["POST"];
}

// The live shape of a trigger's firing, prefilled from its configuration.
function skeleton(node, timeZone) {
  const config = node?.data.config || {};
  switch (node?.data.kind) {
    case "trigger.manual": return config.sample !== undefined ? config.sample : {};
    case "trigger.cron":
      return { scheduled_for: minuteIso(), fired_at: nowIso(), expression: config.expression || "",
               timezone: config.timezone || timeZone || "UTC" };
    case "trigger.event": {
      const pattern = config.event_type || "example";
      const type = pattern === "*" ? "example" : pattern.replace(/\.\*$/, ".example");
      return { type, payload: {}, emitted_at: nowIso() };
    }
    case "trigger.dbchange": {
      const operation = (config.operations || ["insert"])[0];
      return { table: config.table || "", operation, new: operation === "delete" ? null : {},
               old: operation === "insert" ? null : {}, changed_columns: [], changed_at: nowIso() };
    }
    case "trigger.queue":
      return { body: {}, headers: {}, metadata: { connection: config.connection || "", message_id: "",
                                                   redelivered: false, received_at: nowIso(), size: 2 } };
    case "trigger.error":
      return { flow: { id: 7, name: "Orders" }, version: 3, run: { id: 812, url: "/runs/812/" },
               failed_step: { id: "charge", name: "Charge card", kind: "http.request" },
               error: "Charge card failed: HTTP 502", failed_at: nowIso() };
    default: return {};
  }
}

function requestForm(node, request = {}) {
  return {
    method: request.method || methodsOf(node)[0],
    body: pretty(request.body === undefined ? {} : request.body),
    query: pretty(request.query || {}),
    headers: pretty(request.headers || { "content-type": "application/json" }),
    bodyEncoding: request.body_encoding,
  };
}

function initialForm(node, stored, timeZone) {
  if (stored) return stored;
  if (node?.data.kind === "trigger.webhook") return requestForm(node);
  return { text: pretty(skeleton(node, timeZone)) };
}

function parseJson(text, what) {
  if (!text.trim()) return { problem: `Enter ${what} as JSON, e.g. {}` };
  try {
    return { value: JSON.parse(text) };
  } catch (error) {
    return { problem: `${what[0].toUpperCase()}${what.slice(1)} is not valid JSON: ${error.message}` };
  }
}

// The sample to send, or the first problem ({field, message}).
function readForm(kind, form) {
  if (kind !== "trigger.webhook") {
    const { value, problem } = parseJson(form.text, "the test input");
    return problem ? { problem: { field: "text", message: problem } } : { value };
  }
  const request = { method: form.method };
  for (const [field, what] of [["body", "the body"], ["query", "the query"], ["headers", "the headers"]]) {
    const { value, problem } = parseJson(form[field], what);
    if (problem) return { problem: { field, message: problem } };
    request[field] = value;
  }
  if (form.bodyEncoding) request.body_encoding = form.bodyEncoding;
  return { value: request };
}

function readStored(flowId, nodeId) {
  try {
    const stored = JSON.parse(payloadLoad(flowId, nodeId) || "null");
    return stored && typeof stored === "object" ? stored : null;
  } catch {
    return null;
  }
}

export function useTestPayload(flowId, triggers, { timeZone } = {}) {
  const [chosen, setChosen] = useState(null);
  const trigger = triggers.find((node) => node.id === chosen) || triggers[0] || null;
  const kind = trigger?.data.kind || null;
  const triggerId = trigger?.id;
  const [forms, setForms] = useState({});
  const [origin, setOrigin] = useState({});
  const stored = useMemo(() => (triggerId ? readStored(flowId, triggerId) : null), [flowId, triggerId]);
  const form = useMemo(() => (trigger ? forms[trigger.id] || initialForm(trigger, stored, timeZone)
    : { text: "{}" }), [forms, trigger, stored, timeZone]);
  const edited = Boolean(trigger && (forms[trigger.id] || stored));

  const setForm = useCallback((nodeId, next, from = null) => {
    setForms((all) => ({ ...all, [nodeId]: next }));
    setOrigin((all) => ({ ...all, [nodeId]: from }));
    payloadStore(flowId, nodeId, JSON.stringify(next));
  }, [flowId]);

  // An editor echoes text set from outside (a capture) as a change: only a real change
  // makes the input the user's own.
  const setField = useCallback((field, value) => {
    if (trigger && form[field] !== value) setForm(trigger.id, { ...form, [field]: value });
  }, [trigger, form, setForm]);

  const capture = useCallback((payload, nodeId, capturedAt) => {
    const node = triggers.find((n) => n.id === nodeId);
    setChosen(nodeId);
    setForm(nodeId, requestForm(node, payload || {}), { capturedAt });
  }, [triggers, setForm]);

  // A webhook's last captured request is its sample until the user writes one.
  useEffect(() => {
    if (kind !== "trigger.webhook" || edited) return undefined;
    let cancelled = false;
    api.get(`/api/flows/${flowId}/triggers/${encodeURIComponent(triggerId)}/listen/`).then((result) => {
      if (!cancelled && result.ok && result.data?.status === "captured") {
        capture(result.data.payload, triggerId, result.data.captured_at);
      }
    });
    return () => { cancelled = true; };
  }, [flowId, kind, triggerId, edited]); // eslint-disable-line react-hooks/exhaustive-deps

  const read = useMemo(() => readForm(kind, form), [kind, form]);
  const sampleJson = kind === "trigger.manual" ? trigger.data.config?.sample : undefined;

  return useMemo(() => ({
    trigger: trigger?.id || null,
    node: trigger,
    kind,
    shape: SHAPES[kind] || SHAPES["trigger.manual"],
    form,
    edited,
    origin: trigger ? origin[trigger.id] : null,
    setField,
    setTrigger: setChosen,
    problem: read.problem || null,
    parsed: () => read.value,
    // What templates may complete as event.trigger: the live shape, as far as it is known here.
    sample: () => livePreview(kind, read.value, form),
    hasSample: sampleJson !== undefined,
    useSample: () => setForm(trigger.id, { text: pretty(sampleJson) }),
    // A request kept by "Listen for a test event" becomes the sample, as it arrived.
    capture,
  }), [trigger, kind, form, edited, origin, setField, read, sampleJson, setForm, capture]);
}

function livePreview(kind, value, form) {
  if (kind !== "trigger.webhook") return value ?? {};
  const body = value?.body ?? safeParse(form.body);
  return { method: form.method, path: "/hooks/…", query: value?.query ?? {}, headers: value?.headers ?? {},
           body, body_size: body == null ? 0 : JSON.stringify(body).length };
}

function safeParse(text) {
  try { return JSON.parse(text); } catch { return {}; }
}
