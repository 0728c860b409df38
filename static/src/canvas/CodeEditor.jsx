// A CodeMirror editor as a React component; CodeMirror itself is imported on first use.
import { useEffect, useRef, useState } from "react";

let loading = null;
const loadCodeMirror = () => (loading ??= import("./codemirror.js"));

export function CodeEditor({ value, onChange, language, readOnly, label, placeholder, code, id, invalid }) {
  const host = useRef(null);
  const editor = useRef(null);
  const changed = useRef(onChange);
  const [failed, setFailed] = useState(null);
  changed.current = onChange;

  useEffect(() => {
    let cancelled = false;
    loadCodeMirror().then(({ createEditor }) => {
      if (cancelled || !host.current) return;
      editor.current = createEditor(host.current, {
        value, language, readOnly, label, placeholder, code,
        onChange: (text) => changed.current?.(text),
      });
    }).catch((error) => setFailed(error.message));
    return () => {
      cancelled = true;
      editor.current?.destroy();
      editor.current = null;
    };
    // The editor is created once per mount; later values arrive through setValue below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [language, readOnly]);

  useEffect(() => {
    editor.current?.setValue(value || "");
  }, [value]);

  if (failed) {
    return (
      <textarea id={id} aria-label={label} value={value || ""} readOnly={readOnly} rows={8}
        onChange={(event) => onChange?.(event.target.value)} />
    );
  }
  return <div ref={host} id={id} className={`tb-code${invalid ? " tb-field-invalid" : ""}`}
    data-language={language} />;
}
