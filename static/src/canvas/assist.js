// Help while editing the selected node: what its templates can complete, connecting a step
// picked from the completions, the preview of a template against the test sample, and
// checking code as it is typed. Previews and checks ask the server (editors only).
import { useCallback, useMemo, useRef } from "react";
import { api } from "./api.js";
import { connectionRefusal } from "./graph.js";
import { completionItems } from "./templatePaths.js";

// The outputs a template can read: those of the steps the shown run finished.
function finishedOutputs(steps) {
  return Object.fromEntries(Object.entries(steps)
    .filter(([, step]) => step.status === "succeeded" && step.output !== undefined)
    .map(([id, step]) => [id, step.output]));
}

// The same array as last time while only positions or selection changed: completions need
// not be rebuilt on every frame of a drag.
function useNodesByContent(nodes) {
  const last = useRef(nodes);
  const same = last.current.length === nodes.length
    && last.current.every((node, index) => node.id === nodes[index].id && node.data === nodes[index].data);
  if (!same) last.current = nodes;
  return last.current;
}

export function useAssist({ flowId, readOnly, single, nodes: allNodes, edges, kinds, steps, test, state, connect }) {
  const nodes = useNodesByContent(allNodes);
  const sample = useMemo(() => test.sample(), [test]);
  const outputs = useMemo(() => finishedOutputs(steps), [steps]);
  const nodeId = single?.id;

  const completions = useMemo(() => (nodeId ? completionItems({
    nodeId, nodes, edges, kinds: kinds || {}, sample, triggerId: test.trigger, outputs,
  }) : []), [nodeId, nodes, edges, kinds, sample, test.trigger, outputs]);

  const connectFrom = useCallback((source) => {
    const { nodes: ns, edges: es } = state.current;
    const from = ns.find((node) => node.id === source);
    if (kinds?.[from?.data.kind]?.handles?.length) {
      return `${source} has ${kinds[from.data.kind].handles.join(" and ")} outputs: connect the one you mean on the canvas.`;
    }
    const refused = connectionRefusal({ source, target: nodeId }, ns, es);
    if (refused) return refused;
    connect({ source, target: nodeId, sourceHandle: null });
    return null;
  }, [state, kinds, nodeId, connect]);

  const preview = useCallback(async (template, mode) => {
    const result = await api.post(`/api/flows/${flowId}/preview/`, { template, mode, trigger: sample, steps: outputs });
    return result.ok ? result.data : null;
  }, [flowId, sample, outputs]);

  const checkCode = useCallback(async (language, code) => {
    const result = await api.post(`/api/flows/${flowId}/check-code/`, { language, code });
    return result.ok ? result.data.problems : [];
  }, [flowId]);

  const assist = useMemo(() => (readOnly ? null : { connectFrom, preview, checkCode }),
    [readOnly, connectFrom, preview, checkCode]);
  return { completions, assist };
}
