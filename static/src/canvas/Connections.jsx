// A node's outgoing connections as a list: remove one, or connect to another node. The
// keyboard way to do what dragging between handles does.
import { useState } from "react";
import { ERROR_HANDLE, wouldCycle } from "./graph.js";

// A step's outputs: its kind's (or its one unnamed output, "") and its error output.
function outputsOf(node, handles, kinds) {
  if (kinds[node.data.kind]?.category === "trigger") return handles;
  return [...(handles.length ? handles : [""]), ERROR_HANDLE];
}

export function Connections({ node, nodes, edges, handles, kinds, readOnly, onConnect, onDisconnect }) {
  const outgoing = edges.filter((edge) => edge.source === node.id);
  const outputs = outputsOf(node, handles, kinds);
  const [target, setTarget] = useState("");
  const [handle, setHandle] = useState(outputs[0] || "");
  const names = Object.fromEntries(nodes.map((n) => [n.id, n.data.name]));
  const candidates = nodes.filter((other) => other.id !== node.id
    && kinds[other.data.kind]?.category !== "trigger"
    && (other.parentId || null) === (node.parentId || null)  // only within one body (or outside all)
    && !wouldCycle(node.id, other.id, edges)
    && !outgoing.some((edge) => edge.target === other.id && (edge.sourceHandle || "") === (handle || "")));
  return (
    <section className="tb-connections" aria-label="Connections">
      <h3>Next steps</h3>
      {outgoing.length === 0 && <p className="muted">Not connected to anything yet.</p>}
      <ul>
        {outgoing.map((edge) => (
          <li key={edge.id}>
            {edge.sourceHandle && <span className="badge">{edge.sourceHandle}</span>} → {names[edge.target] || edge.target}
            {!readOnly && (
              <button type="button" className="tb-icon" aria-label={`Disconnect ${names[edge.target] || edge.target}`}
                onClick={() => onDisconnect(edge.id)}>×</button>
            )}
          </li>
        ))}
      </ul>
      {!readOnly && candidates.length > 0 && (
        <div className="tb-row">
          {outputs.length > 1 && (
            <select aria-label="From output" value={handle} onChange={(e) => setHandle(e.target.value)}>
              {outputs.map((h) => (
                <option key={h || "output"} value={h}>{h === ERROR_HANDLE ? "error (on failure)" : h || "output"}</option>
              ))}
            </select>
          )}
          <select aria-label="Connect to" value={target} onChange={(e) => setTarget(e.target.value)}>
            <option value="">Connect to…</option>
            {candidates.map((other) => <option key={other.id} value={other.id}>{other.data.name} ({other.id})</option>)}
          </select>
          <button type="button" className="tb-small" disabled={!target}
            onClick={() => { onConnect({ source: node.id, target, sourceHandle: handle || null }); setTarget(""); }}>
            Connect
          </button>
        </div>
      )}
    </section>
  );
}
