import { memo } from "react";
import { Handle, NodeResizer, Position } from "@xyflow/react";
import { retryText } from "./retry.js";
import { ERROR_HANDLE, GROUP_MIN } from "./graph.js";

const STATUS_LABELS = {
  pending: "Pending", queued: "Queued", running: "Running", waiting: "Waiting",
  succeeded: "Succeeded", failed: "Failed", skipped: "Skipped", cancelled: "Cancelled",
};

// A retrying step says which attempt comes next; the time is in the panel and the tooltip.
// A step that failed into its error path says so: the run went on along that path.
function StatusLabel({ status, retry, handled }) {
  const text = retry ? `Retrying: attempt ${retry.attempt}`
    : handled ? "Failed — handled" : STATUS_LABELS[status] || status;
  return (
    <div className={`tb-status${retry ? " tb-retrying" : ""}`} aria-label={`Status: ${text}`}
      title={retry ? retryText(retry) : handled ? "Failed after its retries; the run went on along its error path." : undefined}>{text}</div>
  );
}

// Every step's error output, below its other outputs: small until the node is hovered or
// selected, so that flows without error paths stay uncluttered. Its edges are drawn red.
function ErrorHandle({ name }) {
  return (
    <Handle id={ERROR_HANDLE} type="source" position={Position.Bottom} className="tb-handle-error"
      aria-label={`error output of ${name}`} title="If this step fails after its retries, the run goes on from here">
      <span className="tb-handle-label">error</span>
    </Handle>
  );
}

function statusClasses(data) {
  return [data.status ? `tb-status-${data.status}` : "", data.handled ? "tb-handled" : "",
    data.replayDiffer ? "tb-replay-differ" : ""];
}

// While a replay report is open: how many replays differ at this node.
function ReplayBadge({ count }) {
  return count ? <div className="tb-replay-badge" data-replay-differ={count}>{count} differ</div> : null;
}

// A failed step's message on its node: the first line, cut to fit; the whole in the title.
const ERROR_CHARS = 90;
function shortError(message) {
  const line = message.split("\n")[0];
  return line.length > ERROR_CHARS ? `${line.slice(0, ERROR_CHARS - 1)}…` : line;
}

// One node on the canvas: its kind, its name and id, its run status (and error) or problems, and a
// handle per output (a branch has "true" and "false"; triggers have no input).
function FlowNodeView({ id, data, selected }) {
  const trigger = data.kind.startsWith("trigger.");
  const handles = data.handles?.length ? data.handles : [null];
  const problems = data.problems || [];
  const classes = ["tb-node", trigger ? "tb-trigger" : "tb-step",
    ...statusClasses(data), problems.length ? "tb-invalid" : "",
    data.diff ? `tb-diff-${data.diff}` : "", selected ? "tb-selected" : ""].filter(Boolean).join(" ");
  return (
    <div className={classes} data-node-id={id} data-status={data.status || undefined}
      data-handled={data.handled || undefined} title={problems.map((p) => p.message).join("\n") || undefined}>
      {!trigger && <Handle type="target" position={Position.Left} aria-label={`Input of ${data.name}`} />}
      <div className="tb-kind">{data.label || data.kind}</div>
      <div className="tb-name">{data.name}</div>
      <div className="tb-id">{id}</div>
      {data.status && <StatusLabel status={data.status} retry={data.retry} handled={data.handled} />}
      {data.error && <div className="tb-node-error" title={data.error}>{shortError(data.error)}</div>}
      <ReplayBadge count={data.replayDiffer} />
      {data.diff && <div className="tb-diff-label">{data.diff}{data.changedFields?.length ? `: ${data.changedFields.join(", ")}` : ""}</div>}
      {problems.length > 0 && (
        <div className="tb-problem" role="alert">
          {problems[0].message}{problems.length > 1 ? ` (+${problems.length - 1} more)` : ""}
        </div>
      )}
      {handles.map((handle, index) => (
        <Handle key={handle ?? "out"} id={handle ?? undefined} type="source" position={Position.Right}
          className={handle ? `tb-handle-${handle}` : undefined}
          style={handle ? { top: `${35 + index * 35}%` } : undefined}
          aria-label={handle ? `${handle} output of ${data.name}` : `Output of ${data.name}`}>
          {handle && <span className="tb-handle-label">{handle}</span>}
        </Handle>
      ))}
      {/* Last: React Flow draws an edge without a handle id from a node's first output. */}
      {!trigger && <ErrorHandle name={data.name} />}
    </div>
  );
}

// A for-each's items while it runs (and after): "37/40 · 3 failed".
export function progressLabel(progress) {
  if (!progress) return "";
  return `${progress.done}/${progress.total}${progress.failed ? ` · ${progress.failed} failed` : ""}`;
}

// A for-each: a container whose body steps are drawn inside it. Its header is a node like
// any other (kind, name, id, status, problems); edges reach it from outside only.
function ForEachNodeView({ id, data, selected }) {
  const problems = data.problems || [];
  const classes = ["tb-node", "tb-step", "tb-foreach", ...statusClasses(data),
    problems.length ? "tb-invalid" : "", data.diff ? `tb-diff-${data.diff}` : "",
    selected ? "tb-selected" : ""].filter(Boolean).join(" ");
  return (
    <div className={classes} data-node-id={id} data-status={data.status || undefined}
      data-handled={data.handled || undefined} title={problems.map((p) => p.message).join("\n") || undefined}>
      <NodeResizer isVisible={Boolean(selected && !data.readOnly)} minWidth={GROUP_MIN.width}
        minHeight={GROUP_MIN.height} />
      <Handle type="target" position={Position.Left} aria-label={`Input of ${data.name}`} />
      <div className="tb-foreach-header">
        <div className="tb-kind">{data.label || data.kind}</div>
        <div className="tb-name">{data.name}</div>
        <div className="tb-id">{id}</div>
        {data.status && <StatusLabel status={data.status} retry={data.retry} handled={data.handled} />}
        {data.status && data.progress && (
          <div className="tb-progress" data-progress aria-label={`Items: ${data.progress.done} of ${data.progress.total} done, ${data.progress.failed} failed`}>
            {progressLabel(data.progress)}
          </div>
        )}
        {data.error && <div className="tb-node-error" title={data.error}>{shortError(data.error)}</div>}
        <ReplayBadge count={data.replayDiffer} />
        {data.diff && <div className="tb-diff-label">{data.diff}{data.changedFields?.length ? `: ${data.changedFields.join(", ")}` : ""}</div>}
        {problems.length > 0 && (
          <div className="tb-problem" role="alert">
            {problems[0].message}{problems.length > 1 ? ` (+${problems.length - 1} more)` : ""}
          </div>
        )}
      </div>
      <Handle type="source" position={Position.Right} aria-label={`Output of ${data.name}`} />
      <ErrorHandle name={data.name} />
    </div>
  );
}

export const FlowNode = memo(FlowNodeView);
export const ForEachNode = memo(ForEachNodeView);
export const nodeTypes = { tributary: FlowNode, foreach: ForEachNode };
