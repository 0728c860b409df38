// Undo and redo for the editor: snapshots of {nodes, edges} taken before each change.
import { useCallback, useMemo, useRef, useState } from "react";

const LIMIT = 100;

function strip(nodes) {
  // Selection and drag state are not part of what undo restores.
  return nodes.map(({ selected, dragging, ...rest }) => rest);
}

export function useHistory(getState, setState) {
  const past = useRef([]);
  const future = useRef([]);
  const [, setVersion] = useState(0);
  const bump = () => setVersion((v) => v + 1);

  const snapshot = useCallback(() => {
    const { nodes, edges } = getState();
    past.current.push({ nodes: strip(nodes), edges });
    if (past.current.length > LIMIT) past.current.shift();
    future.current = [];
    bump();
  }, [getState]);

  const move = useCallback((from, to) => {
    const previous = from.current.pop();
    if (!previous) return;
    const { nodes, edges } = getState();
    to.current.push({ nodes: strip(nodes), edges });
    setState(previous);
    bump();
  }, [getState, setState]);

  const undo = useCallback(() => move(past, future), [move]);
  const redo = useCallback(() => move(future, past), [move]);
  const reset = useCallback(() => { past.current = []; future.current = []; bump(); }, []);

  const canUndo = past.current.length > 0;
  const canRedo = future.current.length > 0;
  return useMemo(() => ({ snapshot, undo, redo, reset, canUndo, canRedo }),
    [snapshot, undo, redo, reset, canUndo, canRedo]);
}
