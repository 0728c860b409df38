// The questions the designer asks before it saves, overwrites or publishes.
import { useState } from "react";
import { Dialog } from "./Dialog.jsx";
import { formatTime } from "./TriggerInfo.jsx";
import { TestCases } from "./TestsStatus.jsx";

export function SaveDialog({ base, onSave, onCancel }) {
  const [message, setMessage] = useState("");
  return (
    <Dialog title="Save a new version" testId="save-dialog" onCancel={onCancel} autoFocusBody
      actions={[{ label: "Save", primary: true, onClick: () => onSave(message) }, { label: "Cancel", onClick: onCancel }]}>
      <p>Saving creates version {base + 1}. Versions never change once saved; the live version stays
        as it is until you publish.</p>
      <label htmlFor="save-message">What changed? (optional)</label>
      <input id="save-message" data-autofocus="" value={message} maxLength={500} onChange={(e) => setMessage(e.target.value)}
        onKeyDown={(e) => { if (e.key === "Enter") { e.preventDefault(); onSave(message); } }} />
    </Dialog>
  );
}

export function ConflictDialog({ latest, onForce, onLoad, onCancel }) {
  return (
    <Dialog title="Someone saved a newer version" testId="conflict-dialog" onCancel={onCancel}
      actions={[{ label: "Load theirs", onClick: onLoad }, { label: "Save mine on top", primary: true, onClick: onForce },
                { label: "Cancel", onClick: onCancel }]}>
      <p>Version {latest.number} was saved by <strong>{latest.author || "someone"}</strong>{" "}
        on <time dateTime={latest.created_at}>{formatTime(latest.created_at)}</time>
        {latest.message ? <>: “{latest.message}”</> : null} — after the version you started from.</p>
      <p><strong>Load theirs</strong> discards your changes. <strong>Save mine on top</strong> saves your graph
        as version {latest.number + 1}; their changes stay in the history.</p>
    </Dialog>
  );
}

export function PublishDialog({ number, live, onPublish, onCancel }) {
  return (
    <Dialog title={`Publish version ${number}?`} testId="publish-dialog" onCancel={onCancel}
      actions={[{ label: `Publish v${number}`, primary: true, onClick: onPublish }, { label: "Cancel", onClick: onCancel }]}>
      <p>Triggers will start runs of version {number}
        {live ? ` instead of version ${live}` : ""}. Runs already going keep their version.</p>
    </Dialog>
  );
}

export function UnsavedDialog({ then, base, onSave, onUseSaved, onCancel }) {
  const verb = then === "test" ? "test" : "publish";
  const actions = [{ label: `Save and ${verb}`, primary: true, onClick: onSave }];
  if (onUseSaved) actions.push({ label: `${verb === "test" ? "Test" : "Publish"} v${base} as saved`, onClick: onUseSaved });
  actions.push({ label: "Cancel", onClick: onCancel });
  return (
    <Dialog title="You have unsaved changes" testId="unsaved-dialog" onCancel={onCancel} actions={actions}>
      <p>Only saved versions can be {verb === "test" ? "tested" : "published"}. Save your changes as
        version {base + 1} first?</p>
    </Dialog>
  );
}

// Publishing refused because the version's flow tests fail (or still run): the cases, and
// for a workspace admin "Publish anyway" with the reason the audit trail keeps.
export function TestsRefusedDialog({ number, detail, tests, isAdmin, runUrl, onOverride, onCancel }) {
  const [reason, setReason] = useState("");
  const [missing, setMissing] = useState(false);
  const override = () => {
    if (!reason.trim()) { setMissing(true); return; }
    onOverride(reason.trim());
  };
  const actions = isAdmin
    ? [{ label: "Publish anyway", danger: true, onClick: override }, { label: "Cancel", onClick: onCancel }]
    : [{ label: "Close", onClick: onCancel }];
  return (
    <Dialog title={`Version ${number} was not published`} testId="tests-refused-dialog" onCancel={onCancel}
      autoFocusBody={isAdmin} actions={actions}>
      <p role="alert">{detail}</p>
      <TestCases cases={tests.cases} runUrl={runUrl} only={tests.state === "failed" ? "failed" : undefined} />
      {isAdmin ? (
        <>
          <label htmlFor="override-reason">Why publish it anyway? (kept in the audit trail)</label>
          <textarea id="override-reason" data-autofocus="" value={reason} maxLength={1000} required
            aria-invalid={missing || undefined} aria-describedby={missing ? "override-reason-error" : undefined}
            onChange={(e) => { setReason(e.target.value); setMissing(false); }} />
          {missing && <div id="override-reason-error" className="tb-field-error">Give the reason to publish a version
            whose tests do not pass.</div>}
        </>
      ) : <p className="muted">Fix the version, or ask a workspace admin to publish it anyway.</p>}
    </Dialog>
  );
}
