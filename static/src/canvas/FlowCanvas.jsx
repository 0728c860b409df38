import { useMemo } from "react";
import { Background, Controls, MiniMap, ReactFlow } from "@xyflow/react";
import { FlowNode } from "./FlowNode.jsx";
import { layout, needsLayout, toFlow } from "./graph.js";

const nodeTypes = { tributary: FlowNode };

// A read-only view of one version's graph.
export function FlowCanvas({ graph }) {
  const { nodes, edges } = useMemo(() => {
    const flow = toFlow(graph);
    return needsLayout(flow.nodes) ? { ...flow, nodes: layout(flow.nodes, flow.edges) } : flow;
  }, [graph]);
  return (
    <ReactFlow nodes={nodes} edges={edges} nodeTypes={nodeTypes} fitView
      fitViewOptions={{ maxZoom: 1 }} nodesDraggable={false} nodesConnectable={false}
      elementsSelectable={false} proOptions={{ hideAttribution: true }}>
      <Background />
      <Controls showInteractive={false} />
      <MiniMap pannable zoomable />
    </ReactFlow>
  );
}
