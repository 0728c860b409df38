// Conversion between the graph contract ({nodes, edges}) and React Flow's nodes and edges,
// and a dagre left-to-right layout for graphs without positions.
import dagre from "@dagrejs/dagre";

export const NODE_WIDTH = 200;
export const NODE_HEIGHT = 64;

export function toFlow(graph) {
  const nodes = (graph.nodes || []).map((node) => ({
    id: node.id,
    type: "tributary",
    position: { x: node.position?.x ?? 0, y: node.position?.y ?? 0 },
    data: { kind: node.type, name: node.name || node.id, config: node.config || {},
            settings: node.settings },
  }));
  const edges = (graph.edges || []).map((edge) => ({
    id: `${edge.source}->${edge.target}${edge.sourceHandle ? `:${edge.sourceHandle}` : ""}`,
    source: edge.source,
    target: edge.target,
    sourceHandle: edge.sourceHandle ?? null,
    label: edge.sourceHandle ?? undefined,
  }));
  return { nodes, edges };
}

export function fromFlow(nodes, edges) {
  return {
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
}

export function needsLayout(nodes) {
  const seen = new Set(nodes.map((n) => `${n.position.x},${n.position.y}`));
  return nodes.length > 1 && seen.size < nodes.length;
}

export function layout(nodes, edges) {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: "LR", nodesep: 40, ranksep: 80 });
  g.setDefaultEdgeLabel(() => ({}));
  nodes.forEach((node) => g.setNode(node.id, { width: NODE_WIDTH, height: NODE_HEIGHT }));
  edges.forEach((edge) => g.setEdge(edge.source, edge.target));
  dagre.layout(g);
  return nodes.map((node) => {
    const { x, y } = g.node(node.id);
    return { ...node, position: { x: x - NODE_WIDTH / 2, y: y - NODE_HEIGHT / 2 } };
  });
}
