// Conversion between the graph contract ({nodes, edges}) and React Flow's nodes and edges,
// a dagre left-to-right layout, readable node ids and graph walks (ancestors, cycles).
import dagre from "@dagrejs/dagre";

export const NODE_WIDTH = 200;
export const NODE_HEIGHT = 72;
export const NODE_ID_PATTERN = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;

export function edgeId(edge) {
  return `${edge.source}->${edge.target}${edge.sourceHandle ? `:${edge.sourceHandle}` : ""}`;
}

export function toFlowNode(node) {
  return {
    id: node.id,
    type: "tributary",
    position: { x: node.position?.x ?? 0, y: node.position?.y ?? 0 },
    data: { kind: node.type, name: node.name || node.id, config: node.config || {},
            settings: node.settings || {} },
  };
}

export function toFlowEdge(edge) {
  return {
    id: edgeId(edge),
    source: edge.source,
    target: edge.target,
    sourceHandle: edge.sourceHandle ?? null,
    label: edge.sourceHandle ?? undefined,
  };
}

export function toFlow(graph) {
  return {
    nodes: (graph?.nodes || []).map(toFlowNode),
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
  const seen = new Set(nodes.map((n) => `${n.position.x},${n.position.y}`));
  return nodes.length > 1 && seen.size < nodes.length;
}

export function layout(nodes, edges) {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: "LR", nodesep: 40, ranksep: 80 });
  g.setDefaultEdgeLabel(() => ({}));
  nodes.forEach((node) => g.setNode(node.id, {
    width: node.measured?.width ?? NODE_WIDTH, height: node.measured?.height ?? NODE_HEIGHT,
  }));
  edges.forEach((edge) => g.setEdge(edge.source, edge.target));
  dagre.layout(g);
  return nodes.map((node) => {
    const { x, y, width, height } = g.node(node.id);
    return { ...node, position: { x: Math.round(x - width / 2), y: Math.round(y - height / 2) } };
  });
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

export function isTrigger(kindName) {
  return kindName.startsWith("trigger.");
}
