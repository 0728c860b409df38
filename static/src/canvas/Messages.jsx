// Above the canvas: the notice that unsaved work was restored, and what the server refused.
export function Messages({ notice, onDiscard, onKeep, banner, problems, onDismiss }) {
  const onNodes = Object.values(problems.byNode).some(Boolean);
  return (
    <>
      {notice && (
        <div className="tb-notice" role="status">
          Restored your unsaved changes from {new Date(notice.at).toLocaleString()}
          {notice.basedOn ? ` (started from version ${notice.basedOn})` : ""}.
          <button type="button" className="tb-small" onClick={onDiscard}>Discard them</button>
          <button type="button" className="tb-small" onClick={onKeep}>Keep</button>
        </div>
      )}
      {(problems.detail || banner) && (
        <div className="tb-banner" role="alert">
          <strong>{banner || problems.detail}</strong>
          {problems.general.length > 0 && <ul>{problems.general.map((m) => <li key={m}>{m}</li>)}</ul>}
          {!banner && onNodes && <p>Nodes with problems are outlined in red; select one to see its fields.</p>}
          <button type="button" className="tb-small" onClick={onDismiss}>Dismiss</button>
        </div>
      )}
    </>
  );
}
