// What a template may read: event.trigger... (from the sample payload) and
// event.steps.<id>... for the node's ancestors (deeper when a test run produced outputs).

const MAX_DEPTH = 4;
const MAX_PATHS = 400;

function walk(prefix, value, depth, out) {
  out.push(prefix);
  if (out.length > MAX_PATHS || depth >= MAX_DEPTH || value === null || typeof value !== "object") return;
  if (Array.isArray(value)) {
    if (value.length) walk(`${prefix}[0]`, value[0], depth + 1, out);
    return;
  }
  Object.entries(value).forEach(([key, item]) => {
    const part = /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
    walk(`${prefix}${part}`, item, depth + 1, out);
  });
}

export function templatePaths({ sample, upstream, outputs }) {
  const out = [];
  walk("event.trigger", sample ?? {}, 0, out);
  upstream.forEach((nodeId) => {
    const base = /^[A-Za-z_][A-Za-z0-9_]*$/.test(nodeId) ? `event.steps.${nodeId}` : `event.steps[${JSON.stringify(nodeId)}]`;
    if (outputs && outputs[nodeId] !== undefined) walk(base, outputs[nodeId], 0, out);
    else out.push(base);
  });
  return [...new Set(out)];
}

// The partial path right before the caret when it is inside {{ ... }} (or anywhere in an
// expression field), else null.
export function completionContext(text, caret, { expression = false } = {}) {
  const before = text.slice(0, caret);
  if (!expression) {
    const open = Math.max(before.lastIndexOf("{{"), before.lastIndexOf("{%"));
    if (open < 0) return null;
    const close = Math.max(before.lastIndexOf("}}"), before.lastIndexOf("%}"));
    if (close > open) return null;
  }
  const match = /[A-Za-z0-9_.[\]"']*$/.exec(before);
  const prefix = match ? match[0] : "";
  return { prefix, start: caret - prefix.length };
}

export function suggest(paths, prefix, limit = 8) {
  const lower = prefix.toLowerCase();
  const starts = paths.filter((p) => p.toLowerCase().startsWith(lower) && p !== prefix);
  if (!prefix) return starts.slice(0, limit);
  return starts.slice(0, limit);
}
