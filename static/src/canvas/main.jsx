// Mounts the canvas island on every [data-canvas] element, and again after htmx swaps.
import { createRoot } from "react-dom/client";
import "@xyflow/react/dist/style.css";
import "./canvas.css";
import { FlowCanvas } from "./FlowCanvas.jsx";

const roots = new WeakMap();

function mount(element) {
  if (roots.has(element)) return;
  const source = document.getElementById(element.dataset.graph);
  const graph = source ? JSON.parse(source.textContent) : { nodes: [], edges: [] };
  const root = createRoot(element);
  roots.set(element, root);
  root.render(<FlowCanvas graph={graph} />);
}

function mountAll(scope = document) {
  scope.querySelectorAll("[data-canvas]").forEach(mount);
}

mountAll();
document.addEventListener("htmx:load", (event) => mountAll(event.target));
