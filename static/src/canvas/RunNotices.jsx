// Runs of this flow that the page did not start, as they start and finish:
// "Run #20 (webhook) failed · Show". Show opens the run on the canvas.
import { noticeVerb } from "./liveRuns.js";

// The live region is always there: screen readers announce what is added to one they know.
export function RunNotices({ notices, onShow, onDismiss }) {
  return (
    <div role="status" aria-live="polite">{notices.length > 0 && (<ul className="tb-run-notices" aria-label="New runs">
      {notices.map((run) => (
        <li key={run.id} className={`tb-run-notice tb-run-notice-${run.status}`} data-run-id={run.id}>
          <span>Run #{run.id} ({run.trigger_kind}) {noticeVerb(run.status)}</span>
          {" · "}
          <button type="button" className="tb-link" onClick={() => onShow(run.id)}>Show</button>
          <button type="button" className="tb-notice-close" onClick={() => onDismiss(run.id)}
            aria-label={`Dismiss the notice of run ${run.id}`}>×</button>
        </li>
      ))}
    </ul>)}</div>
  );
}
