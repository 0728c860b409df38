// A code step's starter code names where its trigger's data is: the server lists one per
// trigger kind ("x-starters" beside the code field's default), e.g. `event.trigger.body`
// after a webhook. A step whose code is still a starter gets the one for the triggers
// upstream of it whenever an edge is added; code the user has written is never touched.
import { ancestors, isTrigger } from "./graph.js";

function starterField(kind) {
  const properties = kind?.config_schema?.properties || {};
  const key = Object.keys(properties).find((name) => properties[name]["x-starters"]);
  return key ? { key, field: properties[key] } : null;
}

function wantedStarter(field, triggerKinds) {
  const starters = field["x-starters"];
  return triggerKinds.size === 1 ? starters[[...triggerKinds][0]] ?? field.default : field.default;
}

export function withTriggerStarters(nodes, edges, kinds) {
  const byId = new Map(nodes.map((node) => [node.id, node]));
  return nodes.map((node) => {
    const found = starterField(kinds[node.data.kind]);
    if (!found) return node;
    const { key, field } = found;
    const source = node.data.config?.[key];
    if (source !== undefined && source !== field.default && !Object.values(field["x-starters"]).includes(source)) {
      return node;
    }
    const triggerKinds = new Set(ancestors(node.id, edges).map((id) => byId.get(id)?.data.kind)
      .filter((kind) => kind && isTrigger(kind)));
    const wanted = wantedStarter(field, triggerKinds);
    if (wanted === source) return node;
    return { ...node, data: { ...node.data, config: { ...node.data.config, [key]: wanted } } };
  });
}
