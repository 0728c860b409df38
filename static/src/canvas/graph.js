// Conversion between the graph contract ({nodes, edges}) and React Flow's nodes and edges,
// a dagre left-to-right layout, readable node ids and graph walks (ancestors, cycles).
import dagre from "@dagrejs/dagre";

export const NODE_WIDTH = 200;
export const NODE_HEIGHT = 72;
export const NODE_ID_PATTERN = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;

export function edgeId(edge) {
  return `${edge.source}->${edge.target}${edge.sourceHandle ? `:${edge.sourceHandle}` : ""}`;
}

export const FOREACH = "flow.foreach";
// A for-each is drawn as a container: a header, then its body with this much room around.
export const GROUP_HEADER = 64;
export const GROUP_PAD = 24;
export const GROUP_MIN = { width: NODE_WIDTH + 2 * GROUP_PAD, height: NODE_HEIGHT + GROUP_HEADER + 2 * GROUP_PAD };

// Body nodes keep `parent` as React Flow's parentId; their positions are relative to the
// container in both the stored graph and React Flow, so they convert as they are.
export function toFlowNode(node) {
  const flowNode = {
    id: node.id,
    type: node.type === FOREACH ? "foreach" : "tributary",
    position: { x: node.position?.x ?? 0, y: node.position?.y ?? 0 },
    data: { kind: node.type, name: node.name || node.id, config: node.config || {},
            settings: node.settings || {} },
  };
  if (node.parent) flowNode.parentId = node.parent;
  if (node.type === FOREACH) Object.assign(flowNode, GROUP_MIN);
  return flowNode;
}

// React Flow draws a parent before its children: containers first, outermost first.
export function parentsFirst(nodes) {
  const byId = new Map(nodes.map((node) => [node.id, node]));
  const depth = (node, seen = 0) => (node.parentId && byId.has(node.parentId) && seen < 8
    ? 1 + depth(byId.get(node.parentId), seen + 1) : 0);
  return nodes.map((node, index) => ({ node, index, depth: depth(node) }))
    .sort((a, b) => a.depth - b.depth || a.index - b.index).map(({ node }) => node);
}

// A container big enough for its body (the stored graph keeps no sizes: they follow the
// body when a flow is opened; resizing on the canvas lasts for the session).
// `grow`: never shrink a container (one the user made larger keeps its size).
export function fitContainers(nodes, { grow = false } = {}) {
  const sized = new Map();
  [...parentsFirst(nodes)].reverse().forEach((node) => {
    if (node.data.kind !== FOREACH) return;
    let { width, height } = grow ? { width: node.width ?? GROUP_MIN.width, height: node.height ?? GROUP_MIN.height } : GROUP_MIN;
    nodes.filter((child) => child.parentId === node.id).forEach((child) => {
      const size = sized.get(child.id) || { width: child.measured?.width ?? NODE_WIDTH, height: child.measured?.height ?? NODE_HEIGHT };
      width = Math.max(width, child.position.x + size.width + GROUP_PAD);
      height = Math.max(height, child.position.y + size.height + GROUP_PAD);
    });
    sized.set(node.id, { width, height });
  });
  return nodes.map((node) => (sized.has(node.id) ? { ...node, ...sized.get(node.id) } : node));
}

// Every step's output besides its kind's own: taken when it fails for good (an error path).
export const ERROR_HANDLE = "error";

// A step run (from the API) that failed into its error path: failed, but handled.
export function isHandled(step) {
  return step?.status === "failed" && step.handle === ERROR_HANDLE;
}

// A step's status in words and as a pill's class: "failed — handled" is not a failure that
// ended the run.
export function stepPill(step) {
  return isHandled(step) ? { text: "failed — handled", className: "tb-pill tb-pill-handled" }
    : { text: step.status, className: `tb-pill tb-pill-${step.status}` };
}

export function toFlowEdge(edge) {
  const flowEdge = {
    id: edgeId(edge),
    source: edge.source,
    target: edge.target,
    sourceHandle: edge.sourceHandle ?? null,
    label: edge.sourceHandle ?? undefined,
  };
  if (edge.sourceHandle === ERROR_HANDLE) flowEdge.className = "tb-edge-error";
  return flowEdge;
}

