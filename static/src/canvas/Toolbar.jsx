// The designer's header: the flow, which version is being edited and which one is live,
// and the actions.
import { useRovingFocus } from "./rovingFocus.js";

// A toolbar button that cannot act right now stays focusable (aria-disabled, as the ARIA
// toolbar pattern asks): a button that became disabled while focused (Save after saving,
// Test while a test runs) would otherwise drop the keyboard user's focus to the page top.
function ToolButton({ disabled, onClick, children, ...rest }) {
  return (
    <button type="button" {...rest} aria-disabled={disabled ? "true" : undefined}
      onClick={disabled ? undefined : onClick}>{children}</button>
  );
}

export function Toolbar({ flow, urls, base, live, dirty, busy, readOnly, history, selectedCount, hasRun,
  onSave, onPublish, onTest, onLayout, onFit, onDelete, onClearRun, testsStatus }) {
  const actions = useRovingFocus();
  return (
    <header className="tb-toolbar">
      <div className="tb-title">
        <a href={urls.list} className="tb-back">Flows</a> <span aria-hidden="true">/</span>{" "}
        <h1 title={flow.name}>{flow.name}</h1>
        <span className={`badge${live ? " live" : ""}`} data-testid="live-badge">
          {live ? `Live: v${live}` : "Not published"}
        </span>
        <span className="muted" data-testid="editing">
          {base ? `Editing v${base}` : "Never saved"}{dirty ? " · unsaved changes" : ""}
        </span>
        {testsStatus}
      </div>
      <div className="tb-actions" role="toolbar" aria-label="Flow actions" ref={actions.ref}
        onKeyDown={actions.onKeyDown} onFocus={actions.onFocus}>
        {!readOnly && (
          <>
            <ToolButton onClick={history.undo} disabled={!history.canUndo} aria-label="Undo" title="Undo (Ctrl+Z)">↶</ToolButton>
            <ToolButton onClick={history.redo} disabled={!history.canRedo} aria-label="Redo" title="Redo (Ctrl+Shift+Z)">↷</ToolButton>
            <ToolButton onClick={onDelete} disabled={!selectedCount} title="Delete the selection (Delete)">Delete</ToolButton>
            <ToolButton onClick={onLayout} title="Arrange the nodes left to right">Auto-layout</ToolButton>
          </>
        )}
        <ToolButton onClick={onFit} title="Show the whole flow">Fit view</ToolButton>
        {hasRun && <ToolButton onClick={onClearRun}>Clear run</ToolButton>}
        <a className="tb-button" href={urls.versions}>Versions</a>
        {!readOnly && (
          <>
            <ToolButton onClick={onTest} disabled={Boolean(busy)}>Test</ToolButton>
            <ToolButton onClick={onSave} disabled={Boolean(busy) || (!dirty && base > 0)} className="primary"
              title="Save a new version (Ctrl+S)">Save</ToolButton>
            <ToolButton onClick={onPublish} disabled={Boolean(busy)}>Publish</ToolButton>
          </>
        )}
      </div>
    </header>
  );
}
