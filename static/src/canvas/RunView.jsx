// A read-only canvas of one run's version, each node coloured by its step's status as the
// run page (static/js/run_page.js) learns them over the websocket.
import { useEffect, useMemo, useState } from "react";
import { Background, Controls, MiniMap, ReactFlow, ReactFlowProvider } from "@xyflow/react";
import { nodeTypes } from "./FlowNode.jsx";
import { layout, needsLayout, toFlow } from "./graph.js";
import { minimapColor } from "./minimap.js";
import { useKindLabels, withLabels } from "./kindLabels.js";

const FIT = { maxZoom: 1, padding: 0.2 };
const EVENT = "tributary:run-state";

export function RunView({ graph, label }) {
  const [statuses, setStatuses] = useState(() => window.tributaryRunState?.steps || {});
  const [retrying, setRetrying] = useState(() => window.tributaryRunState?.retrying || {});
  const [progress, setProgress] = useState(() => window.tributaryRunState?.progress || {});
  const [handled, setHandled] = useState(() => window.tributaryRunState?.handled || []);
  useEffect(() => {
    const update = (event) => {
      setStatuses({ ...event.detail.steps });
      setRetrying({ ...(event.detail.retrying || {}) });
      setProgress({ ...(event.detail.progress || {}) });
      setHandled([...(event.detail.handled || [])]);
    };
    document.addEventListener(EVENT, update);
    return () => document.removeEventListener(EVENT, update);
  }, []);
  const base = useMemo(() => {
    const flow = toFlow(graph);
    return needsLayout(flow.nodes) ? { ...flow, nodes: layout(flow.nodes, flow.edges) } : flow;
  }, [graph]);
  const labels = useKindLabels();
  const nodes = useMemo(() => withLabels(base.nodes, labels).map((node) => {
    const retry = retrying[node.id];
    return { ...node, data: { ...node.data, status: statuses[node.id], progress: progress[node.id],
      handled: statuses[node.id] === "failed" && handled.includes(node.id),
      retry: retry ? { attempt: retry.failures + 1, wakeAt: retry.wakeAt } : null } };
  }), [base, labels, statuses, retrying, progress, handled]);
  const edges = useMemo(() => base.edges.map((edge) => (
    { ...edge, animated: statuses[edge.target] === "running" })), [base, statuses]);
  return (
    <ReactFlowProvider>
      <ReactFlow nodes={nodes} edges={edges} nodeTypes={nodeTypes} fitView fitViewOptions={FIT}
        minZoom={0.1} nodesDraggable={false} nodesConnectable={false} elementsSelectable={false}
        proOptions={{ hideAttribution: true }} aria-label={label}>
        <Background />
        <Controls showInteractive={false} fitViewOptions={FIT} />
        <MiniMap pannable zoomable nodeColor={minimapColor} nodeStrokeWidth={3} ariaLabel="Mini map" />
      </ReactFlow>
    </ReactFlowProvider>
  );
}
