// The test run's sample payload: typed or pasted JSON, kept per flow in localStorage,
// prefilled from a manual trigger's sample or a captured webhook request.
import { useCallback, useMemo, useState } from "react";
import { payloadLoad, payloadStore } from "./drafts.js";

const WEBHOOK_SKELETON = { method: "POST", path: "/hooks/test", query: {},
                           headers: { "content-type": "application/json" }, body: {} };

function defaultFor(trigger) {
  if (!trigger) return {};
  if (trigger.data.kind === "trigger.manual" && trigger.data.config?.sample !== undefined) return trigger.data.config.sample;
  if (trigger.data.kind === "trigger.webhook") return WEBHOOK_SKELETON;
  return {};
}

const pretty = (value) => JSON.stringify(value, null, 2);

export function useTestPayload(flowId, triggers) {
  const [chosen, setChosen] = useState(null);
  const trigger = triggers.find((node) => node.id === chosen) || triggers[0] || null;
  const [text, setTextState] = useState(() => payloadLoad(flowId) ?? pretty(defaultFor(trigger)));

  const setText = useCallback((next) => {
    setTextState(next);
    payloadStore(flowId, next);
  }, [flowId]);

  const problem = useMemo(() => {
    if (!text.trim()) return "Enter a JSON payload, e.g. {}";
    try {
      JSON.parse(text);
      return null;
    } catch (error) {
      return `Not valid JSON: ${error.message}`;
    }
  }, [text]);

  const sampleJson = trigger?.data.kind === "trigger.manual" ? trigger.data.config?.sample : undefined;

  return useMemo(() => ({
    text, setText, problem,
    trigger: trigger?.id || null,
    setTrigger: setChosen,
    parsed: () => (problem ? undefined : JSON.parse(text)),
    sample: () => { try { return JSON.parse(text); } catch { return {}; } },
    hasSample: sampleJson !== undefined,
    useSample: () => setText(pretty(sampleJson)),
    capture: (payload, nodeId) => { setChosen(nodeId); setText(pretty(payload)); },
  }), [text, setText, problem, trigger, sampleJson]);
}
