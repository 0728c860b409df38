// Runs of this flow that the page did not start, as they start and finish:
// "Run #20 (webhook) failed · Show". Show opens the run on the canvas.
import { noticeVerb } from "./liveRuns.js";

export function RunNotices({ notices, onShow, onDismiss }) {
  if (!notices.length) return null;
  return (
    <ul className="tb-run-notices" role="status" aria-live="polite" aria-label="New runs">
      {notices.map((run) => (
        <li key={run.id} className={`tb-run-notice tb-run-notice-${run.status}`} data-run-id={run.id}>
          <span>Run #{run.id} ({run.trigger_kind}) {noticeVerb(run.status)}</span>
          {" · "}
          <button type="button" className="tb-link" onClick={() => onShow(run.id)}>Show</button>
          <button type="button" className="tb-notice-close" onClick={() => onDismiss(run.id)}
            aria-label={`Dismiss the notice of run ${run.id}`}>×</button>
        </li>
      ))}
    </ul>
  );
}
