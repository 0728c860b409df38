// Unsaved work survives a reload: the editor's graph is kept in localStorage per flow.

const key = (flowId) => `tributary.draft.${flowId}`;

export function draftLoad(flowId) {
  try {
    const raw = window.localStorage.getItem(key(flowId));
    const draft = raw ? JSON.parse(raw) : null;
    return draft && draft.graph && Array.isArray(draft.graph.nodes) ? draft : null;
  } catch {
    return null;
  }
}

export function draftStore(flowId, graph, basedOn) {
  try {
    window.localStorage.setItem(key(flowId), JSON.stringify({ graph, based_on: basedOn, at: new Date().toISOString() }));
  } catch {
    // Storage full or disabled: the beforeunload prompt still protects the work.
  }
}

export function draftClear(flowId) {
  try {
    window.localStorage.removeItem(key(flowId));
  } catch {
    // Nothing to clear.
  }
}

// The test input, per flow and trigger node (each trigger kind has its own shape).
const payloadKey = (flowId, nodeId) => `tributary.test-input.${flowId}.${nodeId}`;

export function payloadLoad(flowId, nodeId) {
  try {
    return window.localStorage.getItem(payloadKey(flowId, nodeId));
  } catch {
    return null;
  }
}

export function payloadStore(flowId, nodeId, text) {
  try {
    window.localStorage.setItem(payloadKey(flowId, nodeId), text);
  } catch {
    // Not essential.
  }
}
