// The designer's right-hand side: the selected node, the test run and the recent runs, as tabs.
import { NodePanel } from "./NodePanel.jsx";
import { Connections } from "./Connections.jsx";
import { TestPanel } from "./TestPanel.jsx";
import { RunsPanel } from "./RunsPanel.jsx";
import { FlowSettings } from "./FlowSettings.jsx";
import { ReplayPanel } from "./ReplayPanel.jsx";

const TABS = [["node", "Node"], ["test", "Test run"], ["replay", "Replay"], ["runs", "Runs"], ["flow", "Flow"]];

export function SidePanel({ tab, setTab, single, selected, kinds, boot, problems, panelContext, steps, nodes,
  edges, readOnly, revision, runsTick, base, dirty, test, listener, focusTest, triggers, run, busy, onNodeChange,
  onRename, onDelete, onConnect, onDisconnect, onRun, onSelectNode, onShowRun, flowSettings, onFlowSettings, flows,
  live, replay, onSaveFirst }) {
  const flowId = boot.flow.id;
  return (
    <aside className="tb-side" aria-label="Details">
      <div role="tablist" className="tb-tabs">
        {TABS.map(([key, label]) => (
          <button key={key} type="button" role="tab" aria-selected={tab === key} id={`tab-${key}`}
            aria-controls="tb-tabpanel" onClick={() => setTab(key)}>{label}</button>
        ))}
      </div>
      <div id="tb-tabpanel" role="tabpanel" aria-labelledby={`tab-${tab}`} className="tb-tabpanel">
        {tab === "node" && single && kinds && panelContext && (
          <NodePanel key={single.id} node={single} kind={kinds[single.data.kind]} settingsSchema={boot.settingsSchema}
            problems={problems.byNode[single.id]} context={panelContext} step={steps[single.id]}
            onChange={(change) => onNodeChange(single.id, change)}
            onRename={(newId) => onRename(single.id, newId)} onDelete={onDelete}
            webhook={{ flowId, revision, canWrite: !readOnly, saved: base > 0 && !dirty, listener }}
            connections={<Connections node={single} nodes={nodes} edges={edges} kinds={kinds}
              handles={kinds[single.data.kind]?.handles || []} readOnly={readOnly}
              onConnect={onConnect} onDisconnect={onDisconnect} />} />
        )}
        {tab === "node" && !single && (
          <div className="muted tb-empty-panel">
            {selected.length > 1 ? (
              <>
                <p>{selected.length} nodes selected.</p>
                {!readOnly && <button type="button" className="tb-danger" onClick={onDelete}>Delete {selected.length} nodes</button>}
              </>
            ) : (
              <p>Select a node to edit it{readOnly ? "" : ", or add one from the left: drag it onto the canvas, or press it to add it after the selected node"}.</p>
            )}
          </div>
        )}
        {tab === "test" && (
          <TestPanel triggers={triggers} test={test} listener={listener} onRun={onRun} run={run} busy={busy}
            canWrite={!readOnly} saved={base > 0 && !dirty} base={base} focus={focusTest}
            onSelectNode={onSelectNode} runUrl={boot.urls.run} />
        )}
        {tab === "replay" && (
          <ReplayPanel flowId={flowId} base={base} dirty={dirty} live={live} nodes={nodes} replay={replay}
            canWrite={!readOnly} runUrl={boot.urls.run} onSaveFirst={onSaveFirst} />
        )}
        {tab === "runs" && <RunsPanel flowId={flowId} revision={revision} live={runsTick} shownId={run?.id} onShow={onShowRun}
          runsUrl={boot.urls.runs} />}
        {tab === "flow" && <FlowSettings settings={flowSettings} problems={problems.flow} readOnly={readOnly}
          onChange={onFlowSettings} flows={flows} flowId={flowId} queues={boot.queues} />}
      </div>
    </aside>
  );
}
