// CodeMirror 6, loaded on demand (esbuild splits it into its own chunk) so the canvas opens
// without it. Code fields get Python or JavaScript highlighting; JSON fields get JSON.
import { EditorState } from "@codemirror/state";
import {
  EditorView, drawSelection, highlightActiveLine, highlightActiveLineGutter, keymap, lineNumbers,
  placeholder as placeholderExt,
} from "@codemirror/view";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import {
  bracketMatching, defaultHighlightStyle, indentOnInput, syntaxHighlighting,
} from "@codemirror/language";
import { closeBrackets, closeBracketsKeymap } from "@codemirror/autocomplete";
import { linter, lintGutter } from "@codemirror/lint";
import { python } from "@codemirror/lang-python";
import { javascript } from "@codemirror/lang-javascript";
import { json } from "@codemirror/lang-json";

const LANGUAGES = { python: () => python(), javascript: () => javascript(), json: () => json() };
const CHECK_DELAY_MS = 500;

// Problems as {line, column, message} (1-based) become diagnostics: a mark in the gutter
// and under the spot. A column past the end of its line marks the line's end.
export function diagnosticsFor(doc, problems) {
  return problems.map(({ line, column, message }) => {
    const at = doc.line(Math.min(Math.max(1, line), doc.lines));
    const from = Math.min(at.from + Math.max(0, column - 1), at.to);
    return { from, to: Math.min(from + 1, at.to), severity: "error", message };
  });
}

// `check(text)` answers problems for the whole text; CodeMirror calls it after a pause in
// typing, and again after each later change.
function checking(check) {
  return [
    lintGutter(),
    linter(async (view) => diagnosticsFor(view.state.doc, await check(view.state.doc.toString())),
      { delay: CHECK_DELAY_MS }),
  ];
}

export function createEditor(parent, { value, language, onChange, readOnly, label, placeholder, code, check }) {
  const extensions = [
    lineNumbers(),
    highlightActiveLineGutter(),
    history(),
    drawSelection(),
    indentOnInput(),
    bracketMatching(),
    highlightActiveLine(),
    syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
    // Code editors indent with Tab (Escape then Tab leaves the editor, CodeMirror's rule);
    // JSON fields keep Tab for moving between fields.
    keymap.of([...(code ? closeBracketsKeymap : []), ...defaultKeymap, ...historyKeymap,
               ...(code ? [indentWithTab] : [])]),
    EditorView.lineWrapping,
    EditorView.contentAttributes.of({ "aria-label": label || "Editor" }),
    EditorView.updateListener.of((update) => {
      if (update.docChanged) onChange?.(update.state.doc.toString());
    }),
    EditorState.readOnly.of(Boolean(readOnly)),
    EditorView.editable.of(!readOnly),
  ];
  if (code) extensions.push(closeBrackets());
  if (placeholder) extensions.push(placeholderExt(placeholder));
  if (LANGUAGES[language]) extensions.push(LANGUAGES[language]());
  if (check && !readOnly) extensions.push(checking(check));
  const view = new EditorView({ parent, state: EditorState.create({ doc: value || "", extensions }) });
  return {
    view,
    setValue(next) {
      const current = view.state.doc.toString();
      if (next !== current) view.dispatch({ changes: { from: 0, to: current.length, insert: next } });
    },
    // Focus with everything selected: typing replaces the prefilled text.
    focusAll() {
      view.focus();
      view.dispatch({ selection: { anchor: 0, head: view.state.doc.length } });
    },
    destroy: () => view.destroy(),
  };
}
