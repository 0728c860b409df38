// The catalog of triggers and steps. Drag an item onto the canvas, or press it (Enter,
// Space or a click) to add it next to the selected node, connected to it.
import { useEffect, useRef, useState } from "react";

const DRAG_THRESHOLD = 4;

export function Palette({ kinds, onAdd, onDrop }) {
  const [ghost, setGhost] = useState(null);
  const drag = useRef(null);
  const suppressClick = useRef(false);
  const [filter, setFilter] = useState("");

  useEffect(() => {
    function move(event) {
      const current = drag.current;
      if (!current) return;
      const distance = Math.hypot(event.clientX - current.x, event.clientY - current.y);
      if (!current.moved && distance < DRAG_THRESHOLD) return;
      current.moved = true;
      setGhost({ label: current.kind.label, x: event.clientX, y: event.clientY });
    }
    function up(event) {
      const current = drag.current;
      drag.current = null;
      setGhost(null);
      if (current?.moved) {
        onDrop(current.kind, { x: event.clientX, y: event.clientY });
      }
    }
    window.addEventListener("pointermove", move);
    window.addEventListener("pointerup", up);
    return () => {
      window.removeEventListener("pointermove", move);
      window.removeEventListener("pointerup", up);
    };
  }, [onDrop]);

  const visible = kinds.filter((kind) => !filter
    || `${kind.label} ${kind.type} ${kind.description}`.toLowerCase().includes(filter.toLowerCase()));
  const groups = [["trigger", "Triggers"], ["step", "Steps"]];
  return (
    <aside className="tb-palette" aria-label="Add triggers and steps">
      <label className="visually-hidden" htmlFor="tb-palette-filter">Filter kinds</label>
      <input id="tb-palette-filter" type="search" placeholder="Search steps" value={filter}
        onChange={(event) => setFilter(event.target.value)} />
      {groups.map(([category, title]) => (
        <section key={category}>
          <h2>{title}</h2>
          <ul>
            {visible.filter((kind) => kind.category === category).map((kind) => (
              <li key={kind.type}>
                <button type="button" className={`tb-palette-item tb-${category}`} data-kind={kind.type}
                  title={kind.description} aria-label={`Add ${kind.label}`}
                  aria-describedby={`palette-${kind.type}`}
                  onPointerDown={(event) => {
                    if (event.button !== 0) return;
                    event.preventDefault();
                    drag.current = { kind, x: event.clientX, y: event.clientY, moved: false };
                  }}
                  onClick={() => {
                    if (suppressClick.current) { suppressClick.current = false; return; }
                    onAdd(kind);
                  }}
                  onPointerUp={() => {
                    // A drag that ends on the item itself is not a click.
                    suppressClick.current = Boolean(drag.current?.moved);
                  }}>
                  <span className="tb-palette-label">{kind.label}</span>
                  <span id={`palette-${kind.type}`} className="tb-palette-desc">{kind.description}</span>
                </button>
              </li>
            ))}
          </ul>
        </section>
      ))}
      {ghost && (
        <div className="tb-drag-ghost" style={{ left: ghost.x, top: ghost.y }} aria-hidden="true">{ghost.label}</div>
      )}
    </aside>
  );
}
