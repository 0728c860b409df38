// For-each containers on the canvas: which container a point falls in, and moving nodes
// into and out of bodies (a drop from the palette, or the end of a drag). Positions of body
// nodes are relative to their container, in React Flow and in the stored graph alike.
import { FOREACH, NODE_HEIGHT, NODE_WIDTH, fitContainers, isTrigger, parentsFirst } from "./graph.js";

function absolute(rf, node) {
  return rf.getInternalNode(node.id)?.internals.positionAbsolute ?? node.position;
}

function descendants(nodeId, nodes) {
  const found = new Set([nodeId]);
  let grew = true;
  while (grew) {
    grew = false;
    nodes.forEach((node) => {
      if (node.parentId && found.has(node.parentId) && !found.has(node.id)) { found.add(node.id); grew = true; }
    });
  }
  return found;
}

// The innermost container holding `point` (flow coordinates), leaving out `exclude` and
// everything inside it (a container cannot go into its own body); undefined: none.
export function containerAt(rf, nodes, point, exclude = null) {
  const skip = exclude ? descendants(exclude, nodes) : new Set();
  let best;
  let bestDepth = -1;
  nodes.forEach((node) => {
    if (node.data.kind !== FOREACH || skip.has(node.id)) return;
    const at = absolute(rf, node);
    const width = node.width ?? node.measured?.width ?? 0;
    const height = node.height ?? node.measured?.height ?? 0;
    if (point.x < at.x || point.y < at.y || point.x > at.x + width || point.y > at.y + height) return;
    const depth = descendantsDepth(node, nodes);
    if (depth > bestDepth) { best = node; bestDepth = depth; }
  });
  return best;
}

function descendantsDepth(node, nodes) {
  let depth = 0;
  let current = node;
  while (current?.parentId && depth < 8) {
    depth += 1;
    current = nodes.find((n) => n.id === current.parentId);
  }
  return depth;
}

// Where a node at absolute `at` sits relative to `container` (or at the top level).
export function placeIn(rf, container, at) {
  if (!container) return { x: Math.round(at.x), y: Math.round(at.y) };
  const origin = absolute(rf, container);
  return { x: Math.round(at.x - origin.x), y: Math.round(at.y - origin.y) };
}

// After a drag: each moved node whose centre now lies in another container (or outside
// every one) joins it. Edges that would then cross a body's edge are removed, and said so.
// Returns null when nothing changed membership.
export function regroup(rf, nodes, edges, movedIds) {
  const moved = new Set(movedIds);
  let changed = false;
  const joined = [];
  const next = nodes.map((node) => {
    if (!moved.has(node.id) || isTrigger(node.data.kind) || moved.has(node.parentId)) return node;
    const at = absolute(rf, node);
    const width = node.width ?? node.measured?.width ?? NODE_WIDTH;
    const height = node.height ?? node.measured?.height ?? NODE_HEIGHT;
    const centre = { x: at.x + width / 2, y: at.y + height / 2 };
    const container = containerAt(rf, nodes, centre, node.id);
    if ((container?.id ?? null) === (node.parentId ?? null)) return node;
    changed = true;
    joined.push(container ? `${node.id} is now inside ${container.id}` : `${node.id} left its For each`);
    const { parentId, ...rest } = node;  // eslint-disable-line no-unused-vars
    const position = placeIn(rf, container, at);
    return container ? { ...rest, parentId: container.id, position } : { ...rest, position };
  });
  if (!changed) return null;
  const parentOf = new Map(next.map((node) => [node.id, node.parentId ?? null]));
  const kept = edges.filter((edge) => parentOf.get(edge.source) === parentOf.get(edge.target));
  const dropped = edges.length - kept.length;
  const message = `${joined.join("; ")}.${dropped ? ` Removed ${dropped} connection${dropped > 1 ? "s" : ""} that crossed its edge.` : ""}`;
  return { nodes: parentsFirst(fitContainers(next, { grow: true })), edges: kept, message };
}
