// What a template may read, as completion items: event.trigger... (the test sample, filled
// out with the trigger kind's declared output) and event.steps.<id>... for every other step.
// A step's fields come from the last run's output, else from the object its code returns,
// else from its kind's example output, so they are offered before any test run. Upstream
// steps come first, nearest first; a step that is not upstream is offered too, marked:
// picking it connects it (or says why it cannot, when that would make a loop).
import { ERROR_HANDLE, ancestors, enclosing, isTrigger, wouldCycle } from "./graph.js";
import { returnedShape } from "./returnShape.js";

const MAX_DEPTH = 4;
const MAX_PATHS = 400;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const NOT_CONNECTED = "not connected: picking it connects it";
// What a step that failed into its error path gives the steps on that path.
const ERROR_SHAPE = { message: "HTTP 500 from …", type: "http_status", attempt: 1 };

function walk(prefix, value, depth, out) {
  out.push(prefix);
  if (out.length > MAX_PATHS || depth >= MAX_DEPTH || value === null || typeof value !== "object") return;
  if (Array.isArray(value)) {
    if (value.length) walk(`${prefix}[0]`, value[0], depth + 1, out);
    return;
  }
  Object.entries(value).forEach(([key, item]) => {
    const part = NAME.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
    walk(`${prefix}${part}`, item, depth + 1, out);
  });
}

// The sample wins; the example adds the fields the sample leaves out ({} before any test).
function filledOut(sample, example) {
  const plain = (v) => v && typeof v === "object" && !Array.isArray(v);
  if (!plain(sample) || !plain(example)) return sample ?? example ?? {};
  const out = { ...example, ...sample };
  Object.keys(sample).forEach((key) => { out[key] = filledOut(sample[key], example[key]); });
  return out;
}

// What a step's output looks like, and where that knowledge comes from.
export function outputShape(node, kind, output) {
  if (output !== undefined) return { value: output, origin: "from the last run" };
  const { kind: type, config } = node.data;
  if (type.startsWith("code.")) {
    const shape = returnedShape(config?.source, kind?.config_schema?.properties?.source?.["x-language"]);
    if (shape) return { value: shape, origin: "what the code returns" };
  }
  if (type === "data.transform" && config?.value !== undefined) {
    return { value: config.value, origin: "the configured value" };
  }
  if (kind?.output_example != null) return { value: kind.output_example, origin: "example output" };
  return { value: null, origin: "no run yet" };
}

function stepBase(nodeId) {
  return NAME.test(nodeId) ? `event.steps.${nodeId}` : `event.steps[${JSON.stringify(nodeId)}]`;
}

// One item per path under `base`; the note shows on the first only, or on every item when
// picking any of them does something more (connects the step, or is refused).
function group(base, value, { note, everywhere = false, ...extra }) {
  const paths = [];
  walk(base, value, 0, paths);
  return paths.map((path, index) => ({ path, ...extra, note: everywhere || index === 0 ? note : undefined }));
}