export function toFlow(graph) {
  return {
    nodes: fitContainers(parentsFirst((graph?.nodes || []).map(toFlowNode))),
    edges: (graph?.edges || []).map(toFlowEdge),
    settings: graph?.settings || {},
  };
}

// The graph contract from React Flow's nodes and edges and the flow's settings (kept only
// when some are set, so a flow without them saves exactly as before).
export function fromFlow(nodes, edges, settings) {
  const graph = {
    nodes: nodes.map((node) => {
      const out = {
        id: node.id, type: node.data.kind, name: node.data.name, config: node.data.config,
        position: { x: Math.round(node.position.x), y: Math.round(node.position.y) },
      };
      if (node.data.settings && Object.keys(node.data.settings).length) {
        out.settings = node.data.settings;
      }
      if (node.parentId) out.parent = node.parentId;
      return out;
    }),
    edges: edges.map((edge) => {
      const out = { source: edge.source, target: edge.target };
      if (edge.sourceHandle) out.sourceHandle = edge.sourceHandle;
      return out;
    }),
  };
  if (settings && Object.keys(settings).length) graph.settings = settings;
  return graph;
}

export function needsLayout(nodes) {
  const seen = new Set(nodes.map((n) => `${n.parentId || ""}:${n.position.x},${n.position.y}`));
  return nodes.length > 1 && seen.size < nodes.length;
}

function sizeOf(node) {
  if (node.data.kind === FOREACH) return { width: node.width ?? GROUP_MIN.width, height: node.height ?? GROUP_MIN.height };
  return { width: node.measured?.width ?? NODE_WIDTH, height: node.measured?.height ?? NODE_HEIGHT };
}

// One level (the top, or one body) laid out left to right, shifted by `offset`.
function layoutLevel(members, edges, offset) {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: "LR", nodesep: 40, ranksep: 80 });
  g.setDefaultEdgeLabel(() => ({}));
  members.forEach((node) => g.setNode(node.id, sizeOf(node)));
  edges.forEach((edge) => { if (g.hasNode(edge.source) && g.hasNode(edge.target)) g.setEdge(edge.source, edge.target); });
  dagre.layout(g);
  const box = members.reduce((b, node) => {
    const { x, y, width, height } = g.node(node.id);
    return { x: Math.min(b.x, x - width / 2), y: Math.min(b.y, y - height / 2) };
  }, { x: Infinity, y: Infinity });
  return new Map(members.map((node) => {
    const { x, y, width, height } = g.node(node.id);
    const shift = offset ? { x: offset.x - box.x, y: offset.y - box.y } : { x: 0, y: 0 };
    return [node.id, { x: Math.round(x - width / 2 + shift.x), y: Math.round(y - height / 2 + shift.y) }];
  }));
}

// Each body is laid out inside its container (innermost first, so a container is sized to
// its body before its own level is laid out), then the top level.
export function layout(nodes, edges) {
  let current = parentsFirst(nodes);
  const containers = current.filter((node) => node.data.kind === FOREACH).reverse();
  [...containers.map((c) => c.id), undefined].forEach((scope) => {
    const members = current.filter((node) => (node.parentId || undefined) === scope);
    if (!members.length) return;
    const spots = layoutLevel(members, edges, scope ? { x: GROUP_PAD, y: GROUP_HEADER } : null);
    current = current.map((node) => (spots.has(node.id) ? { ...node, position: spots.get(node.id) } : node));
    if (scope) current = fitContainers(current);
  });
  return current;
}

// "http.request" -> http_request, http_request_2, ...; triggers drop their prefix (webhook).
export function nextNodeId(kind, taken) {
  const base = kind.startsWith("trigger.") ? kind.slice("trigger.".length) : kind;
  const stem = base.replace(/[^A-Za-z0-9_]+/g, "_").replace(/^([^A-Za-z_])/, "_$1").slice(0, 56);
  if (!taken.has(stem)) return stem;
  for (let n = 2; ; n += 1) {
    if (!taken.has(`${stem}_${n}`)) return `${stem}_${n}`;
  }
}

