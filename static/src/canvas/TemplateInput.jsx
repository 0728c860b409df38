// A text field for Jinja templates and expressions that completes event.trigger... and
// event.steps.<id>... paths: type {{ (or anything, in an expression), pick with the arrow
// keys and Enter or Tab, Escape closes the list.
import { useId, useRef, useState } from "react";
import { completionContext, suggest } from "./templatePaths.js";

export function TemplateInput({ id, value, onChange, multiline, paths, expression, placeholder,
  disabled, invalid, describedBy }) {
  const field = useRef(null);
  const listId = useId();
  const [state, setState] = useState(null); // {items, active, start, prefix}

  function refresh(text, caret) {
    const context = completionContext(text, caret, { expression });
    const items = context ? suggest(paths, context.prefix) : [];
    setState(items.length ? { items, active: 0, ...context } : null);
  }

  function accept(path) {
    const text = value || "";
    const caret = state.start + state.prefix.length;
    const next = text.slice(0, state.start) + path + text.slice(caret);
    onChange(next);
    setState(null);
    const position = state.start + path.length;
    window.requestAnimationFrame(() => {
      field.current?.focus();
      field.current?.setSelectionRange(position, position);
    });
  }

  function onKeyDown(event) {
    if (!state) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      setState({ ...state, active: (state.active + step + state.items.length) % state.items.length });
    } else if (event.key === "Enter" || event.key === "Tab") {
      event.preventDefault();
      accept(state.items[state.active]);
    } else if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      setState(null);
    }
  }

  const Tag = multiline ? "textarea" : "input";
  return (
    <div className="tb-template">
      <Tag ref={field} id={id} value={value ?? ""} disabled={disabled} rows={multiline ? 4 : undefined}
        placeholder={placeholder} spellCheck={false} autoComplete="off"
        className={invalid ? "tb-field-invalid" : undefined} aria-invalid={invalid || undefined}
        aria-describedby={describedBy} role="combobox" aria-autocomplete="list"
        aria-expanded={Boolean(state)} aria-controls={listId}
        aria-activedescendant={state ? `${listId}-${state.active}` : undefined}
        onChange={(event) => { onChange(event.target.value); refresh(event.target.value, event.target.selectionStart); }}
        onKeyDown={onKeyDown}
        onBlur={() => window.setTimeout(() => setState(null), 150)} />
      {state && (
        <ul className="tb-suggestions" id={listId} role="listbox" aria-label="Fields you can use">
          {state.items.map((item, index) => (
            <li key={item} id={`${listId}-${index}`} role="option" aria-selected={index === state.active}
              className={index === state.active ? "tb-active" : undefined}
              onMouseDown={(event) => { event.preventDefault(); accept(item); }}>{item}</li>
          ))}
        </ul>
      )}
    </div>
  );
}
