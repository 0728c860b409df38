// A read-only canvas of a version: the newer graph of a comparison with added and changed
// nodes highlighted and removed nodes and edges ghosted, or just a graph.
import { useMemo } from "react";
import { Background, Controls, MiniMap, ReactFlow, ReactFlowProvider } from "@xyflow/react";
import { nodeTypes } from "./FlowNode.jsx";
import { edgeId, layout, needsLayout, parentsFirst, toFlow, toFlowEdge } from "./graph.js";
import { minimapColor } from "./minimap.js";
import { useKindLabels, withLabels } from "./kindLabels.js";

const FIT = { maxZoom: 1, padding: 0.2 };

function diffFlow(graph, old, diff) {
  const flow = toFlow(graph);
  if (!diff) return flow;
  const changed = Object.fromEntries((diff.nodes.changed || []).map((c) => [c.id, c.fields]));
  const added = new Set(diff.nodes.added || []);
  const nodes = flow.nodes.map((node) => ({
    ...node,
    data: { ...node.data, diff: added.has(node.id) ? "added" : changed[node.id] ? "changed" : undefined,
            changedFields: changed[node.id] },
  }));
  const oldNodes = Object.fromEntries((old?.nodes || []).map((node) => [node.id, node]));
  const removed = new Set(diff.nodes.removed || []);
  removed.forEach((id) => {
    const ghost = toFlow({ nodes: [oldNodes[id]], edges: [] }).nodes[0];
    if (!ghost) return;
    // A removed body step is drawn in its container, itself a ghost when it went too.
    const parentId = ghost.parentId && removed.has(ghost.parentId) ? `removed:${ghost.parentId}` : ghost.parentId;
    nodes.push({ ...ghost, id: `removed:${id}`, parentId, data: { ...ghost.data, diff: "removed" } });
  });
  const addedEdges = new Set((diff.edges.added || []).map(edgeId));
  const edges = flow.edges.map((edge) => (addedEdges.has(edge.id)
    ? { ...edge, className: `tb-edge-added ${edge.className || ""}`.trim(), animated: true } : edge));
  const present = new Set(nodes.map((n) => n.id));
  (diff.edges.removed || []).forEach((raw) => {
    const source = present.has(raw.source) ? raw.source : `removed:${raw.source}`;
    const target = present.has(raw.target) ? raw.target : `removed:${raw.target}`;
    if (present.has(source) && present.has(target)) {
      edges.push({ ...toFlowEdge({ ...raw, source, target }), id: `removed:${edgeId(raw)}`, className: "tb-edge-removed" });
    }
  });
  return { nodes: parentsFirst(nodes), edges };
}

export function DiffView({ graph, old, diff, label }) {
  const labels = useKindLabels();
  const base = useMemo(() => {
    const flow = diffFlow(graph, old, diff);
    return needsLayout(flow.nodes) ? { ...flow, nodes: layout(flow.nodes, flow.edges) } : flow;
  }, [graph, old, diff]);
  const nodes = useMemo(() => withLabels(base.nodes, labels), [base, labels]);
  const { edges } = base;
  return (
    <ReactFlowProvider>
      <ReactFlow nodes={nodes} edges={edges} nodeTypes={nodeTypes} fitView fitViewOptions={FIT} minZoom={0.1}
        nodesDraggable={false} nodesConnectable={false} elementsSelectable={false}
        proOptions={{ hideAttribution: true }} aria-label={label}>
        <Background />
        <Controls showInteractive={false} fitViewOptions={FIT} />
        <MiniMap pannable zoomable nodeColor={minimapColor} nodeStrokeWidth={3} ariaLabel="Mini map" />
      </ReactFlow>
    </ReactFlowProvider>
  );
}
