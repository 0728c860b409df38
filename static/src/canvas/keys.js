// Keyboard shortcuts of the editor (undo, redo, copy, paste, save) and the node clipboard.
// Shortcuts stay out of the way while a text field or code editor has the focus.
import { useCallback, useEffect, useRef } from "react";
import { FOREACH, edgeId, nextNodeId, parentsFirst } from "./graph.js";

const CLIPBOARD_KEY = "tributary.clipboard";

function typing(target) {
  return Boolean(target?.closest?.("input, textarea, select, [contenteditable='true'], .cm-editor, dialog"));
}

export function useClipboard({ state, setNodes, setEdges, history, say }) {
  const memory = useRef(null);
  const copy = useCallback(() => {
    const { nodes, edges } = state.current;
    const chosen = nodes.filter((node) => node.selected);
    if (!chosen.length) return;
    const ids = new Set(chosen.map((node) => node.id));
    const data = {
      nodes: chosen.map(({ id, position, data, parentId, width, height }) => ({ id, position, data, parentId, width, height })),
      edges: edges.filter((e) => ids.has(e.source) && ids.has(e.target))
        .map(({ source, target, sourceHandle }) => ({ source, target, sourceHandle })),
    };
    memory.current = data;
    try { window.localStorage.setItem(CLIPBOARD_KEY, JSON.stringify(data)); } catch { /* memory copy is enough */ }
    say(`Copied ${chosen.length} node${chosen.length > 1 ? "s" : ""}.`);
  }, [state, say]);

  const paste = useCallback(() => {
    let data = memory.current;
    try { data = JSON.parse(window.localStorage.getItem(CLIPBOARD_KEY)) || data; } catch { /* use memory */ }
    if (!data?.nodes?.length) return;
    const { nodes, edges } = state.current;
    const taken = new Set(nodes.map((node) => node.id));
    const renamed = {};
    const added = data.nodes.map((node) => {
      const id = nextNodeId(node.data.kind, taken);
      taken.add(id);
      renamed[node.id] = id;
      return { id, type: node.data.kind === FOREACH ? "foreach" : "tributary", selected: true,
               data: structuredClone(node.data), parentId: node.parentId, width: node.width, height: node.height,
               position: { x: node.position.x + 40, y: node.position.y + 40 } };
    });
    // A body step stays in a body: its copied container's copy, else the one it came from.
    added.forEach((node) => {
      if (!node.parentId) { delete node.parentId; return; }
      const parent = renamed[node.parentId] ?? (taken.has(node.parentId) && nodes.some((n) => n.id === node.parentId) ? node.parentId : null);
      if (parent) node.parentId = parent; else delete node.parentId;
    });
    const addedEdges = data.edges.map((edge) => {
      const next = { source: renamed[edge.source], target: renamed[edge.target], sourceHandle: edge.sourceHandle || null };
      return { ...next, id: edgeId(next), label: next.sourceHandle ?? undefined };
    });
    history.snapshot();
    // The paste becomes the selection: what was selected before (edges too) no longer is,
    // so a Delete right after removes only what was pasted.
    const unselect = (item) => (item.selected ? { ...item, selected: false } : item);
    setNodes(parentsFirst([...nodes.map(unselect), ...added]));
    setEdges([...edges.map(unselect), ...addedEdges]);
    say(`Pasted ${added.length} node${added.length > 1 ? "s" : ""}.`);
  }, [state, setNodes, setEdges, history, say]);

  return { copy, paste };
}

export function useEditorKeys({ readOnly, dialogOpen, history, clipboard, onSave }) {
  const latest = useRef();
  latest.current = { readOnly, dialogOpen, history, clipboard, onSave };
  useEffect(() => {
    function onKeyDown(event) {
      const { readOnly: ro, dialogOpen: open, history: h, clipboard: c, onSave: save } = latest.current;
      const mod = event.ctrlKey || event.metaKey;
      if (!mod || open) return;
      const key = event.key.toLowerCase();
      if (key === "s") { event.preventDefault(); save(); return; }
      if (typing(event.target) || ro) return;
      if (key === "z") { event.preventDefault(); if (event.shiftKey) h.redo(); else h.undo(); }
      else if (key === "y") { event.preventDefault(); h.redo(); }
      else if (key === "c") { c.copy(); }
      else if (key === "v") { event.preventDefault(); c.paste(); }
    }
    document.addEventListener("keydown", onKeyDown);
    return () => document.removeEventListener("keydown", onKeyDown);
  }, []);
}
