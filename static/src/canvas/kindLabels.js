// The catalog's labels ("Manual run", "Send email") for the read-only canvases, which are
// given a graph but not the catalog: read once per page, kinds shown as they are until then.
import { useEffect, useState } from "react";
import { api } from "./api.js";

let catalog = null;

export function useKindLabels() {
  const [labels, setLabels] = useState({});
  useEffect(() => {
    catalog ??= api.get("/api/step-types/").then((result) => (result.ok
      ? Object.fromEntries(result.data.map((kind) => [kind.type, kind.label])) : {}));
    let mounted = true;
    catalog.then((found) => { if (mounted) setLabels(found); });
    return () => { mounted = false; };
  }, []);
  return labels;
}

export function withLabels(nodes, labels) {
  return nodes.map((node) => (labels[node.data.kind]
    ? { ...node, data: { ...node.data, label: labels[node.data.kind] } } : node));
}
