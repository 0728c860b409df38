// A CodeMirror editor as a React component; CodeMirror itself is imported on first use.
// With `check`, the code is checked as it is typed: problems are marked in the gutter and
// listed under the editor with their line and column.
import { useEffect, useRef, useState } from "react";

let loading = null;
const loadCodeMirror = () => (loading ??= import("./codemirror.js"));

export function CodeEditor({ value, onChange, language, readOnly, label, placeholder, code, id, invalid, check,
  autoFocus }) {
  const host = useRef(null);
  const editor = useRef(null);
  const changed = useRef(onChange);
  const checker = useRef(check);
  const [failed, setFailed] = useState(null);
  const [problems, setProblems] = useState([]);
  changed.current = onChange;
  checker.current = check;
  const checks = Boolean(check);

  useEffect(() => {
    let cancelled = false;
    const runCheck = async (text) => {
      const found = (await checker.current?.(text)) || [];
      if (!cancelled) setProblems(found);
      return found;
    };
    loadCodeMirror().then(({ createEditor }) => {
      if (cancelled || !host.current) return;
      editor.current = createEditor(host.current, {
        value, language, readOnly, label, placeholder, code,
        check: checks ? runCheck : null,
        onChange: (text) => changed.current?.(text),
      });
      if (autoFocus) editor.current.focusAll();
    }).catch((error) => setFailed(error.message));
    return () => {
      cancelled = true;
      editor.current?.destroy();
      editor.current = null;
    };
    // The editor is created once per mount; later values arrive through setValue below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [language, readOnly, checks]);

  useEffect(() => {
    editor.current?.setValue(value || "");
  }, [value]);

  // autoFocus is a counter: each new value asks for focus again (the toolbar's Test).
  useEffect(() => {
    if (autoFocus) editor.current?.focusAll();
  }, [autoFocus]);

  if (failed) {
    return (
      <textarea id={id} aria-label={label} value={value || ""} readOnly={readOnly} rows={8}
        onChange={(event) => onChange?.(event.target.value)} />
    );
  }
  return (
    <>
      <div ref={host} id={id} className={`tb-code${invalid ? " tb-field-invalid" : ""}`} data-language={language} />
      {checks && (
        <div className="tb-code-problems" role="status" aria-live="polite" data-testid="code-problems">
          {problems.map((problem) => (
            <div key={`${problem.line}:${problem.column}:${problem.message}`} className="tb-field-error"
              data-line={problem.line} data-column={problem.column}>{problem.message}</div>
          ))}
        </div>
      )}
    </>
  );
}
