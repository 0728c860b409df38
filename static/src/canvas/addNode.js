// Adding nodes from the palette: where a new node goes, its id and name, and the edge from
// the selected node when it is added by keyboard or click.
import { useCallback } from "react";
import {
  NODE_HEIGHT, NODE_WIDTH, edgeId, fitContainers, initialConfig, nextNodeId, parentsFirst, toFlowNode,
} from "./graph.js";
import { containerAt, placeIn } from "./groups.js";
import { withTriggerStarters } from "./starters.js";

export function useAddNode({ state, setNodes, setEdges, history, kinds, rf, wrapper, say, onAdded }) {
  const freeSpot = useCallback((position) => {
    const { nodes: ns } = state.current;
    const spot = { ...position };
    while (ns.some((n) => Math.abs(n.position.x - spot.x) < NODE_WIDTH * 0.6
      && Math.abs(n.position.y - spot.y) < NODE_HEIGHT)) spot.y += NODE_HEIGHT + 30;
    return spot;
  }, []);

  // `parent`: the for-each whose body gets the node (`position` is then relative to it).
  const addNode = useCallback((kind, { position, connectFrom, parent } = {}) => {
    const { nodes: ns, edges: es } = state.current;
    const id = nextNodeId(kind.type, new Set(ns.map((n) => n.id)));
    const sameKind = ns.filter((n) => n.data.kind === kind.type).length;
    let at = position;
    if (!at) {
      const anchor = connectFrom || [...ns].sort((a, b) => b.position.x - a.position.x)[0];
      if (anchor) at = { x: anchor.position.x + NODE_WIDTH + 80, y: anchor.position.y };
      else {
        const box = wrapper.current.getBoundingClientRect();
        const center = rf.screenToFlowPosition({ x: box.left + box.width / 2, y: box.top + box.height / 2 });
        at = { x: center.x - NODE_WIDTH / 2, y: center.y - NODE_HEIGHT / 2 };
      }
      at = freeSpot(at);
    }
    history.snapshot();
    const node = { ...toFlowNode({ id, type: kind.type, name: sameKind ? `${kind.label} ${sameKind + 1}` : kind.label,
                                   config: initialConfig(kind), position: at, parent }), selected: true };
    let nextNodes = [...ns.map((n) => (n.selected ? { ...n, selected: false } : n)), node];
    if (parent) nextNodes = parentsFirst(fitContainers(nextNodes, { grow: true }));
    if (connectFrom && kind.category === "step") {
      const handles = kinds?.[connectFrom.data.kind]?.handles || [];
      const used = new Set(es.filter((e) => e.source === connectFrom.id).map((e) => e.sourceHandle));
      const sourceHandle = handles.length ? handles.find((h) => !used.has(h)) || handles[0] : null;
      const edge = { source: connectFrom.id, target: id, sourceHandle };
      const nextEdges = [...es, { ...edge, id: edgeId(edge), label: sourceHandle ?? undefined }];
      setEdges(nextEdges);
      setNodes(withTriggerStarters(nextNodes, nextEdges, kinds || {}));
    } else {
      setNodes(nextNodes);
    }
    onAdded();
    say(`Added ${kind.label} (${id}).`);
    return id;
  }, [freeSpot, history, kinds, rf, say]);

  const addFromPalette = useCallback((kind) => {
    const { nodes: ns } = state.current;
    const chosen = ns.filter((n) => n.selected);
    const from = chosen.length === 1 && !(kinds?.[kind.type]?.category === "trigger") ? chosen[0] : null;
    addNode(kind, { connectFrom: from });
  }, [addNode, kinds]);

  const dropFromPalette = useCallback((kind, point) => {
    const box = wrapper.current?.getBoundingClientRect();
    if (!box || point.x < box.left || point.x > box.right || point.y < box.top || point.y > box.bottom) return;
    const flowPoint = rf.screenToFlowPosition(point);
    const corner = { x: flowPoint.x - NODE_WIDTH / 2, y: flowPoint.y - NODE_HEIGHT / 2 };
    const container = containerAt(rf, state.current.nodes, flowPoint);
    if (container && kind.category === "trigger") {
      say("A trigger cannot go inside a For each: triggers start the whole flow.");
      return;
    }
    // Dropped on a For each: the step joins its body, placed relative to the container.
    const position = container ? placeIn(rf, container, corner) : { x: Math.round(corner.x), y: Math.round(corner.y) };
    addNode(kind, { position, parent: container?.id });
  }, [addNode, rf, say]);

  return { addFromPalette, dropFromPalette };
}
