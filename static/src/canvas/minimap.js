// Minimap colours: a run's status when one is shown, else trigger/step, red for problems.
const STATUS_COLORS = {
  succeeded: "#1f8a4c", failed: "#c23434", running: "#2456d6", queued: "#2456d6", waiting: "#2456d6",
  pending: "#9aa3b5", skipped: "#d5d9e2", cancelled: "#b7791f",
};

export function minimapColor(node) {
  if (node.data?.problems?.length) return "#c23434";
  if (node.data?.handled) return "#d08a1e";  // failed into its error path: the run went on
  if (node.data?.status) return STATUS_COLORS[node.data.status] || "#9aa3b5";
  if (node.data?.diff === "added") return "#1f8a4c";
  if (node.data?.diff === "changed") return "#b7791f";
  if (node.data?.diff === "removed") return "#e6b3b3";
  return node.data?.kind?.startsWith("trigger.") ? "#7a4de0" : "#2456d6";
}