// Every node with a path to nodeId, nearest first.
export function ancestors(nodeId, edges) {
  const parents = new Map();
  edges.forEach((edge) => {
    if (!parents.has(edge.target)) parents.set(edge.target, []);
    parents.get(edge.target).push(edge.source);
  });
  const seen = [];
  const queue = [...(parents.get(nodeId) || [])];
  while (queue.length) {
    const current = queue.shift();
    if (current === nodeId || seen.includes(current)) continue;
    seen.push(current);
    queue.push(...(parents.get(current) || []));
  }
  return seen;
}

// Would an edge source -> target close a loop? (Is source reachable from target?)
export function wouldCycle(source, target, edges) {
  return source === target || ancestors(source, edges).includes(target);
}

// Why an edge source -> target cannot be added, in the user's words, or null when it can.
// The canvas shows it where the drag ended; the same rules decide what may be dropped.
export function connectionRefusal({ source, target, sourceHandle = null }, nodes, edges) {
  const targetNode = nodes.find((node) => node.id === target);
  if (!targetNode) return null;
  if (isTrigger(targetNode.data.kind)) return "Triggers have no inputs: a flow starts at its trigger.";
  if (source === target) return "A step cannot connect to itself: that would make a loop.";
  if (edges.some((edge) => edge.source === source && edge.target === target
    && (edge.sourceHandle || null) === (sourceHandle || null))) {
    return `Already connected: ${source} → ${target}.`;
  }
  const sourceNode = nodes.find((node) => node.id === source);
  if (sourceNode && (sourceNode.parentId || null) !== (targetNode.parentId || null)) {
    return "That crosses the edge of a For each: connect to the For each itself, and inside it only between its steps.";
  }
  if (wouldCycle(source, target, edges)) {
    return `That would make a loop: ${target} already leads to ${source}.`;
  }
  return null;
}

// Rename a node id everywhere it is used: edges, node-picker fields and templates that
// read its output (event.steps.<id>).
export function renameReferences(value, oldId, newId) {
  if (typeof value === "string") {
    const pattern = new RegExp(`(event\\.steps\\.)${oldId.replace(/[-]/g, "\\-")}(?![A-Za-z0-9_-])`, "g");
    const quoted = new RegExp(`(event\\.steps\\[["'])${oldId.replace(/[-]/g, "\\-")}(["']\\])`, "g");
    return value.replace(pattern, `$1${newId}`).replace(quoted, `$1${newId}$2`);
  }
  if (Array.isArray(value)) return value.map((item) => renameReferences(item, oldId, newId));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renameReferences(v, oldId, newId)]));
  }
  return value;
}

export function renameNode(nodes, edges, oldId, newId, kinds) {
  const renamedNodes = nodes.map((node) => {
    const schema = kinds[node.data.kind]?.config_schema?.properties || {};
    let config = renameReferences(node.data.config, oldId, newId);
    Object.entries(schema).forEach(([key, field]) => {
      if (field["x-widget"] === "node" && config[key] === oldId) config = { ...config, [key]: newId };
    });
    const changed = config !== node.data.config;
    const base = node.id === oldId ? { ...node, id: newId } : node;
    return changed || node.id === oldId ? { ...base, data: { ...node.data, config } } : node;
  });
  const renamedEdges = edges.map((edge) => {
    if (edge.source !== oldId && edge.target !== oldId) return edge;
    const next = { ...edge, source: edge.source === oldId ? newId : edge.source,
                   target: edge.target === oldId ? newId : edge.target };
    return { ...next, id: edgeId(next) };
  });
  return { nodes: renamedNodes, edges: renamedEdges };
}

// Config for a new node: required fields that have a default (e.g. a code step's source).
export function initialConfig(kind) {
  const schema = kind?.config_schema || {};
  const config = {};
  (schema.required || []).forEach((key) => {
    const field = schema.properties?.[key];
    if (field && field.default !== undefined) config[key] = structuredClone(field.default);
  });
  return config;
}

// The for-each containers around a node, innermost first.
export function enclosing(nodeId, nodes) {
  const byId = new Map(nodes.map((node) => [node.id, node]));
  const found = [];
  let current = byId.get(nodeId)?.parentId;
  while (current && !found.includes(current)) {
    found.push(current);
    current = byId.get(current)?.parentId;
  }
  return found;
}

export function isTrigger(kindName) {
  return kindName.startsWith("trigger.");
}
