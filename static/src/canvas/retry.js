// A step waiting after a failure is retrying (its backoff ends at wake_at); the run page
// (static/js/run_page.js) words it the same way.
export function retryOf(step) {
  if (!step || step.status !== "waiting" || !(step.failures > 0)) return null;
  return { attempt: step.failures + 1, wakeAt: step.wake_at || null };
}

export function retryText(retry) {
  const at = retry.wakeAt ? new Date(retry.wakeAt) : null;
  const when = at && !Number.isNaN(at.getTime())
    ? at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" }) : "soon";
  return `retrying (attempt ${retry.attempt}, next at ${when})`;
}
