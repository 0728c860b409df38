// Mounts the canvas island on every [data-canvas] element, and again after htmx swaps:
// data-mode="editor" is the designer; "run" a run's graph coloured live by step status;
// "view" (the default) a read-only graph, with a diff when data-diff names one.
import { createRoot } from "react-dom/client";
import "@xyflow/react/dist/style.css";
import "./canvas.css";
import "./replay.css";
import { Editor } from "./Editor.jsx";
import { DiffView } from "./DiffView.jsx";
import { RunView } from "./RunView.jsx";
import { setCsrfToken } from "./api.js";

const roots = new WeakMap();

function readJson(id, fallback) {
  const source = id ? document.getElementById(id) : null;
  return source ? JSON.parse(source.textContent) : fallback;
}

function mount(element) {
  if (roots.has(element)) return;
  const root = createRoot(element);
  roots.set(element, root);
  if (element.dataset.csrf) setCsrfToken(element.dataset.csrf);
  if (element.dataset.mode === "editor") {
    root.render(<Editor boot={readJson(element.dataset.boot, {})} />);
  } else if (element.dataset.mode === "run") {
    root.render(<RunView graph={readJson(element.dataset.graph, { nodes: [], edges: [] })}
      label={element.getAttribute("aria-label")} />);
  } else {
    root.render(<DiffView graph={readJson(element.dataset.graph, { nodes: [], edges: [] })}
      old={readJson(element.dataset.old, null)} diff={readJson(element.dataset.diff, null)}
      label={element.getAttribute("aria-label")} />);
  }
}

function mountAll(scope = document) {
  if (scope.matches?.("[data-canvas]")) mount(scope);
  scope.querySelectorAll?.("[data-canvas]").forEach(mount);
}

mountAll();
document.addEventListener("htmx:load", (event) => mountAll(event.target));
