// A modal question built on <dialog>: focus moves into it, Escape cancels, and when it
// goes focus returns to what opened it (a toolbar button, a node on the canvas).
import { useLayoutEffect, useRef } from "react";

export function Dialog({ title, children, actions, onCancel, testId, autoFocusBody = false }) {
  const ref = useRef(null);
  // A layout effect: its cleanup runs before React removes the <dialog>, while focus can
  // still be handed back (a removed open dialog drops it on the page's body).
  useLayoutEffect(() => {
    const dialog = ref.current;
    const opener = document.activeElement;
    if (dialog && !dialog.open) dialog.showModal();
    // Focus what the question is about (a message to type), else the first answer.
    dialog?.querySelector("[data-autofocus]")?.focus();
    return () => {
      if (dialog?.open) dialog.close();
      if (opener?.isConnected && opener !== document.body) opener.focus?.();
    };
  }, []);
  return (
    <dialog ref={ref} className="tb-dialog" aria-labelledby="tb-dialog-title" data-testid={testId}
      onCancel={(event) => { event.preventDefault(); onCancel?.(); }}>
      <h2 id="tb-dialog-title">{title}</h2>
      <div className="tb-dialog-body">{children}</div>
      <div className="tb-dialog-actions">
        {actions.map((action, index) => (
          <button key={action.label} type="button" data-autofocus={index === 0 && !autoFocusBody ? "" : undefined}
            className={action.primary ? "primary" : action.danger ? "tb-danger" : undefined}
            onClick={action.onClick}>{action.label}</button>
        ))}
      </div>
    </dialog>
  );
}
