// The catalog's labels ("Manual run", "Send email") and named outputs (a branch's true and
// false, a wait's received and timed_out) for the read-only canvases, which are given a
// graph but not the catalog: read once per page, kinds shown as they are until then. Without
// its kind's outputs a node has one unnamed output, and edges leaving a named one are not
// drawn at all.
import { useEffect, useState } from "react";
import { api } from "./api.js";

let catalog = null;

export function useKindLabels() {
  const [kinds, setKinds] = useState({});
  useEffect(() => {
    catalog ??= api.get("/api/step-types/").then((result) => (result.ok
      ? Object.fromEntries(result.data.map((kind) => [kind.type, { label: kind.label, handles: kind.handles }]))
      : {}));
    let mounted = true;
    catalog.then((found) => { if (mounted) setKinds(found); });
    return () => { mounted = false; };
  }, []);
  return kinds;
}

export function withLabels(nodes, kinds) {
  return nodes.map((node) => {
    const kind = kinds[node.data.kind];
    return kind ? { ...node, data: { ...node.data, label: kind.label, handles: kind.handles } } : node;
  });
}
