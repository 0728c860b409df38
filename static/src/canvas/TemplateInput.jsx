// A text field for Jinja templates and expressions that completes event.trigger... and
// event.steps.<id>... paths: type {{ (or anything, in an expression), pick with the arrow
// keys and Enter or Tab (the "}}" is closed for you), Escape closes the list. Picking a
// step that is not connected yet connects it. Under the field, what it gives against the
// test sample.
import { useEffect, useId, useRef, useState } from "react";
import { completionContext, insertCompletion, suggest } from "./templatePaths.js";

const PREVIEW_DELAY_MS = 350;

export function TemplateInput({ id, value, onChange, multiline, completions, expression, placeholder,
  disabled, invalid, describedBy, html, assist, label }) {
  const field = useRef(null);
  const listId = useId();
  const [state, setState] = useState(null); // {items, active, start, prefix, opener}
  const [note, setNote] = useState(null);

  function refresh(text, caret) {
    const context = completionContext(text, caret, { expression });
    const items = context ? suggest(completions || [], context.prefix) : [];
    setState(items.length ? { items, active: 0, ...context } : null);
  }

  function accept(item) {
    setState(null);
    if (item.refuse) { setNote({ refused: true, text: item.refuse }); return; }
    if (item.connect) {
      const refused = assist?.connectFrom(item.connect);
      if (refused) { setNote({ refused: true, text: refused }); return; }
      setNote({ text: `Connected ${item.connect} to this step.` });
    }
    const next = insertCompletion(value || "", state, item.path);
    onChange(next.text);
    window.requestAnimationFrame(() => {
      field.current?.focus();
      field.current?.setSelectionRange(next.caret, next.caret);
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

  // Keep the highlighted suggestion in view while the arrow keys move through a long list.
  useEffect(() => {
    if (state) document.getElementById(`${listId}-${state.active}`)?.scrollIntoView({ block: "nearest" });
  }, [state, listId]);

  const Tag = multiline ? "textarea" : "input";
  const mode = expression ? "expression" : html ? "html" : "text";
  return (
    <div className="tb-template">
      <Tag ref={field} id={id} value={value ?? ""} disabled={disabled} rows={multiline ? 4 : undefined}
        placeholder={placeholder} spellCheck={false} autoComplete="off" aria-label={label}
        className={invalid ? "tb-field-invalid" : undefined} aria-invalid={invalid || undefined}
        aria-describedby={describedBy} role="combobox" aria-autocomplete="list"
        aria-expanded={Boolean(state)} aria-controls={listId}
        aria-activedescendant={state ? `${listId}-${state.active}` : undefined}
        onChange={(event) => {
          onChange(event.target.value);
          setNote(null);
          refresh(event.target.value, event.target.selectionStart);
        }}
        onKeyDown={onKeyDown}
        onBlur={() => window.setTimeout(() => setState(null), 150)} />
      {state && (
        <ul className="tb-suggestions" id={listId} role="listbox" aria-label="Fields you can use">
          {state.items.map((item, index) => (
            <li key={item.path} id={`${listId}-${index}`} role="option" aria-selected={index === state.active}
              className={[index === state.active ? "tb-active" : "", item.connect ? "tb-unconnected" : "",
                item.refuse ? "tb-refused" : ""].filter(Boolean).join(" ") || undefined}
              title={item.title} data-path={item.path}
              onMouseDown={(event) => { event.preventDefault(); accept(item); }}>
              <span className="tb-path">{item.path}</span>
              {item.note && <span className="tb-note">{item.note}</span>}
            </li>
          ))}
        </ul>
      )}
      {note && <div className={note.refused ? "tb-field-error" : "tb-help muted"} role="status">{note.text}</div>}
      {assist?.preview && <Preview value={value} mode={mode} preview={assist.preview} />}
    </div>
  );
}

function wantsPreview(value, mode) {
  if (!value || !value.trim()) return false;
  return mode === "expression" || /\{[{%]/.test(value);
}

// What the field gives against the test sample and the last run's outputs, rendered by the
// server in the run's own sandbox; debounced, and only the latest answer is shown.
function Preview({ value, mode, preview }) {
  const [shown, setShown] = useState(null);
  const latest = useRef(0);
  const wanted = wantsPreview(value, mode);
  useEffect(() => {
    if (!wanted) { setShown(null); return undefined; }
    const ask = (latest.current += 1);
    const timer = window.setTimeout(async () => {
      const result = await preview(value, mode);
      if (ask === latest.current) setShown(result);
    }, PREVIEW_DELAY_MS);
    return () => window.clearTimeout(timer);
  }, [value, mode, preview, wanted]);
  if (!wanted || !shown) return null;
  const text = shown.ok ? (shown.text === "" ? "(empty)" : shown.text + (shown.truncated ? "…" : "")) : shown.error;
  return (
    <div className={`tb-preview${shown.ok ? "" : " tb-preview-error"}`} data-testid="template-preview"
      aria-live="polite" title={text}>
      <span className="tb-preview-label">{shown.ok ? "Preview:" : "Preview fails:"}</span> {text}
    </div>
  );
}
