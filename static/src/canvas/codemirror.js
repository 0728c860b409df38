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
import { python } from "@codemirror/lang-python";
import { javascript } from "@codemirror/lang-javascript";
import { json } from "@codemirror/lang-json";

const LANGUAGES = { python: () => python(), javascript: () => javascript(), json: () => json() };

export function createEditor(parent, { value, language, onChange, readOnly, label, placeholder, code }) {
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
  const view = new EditorView({ parent, state: EditorState.create({ doc: value || "", extensions }) });
  return {
    view,
    setValue(next) {
      const current = view.state.doc.toString();
      if (next !== current) view.dispatch({ changes: { from: 0, to: current.length, insert: next } });
    },
    destroy: () => view.destroy(),
  };
}
