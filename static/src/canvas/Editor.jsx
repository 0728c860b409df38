// The flow designer: canvas, palette, side panel, and the save / publish / test workflow.
// The server holds immutable versions; this component holds the draft between them.
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import {
  Background, Controls, MiniMap, ReactFlow, ReactFlowProvider, addEdge, applyEdgeChanges,
  applyNodeChanges, useReactFlow,
} from "@xyflow/react";
import { api, problemText } from "./api.js";
import { nodeTypes } from "./FlowNode.jsx";
import { Palette } from "./Palette.jsx";
import { SidePanel } from "./SidePanel.jsx";
import { Messages } from "./Messages.jsx";
import { useAddNode } from "./addNode.js";
import { Toolbar } from "./Toolbar.jsx";
import { SaveDialog, ConflictDialog, PublishDialog, TestsRefusedDialog, UnsavedDialog } from "./dialogs.jsx";
import { replayMarks, useReplay } from "./replayReport.js";
import { TestsStatus, useVersionTests } from "./TestsStatus.jsx";
import { useHistory } from "./history.js";
import { draftClear, draftLoad, draftStore } from "./drafts.js";
import { watchRun } from "./runWatcher.js";
import { useFlowRuns } from "./liveRuns.js";
import { RunNotices } from "./RunNotices.jsx";
import { retryOf } from "./retry.js";
import { useAssist } from "./assist.js";
import { useConnectRefusal } from "./ConnectRefusal.jsx";
import { useTestPayload } from "./testPayload.js";
import { useWebhookListener } from "./listen.js";
import { withTriggerStarters } from "./starters.js";
import { EmptyCanvas } from "./EmptyCanvas.jsx";
import { loadFlows } from "./FlowCall.jsx";
import { useClipboard, useEditorKeys } from "./keys.js";
import {
  NODE_HEIGHT, NODE_WIDTH, connectionRefusal, fromFlow, isHandled, layout, needsLayout, renameNode, toFlow,
  toFlowEdge,
} from "./graph.js";
import { minimapColor } from "./minimap.js";
import { regroup } from "./groups.js";

const FIT = { maxZoom: 1, padding: 0.2 };

export function Editor(props) {
  return <ReactFlowProvider><EditorInner {...props} /></ReactFlowProvider>;
}

function laidOut(graph) {
  const flow = toFlow(graph || { nodes: [], edges: [] });
  return needsLayout(flow.nodes) ? { ...flow, nodes: layout(flow.nodes, flow.edges) } : flow;
}

const graphJson = (nodes, edges, settings) => JSON.stringify(fromFlow(nodes, edges, settings));

function initialState(boot) {
  const saved = laidOut(boot.version?.graph);
  const savedJson = graphJson(saved.nodes, saved.edges, saved.settings);
  const base = boot.version?.number ?? 0;
  const draft = boot.canWrite ? draftLoad(boot.flow.id) : null;
  if (draft && JSON.stringify(draft.graph) !== savedJson) {
    return { ...laidOut(draft.graph), savedJson, base: draft.based_on ?? base,
             notice: { at: draft.at, basedOn: draft.based_on } };
  }
  return { ...saved, savedJson, base, notice: null };
}

