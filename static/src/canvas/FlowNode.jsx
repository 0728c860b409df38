import { Handle, Position } from "@xyflow/react";

const BRANCH_HANDLES = ["true", "false"];

// One node on the canvas: its kind, its name, and a handle per output.
export function FlowNode({ data, selected }) {
  const isTrigger = data.kind.startsWith("trigger.");
  const handles = data.kind === "logic.branch" ? BRANCH_HANDLES : [null];
  const classes = ["tb-node", isTrigger ? "tb-trigger" : "tb-step",
    data.status ? `tb-status-${data.status}` : "", data.problem ? "tb-invalid" : "",
    selected ? "tb-selected" : ""].join(" ");
  return (
    <div className={classes} title={data.problem || undefined}>
      {!isTrigger && <Handle type="target" position={Position.Left} />}
      <div className="tb-kind">{data.kind}</div>
      <div className="tb-name">{data.name}</div>
      {data.problem && <div className="tb-problem" role="alert">{data.problem}</div>}
      {handles.map((handle, index) => (
        <Handle key={handle ?? "out"} id={handle ?? undefined} type="source"
          position={Position.Right}
          style={handle ? { top: `${30 + index * 40}%` } : undefined}>
          {handle && <span className="tb-handle-label">{handle}</span>}
        </Handle>
      ))}
    </div>
  );
}
