// Which nodes act on the world: the kinds a replay rehearses instead of performing (each
// kind's rehearse() in runtime/steps/). A replay may perform these for real only when asked;
// static/js/save_test.js keeps the same list for the run page's "what it sends" check.
const ALWAYS = new Set([
  "email.send", "db.query", "queue.publish", "flow.call", "flow.wait", "flow.approval", "flow.delay",
]);

export function actsOnWorld(kind, config = {}) {
  if (ALWAYS.has(kind)) return true;
  if (kind === "http.request") return !["GET", "HEAD"].includes((config.method || "GET").toUpperCase());
  if (kind === "code.container") return Boolean(config.effects);
  return false;
}