function EditorInner({ boot }) {
  const flowId = boot.flow.id;
  const readOnly = !boot.canWrite;
  const rf = useReactFlow();
  const wrapper = useRef(null);
  // A blank flow is not fitted when its first nodes appear: the view would jump under the
  // pointer while the user places the next one.
  const [init] = useState(() => initialState(boot));
  const [nodes, setNodes] = useState(init.nodes);
  const [edges, setEdges] = useState(init.edges);
  const [flowSettings, setFlowSettings] = useState(init.settings);
  const [savedJson, setSavedJson] = useState(init.savedJson);
  const [base, setBase] = useState(init.base);
  const [live, setLive] = useState(boot.flow.live_version);
  const [notice, setNotice] = useState(init.notice);
  const [kinds, setKinds] = useState(null);
  const [kindsProblem, setKindsProblem] = useState(null);
  const [problems, setProblems] = useState({ byNode: {}, general: [], detail: null });
  const [banner, setBanner] = useState(null);
  const [toast, setToast] = useState(null);
  const [busy, setBusy] = useState(null);
  const [dialog, setDialog] = useState(null);
  const [tab, setTab] = useState("node");
  const [run, setRun] = useState(null);
  const [revision, setRevision] = useState(0);
  const [secrets, setSecrets] = useState([]);
  // null until the workspace's connections have loaded: a picker says so rather than "not found".
  const [connections, setConnections] = useState(null);
  const [flows, setFlows] = useState(null);  // the workspace's flows: flow.call, the error flow
  const [images, setImages] = useState(null);  // the workspace's container images, by name
  const [focusTest, setFocusTest] = useState(0);
  const stopWatching = useRef(null);
  const liveRuns = useFlowRuns(flowId);
  const replay = useReplay(flowId);
  const tests = useVersionTests(flowId, base, revision);

  const state = useRef({ nodes, edges });
  state.current = { nodes, edges };
  const getState = useCallback(() => state.current, []);
  const restore = useCallback(({ nodes: n, edges: e }) => { setNodes(n); setEdges(e); }, []);
  const history = useHistory(getState, restore);

  const currentJson = useMemo(() => graphJson(nodes, edges, flowSettings), [nodes, edges, flowSettings]);
  const dirty = currentJson !== savedJson;
  const selected = useMemo(() => nodes.filter((node) => node.selected), [nodes]);
  const single = selected.length === 1 ? selected[0] : null;
  const triggers = useMemo(() => nodes.filter((node) => node.data.kind.startsWith("trigger.")), [nodes]);
  const test = useTestPayload(flowId, triggers, { timeZone: boot.timeZone });
  const listener = useWebhookListener(flowId, (payload, nodeId, capturedAt) => {
    test.capture(payload, nodeId, capturedAt);
    setTab("test");
  });
  // Only the toolbar's Test moves the focus into the test input, not coming back to the tab.
  useEffect(() => { if (tab !== "test") setFocusTest(0); }, [tab]);
  // Selecting a node (by mouse, or Enter on a focused node) shows it in the panel.
  useEffect(() => { if (single) setTab("node"); }, [single?.id]); // eslint-disable-line react-hooks/exhaustive-deps

  useEffect(() => {
    api.get("/api/step-types/").then((result) => {
      if (result.ok) setKinds(Object.fromEntries(result.data.map((kind) => [kind.type, kind])));
      else setKindsProblem(problemText(result));
    });
    // Names and kinds only: every member may pick a connection, only admins see its settings.
    api.get(`/api/connections/?workspace=${boot.flow.workspace}`).then((result) => {
      setConnections(result.ok ? result.data.map(({ name, kind }) => ({ name, kind })) : []);
    });
    loadFlows(boot.flow.workspace).then(setFlows);
    api.get(`/api/images/?workspace=${boot.flow.workspace}`).then((result) => {
      setImages(result.ok ? result.data.filter((image) => image.current) : []);
    });
    if (boot.isAdmin) {
      api.get("/api/secrets/").then((result) => {
        if (result.ok) setSecrets([...new Set(result.data.map((secret) => secret.name))]);
      });
    }
    return () => stopWatching.current?.();
  }, [boot.isAdmin, boot.flow.workspace]);

  // Unsaved work goes to localStorage (debounced, and at once when the page goes away);
  // leaving with unsaved work asks first.
  useEffect(() => {
    if (readOnly) return undefined;
    const write = () => (dirty ? draftStore(flowId, JSON.parse(currentJson), base) : draftClear(flowId));
    const timer = window.setTimeout(write, 250);
    const beforeUnload = (event) => {
      write();
      if (dirty) { event.preventDefault(); event.returnValue = ""; }
    };
    window.addEventListener("beforeunload", beforeUnload);
    window.addEventListener("pagehide", write);
    return () => {
      window.clearTimeout(timer);
      window.removeEventListener("beforeunload", beforeUnload);
      window.removeEventListener("pagehide", write);
    };
  }, [currentJson, dirty, base, flowId, readOnly]);

  const toastTimer = useRef(null);
  const say = useCallback((message) => {
    setToast(message);
    window.clearTimeout(toastTimer.current);
    toastTimer.current = window.setTimeout(() => setToast(null), 4000);
  }, []);

  // --- Editing ------------------------------------------------------------------------
  const onNodesChange = useCallback((changes) => setNodes((current) => applyNodeChanges(changes, current)), []);
  const onEdgesChange = useCallback((changes) => setEdges((current) => applyEdgeChanges(changes, current)), []);
  const onBeforeDelete = useCallback(async () => { history.snapshot(); return true; }, [history]);

  const connect = useCallback((params) => {
    const { edges: current } = state.current;
    const sourceHandle = params.sourceHandle || null;
    if (current.some((e) => e.source === params.source && e.target === params.target
      && (e.sourceHandle || null) === sourceHandle)) return;
    history.snapshot();
    const next = addEdge(toFlowEdge({ source: params.source, target: params.target, sourceHandle }), current);
    setEdges(next);
    setNodes((ns) => withTriggerStarters(ns, next, kinds || {}));
  }, [history, kinds]);

  const isValidConnection = useCallback((connection) => {
    const { nodes: ns, edges: es } = state.current;
    return ns.some((n) => n.id === connection.target) && !connectionRefusal(connection, ns, es);
  }, []);
  const { onConnectEnd, refusal } = useConnectRefusal(state, wrapper);

  const editTimer = useRef({ id: null, at: 0 });
  const updateNodeData = useCallback((nodeId, change) => {
    const now = Date.now();
    if (editTimer.current.id !== nodeId || now - editTimer.current.at > 1000) history.snapshot();
    editTimer.current = { id: nodeId, at: now };
    setNodes((current) => current.map((node) => (node.id === nodeId ? { ...node, data: change(node.data) } : node)));
    setProblems((p) => (p.byNode[nodeId] ? { ...p, byNode: { ...p.byNode, [nodeId]: undefined } } : p));
  }, [history]);

  const renameSelected = useCallback((oldId, newId) => {
    const { nodes: ns, edges: es } = state.current;
    if (ns.some((node) => node.id === newId)) return `Another node already has the id ${newId}.`;
    history.snapshot();
    const renamed = renameNode(ns, es, oldId, newId, kinds || {});
    setNodes(renamed.nodes);
    setEdges(renamed.edges);
    return null;
  }, [history, kinds]);

  const { addFromPalette, dropFromPalette } = useAddNode({
    state, setNodes, setEdges, history, kinds, rf, wrapper, say, onAdded: () => setTab("node"),
  });

  const deleteSelection = useCallback(() => {
    const { nodes: ns, edges: es } = state.current;
    rf.deleteElements({ nodes: ns.filter((n) => n.selected), edges: es.filter((e) => e.selected) });
  }, [rf]);

  // A step dragged onto a For each joins its body; dragged out, it leaves it.
  const onNodeDragStop = useCallback((event, node, dragged) => {
    const { nodes: ns, edges: es } = state.current;
    const result = regroup(rf, ns, es, (dragged?.length ? dragged : [node]).map((n) => n.id));
    if (!result) return;
    setNodes(result.nodes);
    setEdges(result.edges);
    say(result.message);
  }, [rf, say]);

  const autoLayout = useCallback(() => {
    history.snapshot();
    setNodes((ns) => layout(ns, state.current.edges));
    window.requestAnimationFrame(() => rf.fitView(FIT));
  }, [history, rf]);

  const selectNode = useCallback((nodeId) => {
    setNodes((ns) => ns.map((n) => ({ ...n, selected: n.id === nodeId })));
    setTab("node");
    const node = state.current.nodes.find((n) => n.id === nodeId);
    if (node) rf.setCenter(node.position.x + NODE_WIDTH / 2, node.position.y + NODE_HEIGHT / 2, { zoom: rf.getZoom(), duration: 200 });
  }, [rf]);

  const clipboard = useClipboard({ state, setNodes, setEdges, history, say });
  useEditorKeys({ readOnly, dialogOpen: Boolean(dialog), history, clipboard,
                  onSave: () => !readOnly && (dirty || !base) && setDialog({ type: "save" }) });

  // --- Server round trips ----------------------------------------------------------------
  const loadGraph = useCallback((graph, number) => {
    const flow = laidOut(graph);
    setNodes(flow.nodes);
    setEdges(flow.edges);
    setFlowSettings(flow.settings);
    setSavedJson(graphJson(flow.nodes, flow.edges, flow.settings));
    setBase(number);
    setProblems({ byNode: {}, general: [], detail: null });
    history.reset();
    draftClear(flowId);
    window.requestAnimationFrame(() => rf.fitView(FIT));
  }, [flowId, history, rf]);

  const showProblems = useCallback((data) => {
    const byNode = {};
    const general = [];
    const ids = new Set(state.current.nodes.map((n) => n.id));
    const flow = [];  // the flow settings' problems, also shown in the Flow tab beside their inputs
    (data?.errors || []).forEach((error) => {
      if (error.node && ids.has(error.node)) (byNode[error.node] ??= []).push(error);
      else if (!error.node && error.field?.startsWith("settings")) {
        flow.push(error);
        general.push(`Flow settings, ${error.field}: ${error.message}`);
      } else general.push(error.node ? `${error.node}: ${error.message}` : error.message);
    });
    setProblems({ byNode, general, flow, detail: data?.detail || "The flow could not be saved." });
    const first = Object.keys(byNode)[0];
    if (first && !general.length) selectNode(first);
    else if (flow.length && !first) setTab("flow");
  }, [selectNode]);

  const save = useCallback(async (message, { force = false } = {}) => {
    setDialog(null);
    setBusy("saving");
    const graph = JSON.parse(currentJson);
    const result = await api.post(`/api/flows/${flowId}/versions/`, { graph, message, based_on: base, force });
    setBusy(null);
    if (result.status === 201) {
      setBase(result.data.number);
      setSavedJson(currentJson);
      setProblems({ byNode: {}, general: [], detail: null });
      setNotice(null);
      setBanner(null);
      draftClear(flowId);
      setRevision((r) => r + 1);
      say(`Saved version ${result.data.number}.`);
      return result.data.number;
    }
    if (result.status === 409 && result.data?.latest_version) {
      setDialog({ type: "conflict", latest: result.data.latest_version, message });
    } else if (result.status === 400 && result.data?.errors) {
      showProblems(result.data);
    } else {
      setBanner(problemText(result));
    }
    return null;
  }, [base, currentJson, flowId, say, showProblems]);

  const loadTheirs = useCallback(async (number) => {
    setDialog(null);
    setBusy("loading");
    const result = await api.get(`/api/flows/${flowId}/versions/${number}/`);
    setBusy(null);
    if (!result.ok) { setBanner(problemText(result)); return; }
    loadGraph(result.data.graph, result.data.number);
    setNotice(null);
    say(`Loaded version ${result.data.number}; your changes were discarded.`);
  }, [flowId, loadGraph, say]);

  // override: an admin's reason to publish although the version's tests do not pass.
  const publish = useCallback(async (number, override) => {
    setDialog(null);
    setBusy("publishing");
    const result = await api.post(`/api/flows/${flowId}/publish/`,
      override ? { version: number, override_tests: override } : { version: number });
    setBusy(null);
    if (result.ok) {
      listener.stop();  // the server has stopped it: from now on requests start runs
      setLive(number);
      // The canvas no longer shows an old test run: the next live run is announced.
      stopWatching.current?.();
      setRun(null);
      setRevision((r) => r + 1);
      say(`Version ${number} is live.`);
    } else if (result.status === 409 && result.data?.tests) {
      setDialog({ type: "tests", number, detail: result.data.detail, tests: result.data.tests });
      setRevision((r) => r + 1);  // a version never tested has just been started: follow it
    } else if (result.data?.errors?.some((e) => e.node)) {
      showProblems(result.data);
    } else {
      setBanner(problemText(result));
    }
  }, [flowId, say, showProblems, listener]);

  const watch = useCallback((runId) => {
    stopWatching.current?.();
    setBusy("running");
    setTab((t) => (t === "runs" ? t : "test"));
    stopWatching.current = watchRun(runId, {
      onUpdate: setRun,
      onDone: (done) => { setBusy(null); say(`Run #${done.id} ${done.status}.`); setRevision((r) => r + 1); },
      onError: (message) => { setBusy(null); setBanner(message); },
    });
  }, [say]);

  const startTest = useCallback(async (number) => {
    setDialog(null);
    const input = test.parsed();
    if (input === undefined) return;
    listener.stop();  // the input is chosen: a request arriving now must not be kept instead
    setBusy("running");
    setRun(null);
    const result = await api.post(`/api/flows/${flowId}/runs/`,
      { version: number, input, test: true, trigger: test.trigger || undefined });
    if (!result.ok) { setBusy(null); setBanner(problemText(result)); return; }
    setRun(result.data);
    watch(result.data.id);
  }, [flowId, test, watch, listener]);

  // The toolbar's Test opens the test input; only the panel's Run button runs. A webhook
  // of a saved, unpublished flow also starts listening: its URL serves no live runs yet, so
  // a request sent to it now can only be meant as the test's input.
  const openTest = useCallback(() => {
    setTab("test");
    setFocusTest((n) => n + 1);
    if (test.kind === "trigger.webhook" && base > 0 && !dirty && !live && !test.edited
        && listener.state?.nodeId !== test.trigger) listener.start(test.trigger);
  }, [test, base, dirty, live, listener]);

  // number: the saved version to test; null saves the changes first (as the button says).
  const runTest = useCallback(async (number) => {
    const version = number ?? await save("");
    if (version) startTest(version);
  }, [save, startTest]);

  const requestPublish = useCallback(() => {
    if (dirty || !base) setDialog({ type: "unsaved", then: "publish" });
    else setDialog({ type: "publish", number: base });
  }, [base, dirty]);

  const afterUnsaved = useCallback(async () => {
    const number = await save("");
    if (number) setDialog({ type: "publish", number });
  }, [save]);

  const discardDraft = useCallback(() => {
    if (!window.confirm("Discard your unsaved changes and go back to the saved version?")) return;
    // Back to the version this page was loaded with (the latest one at that time).
    loadGraph(boot.version?.graph, boot.version?.number ?? 0);
    setNotice(null);
  }, [boot.version, loadGraph]);

  // --- What the canvas shows ----------------------------------------------------------
  const steps = useMemo(() => Object.fromEntries((run?.steps || []).map((s) => [s.node_id, s])), [run]);
  const marks = useMemo(() => replayMarks(replay.report), [replay.report]);
  const displayNodes = useMemo(() => nodes.map((node) => ({
    ...node,
    data: { ...node.data, label: kinds?.[node.data.kind]?.label, handles: kinds?.[node.data.kind]?.handles, readOnly,
            status: steps[node.id]?.status, progress: steps[node.id]?.progress, retry: retryOf(steps[node.id]),
            problems: problems.byNode[node.id], handled: isHandled(steps[node.id]), replayDiffer: marks[node.id],
            error: steps[node.id]?.status === "failed" ? steps[node.id].error : undefined },
  })), [nodes, kinds, steps, problems, readOnly, marks]);

  // While a run is shown, the edges into running steps move.
  const displayEdges = useMemo(() => (run ? edges.map((edge) => (
    ["queued", "running", "waiting"].includes(steps[edge.target]?.status) ? { ...edge, animated: true } : edge))
    : edges), [edges, run, steps]);

  const { completions, assist } = useAssist({ flowId, readOnly, single, nodes, edges, kinds, steps, test, state, connect });
  const panelContext = useMemo(() => {
    if (!single) return null;
    return {
      readOnly, secrets, connections, flows, images, flowId,
      nodeIds: nodes.map((n) => n.id).filter((id) => id !== single.id), completions, assist,
    };
  }, [single, nodes, readOnly, secrets, connections, flows, images, flowId, completions, assist]);

  if (kindsProblem) return <p className="error">The step catalog could not be loaded: {kindsProblem}</p>;

  return (
    <div className="tb-designer" data-dirty={dirty || undefined} data-busy={busy || undefined}>
      <Toolbar flow={boot.flow} urls={boot.urls} base={base} live={live} dirty={dirty} busy={busy} readOnly={readOnly}
        history={history} selectedCount={selected.length} hasRun={Boolean(run)}
        onSave={() => setDialog({ type: "save" })} onPublish={requestPublish} onTest={openTest}
        onLayout={autoLayout} onFit={() => rf.fitView(FIT)} onDelete={deleteSelection}
        onClearRun={() => { stopWatching.current?.(); setRun(null); setBusy(null); }}
        testsStatus={<TestsStatus tests={tests} runUrl={boot.urls.run} canWrite={!readOnly} />} />
      <Messages notice={notice} onDiscard={discardDraft} onKeep={() => setNotice(null)} banner={banner}
        problems={problems} onDismiss={() => { setBanner(null); setProblems({ ...problems, detail: null, general: [] }); }} />
      <div className="tb-body">
        {!readOnly && kinds && <Palette kinds={Object.values(kinds)} onAdd={addFromPalette} onDrop={dropFromPalette} />}
        <div className="tb-canvas" ref={wrapper} aria-label="Flow canvas">
          {kinds ? (
            <ReactFlow nodes={displayNodes} edges={displayEdges} nodeTypes={nodeTypes}
              onNodesChange={onNodesChange} onEdgesChange={onEdgesChange} onConnect={connect}
              isValidConnection={isValidConnection} onConnectEnd={onConnectEnd} onBeforeDelete={onBeforeDelete}
              onNodeDragStart={() => history.snapshot()} onNodeDragStop={onNodeDragStop}
              nodesDraggable={!readOnly} nodesConnectable={!readOnly} elementsSelectable
              deleteKeyCode={readOnly ? null : ["Delete", "Backspace"]}
              fitView={init.nodes.length > 0} fitViewOptions={FIT} minZoom={0.1} onlyRenderVisibleElements={nodes.length > 150}
              proOptions={{ hideAttribution: true }}>
              <Background />
              <Controls showInteractive={false} fitViewOptions={FIT} />
              <MiniMap pannable zoomable nodeColor={minimapColor} nodeStrokeWidth={3} ariaLabel="Mini map" />
            </ReactFlow>
          ) : <p className="muted tb-loading">Loading the step catalog…</p>}
          {refusal}
          {kinds && !readOnly && nodes.length === 0 && <EmptyCanvas kinds={Object.values(kinds)} onChoose={addFromPalette} />}
        </div>
        <SidePanel tab={tab} setTab={setTab} single={single} selected={selected} kinds={kinds} boot={boot}
          problems={problems} panelContext={panelContext} steps={steps} nodes={nodes} edges={edges}
          readOnly={readOnly} revision={revision} runsTick={liveRuns.tick} base={base} dirty={dirty} test={test}
          triggers={triggers} listener={listener} focusTest={focusTest}
          run={run} busy={busy} onNodeChange={updateNodeData} onRename={renameSelected} onDelete={deleteSelection}
          onConnect={connect} onDisconnect={(id) => { history.snapshot(); setEdges((es) => es.filter((e) => e.id !== id)); }}
          onRun={runTest} onSelectNode={selectNode} onShowRun={watch}
          flowSettings={flowSettings} onFlowSettings={setFlowSettings} flows={flows}
          live={live} replay={replay} onSaveFirst={() => save("")} />
      </div>
      {busy && (
        <div className="tb-progress" role="status" aria-live="polite">
          <span className="tb-spinner" aria-hidden="true" />
          {{ saving: "Saving…", publishing: "Publishing…", running: "Running the test…", loading: "Loading…" }[busy]}
        </div>
      )}
      {toast && <div className="tb-toast" role="status">{toast}</div>}
      <RunNotices notices={liveRuns.notices.filter((notice) => notice.id !== run?.id)}
        onShow={(runId) => { liveRuns.dismiss(runId); watch(runId); }} onDismiss={liveRuns.dismiss} />
      {dialog?.type === "save" && <SaveDialog base={base} onSave={(message) => save(message)} onCancel={() => setDialog(null)} />}
      {dialog?.type === "conflict" && (
        <ConflictDialog latest={dialog.latest} onForce={() => save(dialog.message, { force: true })}
          onLoad={() => window.confirm(`Discard your changes and load version ${dialog.latest.number}?`) && loadTheirs(dialog.latest.number)}
          onCancel={() => setDialog(null)} />
      )}
      {dialog?.type === "publish" && (
        <PublishDialog number={dialog.number} live={live} onPublish={() => publish(dialog.number)} onCancel={() => setDialog(null)} />
      )}
      {dialog?.type === "tests" && (
        <TestsRefusedDialog number={dialog.number} detail={dialog.detail} tests={dialog.tests} isAdmin={boot.isAdmin}
          runUrl={boot.urls.run} onOverride={(reason) => publish(dialog.number, reason)} onCancel={() => setDialog(null)} />
      )}
      {dialog?.type === "unsaved" && (
        <UnsavedDialog then={dialog.then} base={base} dirty={dirty} onSave={afterUnsaved}
          onUseSaved={!base ? null : () => setDialog({ type: "publish", number: base })}
          onCancel={() => setDialog(null)} />
      )}
    </div>
  );
}