export function completionItems({ nodeId, nodes, edges, kinds = {}, sample, triggerId, outputs = {} }) {
  const byId = new Map(nodes.map((node) => [node.id, node]));
  const trigger = byId.get(triggerId) || nodes.find((node) => isTrigger(node.data.kind));
  const triggerGroup = () => group("event.trigger",
    filledOut(sample, kinds[trigger?.data.kind]?.output_example), { note: "the test sample" });
  const stepGroup = (node, extra) => {
    const { value, origin } = outputShape(node, kinds[node.data.kind], outputs[node.id]);
    return group(stepBase(node.id), value, { title: origin, ...extra, note: extra.note ?? origin });
  };
  // A body step reads its own upstream, then what is upstream of each enclosing For each,
  // and the loop's item and index.
  const containers = enclosing(nodeId, nodes);
  const upstream = [...new Set([nodeId, ...containers].flatMap((id) => ancestors(id, edges)))];
  const items = containers.length ? [
    { path: "item", note: `the current item of ${containers[0]}`, title: "the loop's item" },
    { path: "index", note: "its position in the list, from 0", title: "the loop's index" },
  ] : [];
  const level = byId.get(nodeId)?.parentId ?? null;
  let triggerShown = false;
  upstream.forEach((id) => {
    const node = byId.get(id);
    if (!node) return;
    if (isTrigger(node.data.kind)) {
      if (!triggerShown) items.push(...triggerGroup());
      triggerShown = true;
    } else {
      // A step with an error path: what its failure says comes first (the steps on that
      // path read little else of it).
      if (edges.some((edge) => edge.source === id && edge.sourceHandle === ERROR_HANDLE)) {
        items.push(...group(`${stepBase(id)}.error`, ERROR_SHAPE,
          { title: "if it failed into its error path", note: "its error, on the error path" }));
      }
      items.push(...stepGroup(node, {}));
    }
  });
  if (!triggerShown) items.push(...triggerGroup());
  nodes.forEach((node) => {
    if (items.length > MAX_PATHS) return; // a large graph: enough to choose from
    if (node.id === nodeId || upstream.includes(node.id) || isTrigger(node.data.kind)) return;
    if ((node.parentId ?? null) !== level) return;  // another body: it cannot be connected
    const loops = wouldCycle(node.id, nodeId, edges);
    items.push(...stepGroup(node, loops
      ? { refuse: `${node.id} comes after this step: reading it here would make a loop.`,
          note: "comes after this step", everywhere: true }
      : { connect: node.id, note: NOT_CONNECTED, everywhere: true }));
  });
  const seen = new Set();
  return items.filter((item) => !seen.has(item.path) && seen.add(item.path)).slice(0, MAX_PATHS);
}

// The partial path right before the caret when it is inside {{ ... }} or {% ... %} (or
// anywhere in an expression field), else null. `opener` says which, for closing it.
export function completionContext(text, caret, { expression = false } = {}) {
  const before = text.slice(0, caret);
  let opener = null;
  if (!expression) {
    const variable = before.lastIndexOf("{{");
    const block = before.lastIndexOf("{%");
    const open = Math.max(variable, block);
    if (open < 0) return null;
    const close = Math.max(before.lastIndexOf("}}"), before.lastIndexOf("%}"));
    if (close > open) return null;
    opener = variable > block ? "{{" : "{%";
  }
  const match = /[A-Za-z0-9_.[\]"']*$/.exec(before);
  const prefix = match ? match[0] : "";
  return { prefix, start: caret - prefix.length, opener };
}

// Paths that start with what was typed, then (for a bare word) paths with a field of that
// name: "to" finds event.steps.build.to.
export function suggest(items, prefix, limit = 60) {
  const lower = prefix.toLowerCase();
  const starts = items.filter((item) => item.path.toLowerCase().startsWith(lower) && item.path !== prefix);
  const field = lower && !/[.[]/.test(lower)
    ? items.filter((item) => !starts.includes(item)
        && item.path.toLowerCase().split(/[.[]/).slice(1).some((part) => part.startsWith(lower)))
    : [];
  return [...starts, ...field].slice(0, limit);
}

// The text after picking `path` for the typed prefix: a space after "{{", and the closing
// "}}" when the expression is not closed yet. Returns the new text and the caret.
export function insertCompletion(text, { start, prefix, opener }, path) {
  const after = text.slice(start + prefix.length);
  const lead = opener && /\{[{%]$/.test(text.slice(0, start)) ? " " : "";
  const nextClose = after.indexOf(opener === "{%" ? "%}" : "}}");
  const nextOpen = after.search(/\{[{%]/);
  const closed = nextClose >= 0 && (nextOpen < 0 || nextClose < nextOpen);
  const close = opener === "{{" && !closed ? " }}" : "";
  const inserted = lead + path + close;
  return { text: text.slice(0, start) + inserted + after, caret: start + inserted.length };
}
