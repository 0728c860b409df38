// Keyboard focus inside a role="toolbar": one Tab stop for the whole toolbar (the item
// focused last, else the first), arrow keys, Home and End move between its items in
// visual order. Items come and go with the state (e.g. "Clear run"), so the tab stop is
// set again after every render.
import { useCallback, useEffect, useRef } from "react";

const ITEMS = "button, a[href]";
const KEYS = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 };

export function useRovingFocus() {
  const ref = useRef(null);
  const current = useRef(null);

  const items = () => [...(ref.current?.querySelectorAll(ITEMS) || [])];

  useEffect(() => {
    const all = items();
    const stop = all.includes(current.current) ? current.current : all[0];
    all.forEach((item) => { item.tabIndex = item === stop ? 0 : -1; });
  });

  // The item focused (by arrow, Tab or mouse) becomes the toolbar's one tab stop.
  const mark = useCallback((item) => {
    items().forEach((other) => { other.tabIndex = other === item ? 0 : -1; });
    current.current = item;
  }, []);

  const onFocus = useCallback((event) => {
    if (items().includes(event.target)) mark(event.target);
  }, [mark]);

  const onKeyDown = useCallback((event) => {
    const all = items();
    const index = all.indexOf(event.target);
    if (index < 0) return;
    let next = null;
    if (event.key in KEYS) next = all[(index + KEYS[event.key] + all.length) % all.length];
    else if (event.key === "Home") next = all[0];
    else if (event.key === "End") next = all[all.length - 1];
    if (!next) return;
    event.preventDefault();
    mark(next);
    next.focus();
  }, [mark]);

  return { ref, onFocus, onKeyDown };
}
