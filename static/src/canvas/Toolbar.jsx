// The designer's header: the flow, which version is being edited and which one is live,
// and the actions.
export function Toolbar({ flow, urls, base, live, dirty, busy, readOnly, history, selectedCount, hasRun,
  onSave, onPublish, onTest, onLayout, onFit, onDelete, onClearRun }) {
  return (
    <header className="tb-toolbar">
      <div className="tb-title">
        <a href={urls.list} className="tb-back">Flows</a> <span aria-hidden="true">/</span>{" "}
        <h1>{flow.name}</h1>
        <span className={`badge${live ? " live" : ""}`} data-testid="live-badge">
          {live ? `Live: v${live}` : "Not published"}
        </span>
        <span className="muted" data-testid="editing">
          {base ? `Editing v${base}` : "Never saved"}{dirty ? " · unsaved changes" : ""}
        </span>
      </div>
      <div className="tb-actions" role="toolbar" aria-label="Flow actions">
        {!readOnly && (
          <>
            <button type="button" onClick={history.undo} disabled={!history.canUndo} aria-label="Undo" title="Undo (Ctrl+Z)">↶</button>
            <button type="button" onClick={history.redo} disabled={!history.canRedo} aria-label="Redo" title="Redo (Ctrl+Shift+Z)">↷</button>
            <button type="button" onClick={onDelete} disabled={!selectedCount} title="Delete the selection (Delete)">Delete</button>
            <button type="button" onClick={onLayout} title="Arrange the nodes left to right">Auto-layout</button>
          </>
        )}
        <button type="button" onClick={onFit} title="Show the whole flow">Fit view</button>
        {hasRun && <button type="button" onClick={onClearRun}>Clear run</button>}
        <a className="tb-button" href={urls.versions}>Versions</a>
        {!readOnly && (
          <>
            <button type="button" onClick={onTest} disabled={Boolean(busy)}>Test</button>
            <button type="button" onClick={onSave} disabled={Boolean(busy) || (!dirty && base > 0)} className="primary"
              title="Save a new version (Ctrl+S)">Save</button>
            <button type="button" onClick={onPublish} disabled={Boolean(busy)}>Publish</button>
          </>
        )}
      </div>
    </header>
  );
}
