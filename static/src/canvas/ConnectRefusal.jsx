// When a connection dragged on the canvas is refused, say why where the drag ended:
// "would make a loop", "triggers have no inputs", "already connected". React Flow only
// declines the drop; the reason comes from the same rule that declined it.
import { useCallback, useRef, useState } from "react";
import { connectionRefusal } from "./graph.js";

const SHOWN_FOR_MS = 5000;

function pointerOf(event) {
  const touch = event.changedTouches?.[0];
  return touch ? { x: touch.clientX, y: touch.clientY } : { x: event.clientX, y: event.clientY };
}

// The two ends of the refused drag: the handle React Flow found, else the node under the
// pointer (a trigger has no input handle to find). Null when it ended on empty canvas, or
// back on the handle it started from.
function endsOf(point, connection) {
  const from = connection.fromNode?.id;
  const fromType = connection.fromHandle?.type ?? "source";
  const handle = connection.toHandle;
  let other = handle && handle.type !== fromType ? connection.toNode?.id : null;
  let otherHandle = other ? handle.id ?? null : null;
  if (!other) {
    const under = document.elementFromPoint(point.x, point.y);
    const onHandle = under?.closest(".react-flow__handle");
    other = under?.closest(".react-flow__node")?.dataset.id ?? null;
    if (other === from && onHandle) return null;
    otherHandle = null;
  }
  if (!from || !other) return null;
  return fromType === "source"
    ? { source: from, target: other, sourceHandle: connection.fromHandle?.id ?? null }
    : { source: other, target: from, sourceHandle: otherHandle };
}

export function useConnectRefusal(state, wrapper) {
  const [refusal, setRefusal] = useState(null);
  const timer = useRef(null);

  const onConnectEnd = useCallback((event, connection) => {
    if (connection.isValid) return;
    const point = pointerOf(event);
    const ends = endsOf(point, connection);
    const message = ends && connectionRefusal(ends, state.current.nodes, state.current.edges);
    if (!message || !wrapper.current) return;
    const box = wrapper.current.getBoundingClientRect();
    setRefusal({ message, x: point.x - box.left, y: point.y - box.top });
    window.clearTimeout(timer.current);
    timer.current = window.setTimeout(() => setRefusal(null), SHOWN_FOR_MS);
  }, [state, wrapper]);

  const shown = refusal && (
    <div className="tb-connect-refusal" role="status" data-testid="connect-refusal"
      style={{ left: refusal.x + 12, top: refusal.y + 12 }}>{refusal.message}</div>
  );
  return { onConnectEnd, refusal: shown };
}
