// The flow tests of the version being edited: "Tests: 3 of 3 passed", read again every
// second while they run (they start on every save), with the failing cases on demand.
import { useCallback, useEffect, useState } from "react";
import { api, problemText } from "./api.js";

const POLL_MS = 1000;

export function useVersionTests(flowId, number, revision) {
  const [verdict, setVerdict] = useState(null);
  const [reload, setReload] = useState(0);
  useEffect(() => {
    if (!number) { setVerdict(null); return undefined; }
    let stopped = false;
    let timer = null;
    const read = async () => {
      const result = await api.get(`/api/flows/${flowId}/versions/${number}/tests/`);
      if (stopped) return;
      if (result.ok) setVerdict({ ...result.data, number });
      if (!result.ok || result.data.state === "running") timer = window.setTimeout(read, POLL_MS);
    };
    read();
    return () => { stopped = true; window.clearTimeout(timer); };
  }, [flowId, number, revision, reload]);
  const runNow = useCallback(async () => {
    const result = await api.post(`/api/flows/${flowId}/versions/${number}/tests/`);
    if (!result.ok) return problemText(result);
    setReload((n) => n + 1);
    return null;
  }, [flowId, number]);
  return { verdict, runNow, refresh: () => setReload((n) => n + 1) };
}

export function testsText(verdict) {
  if (!verdict || verdict.state === "none") return "";
  if (verdict.state === "passed") return `Tests: ${verdict.passed} of ${verdict.total} passed`;
  if (verdict.state === "failed") return `Tests: ${verdict.failed} failing`;
  if (verdict.state === "running") return `Tests: running, ${verdict.done} of ${verdict.total} done`;
  return `Tests: not run on v${verdict.number}`;
}

export function TestsStatus({ tests, runUrl, canWrite }) {
  const [open, setOpen] = useState(false);
  const [problem, setProblem] = useState(null);
  const { verdict } = tests;
  if (!verdict || verdict.state === "none") return null;
  return (
    <div className="tb-tests" data-state={verdict.state}>
      <button type="button" className={`tb-tests-button tb-tests-${verdict.state}`} aria-expanded={open}
        aria-controls="tb-tests-cases" data-testid="tests-status" onClick={() => setOpen((o) => !o)}>
        {testsText(verdict)}
      </button>
      {open && (
        <div id="tb-tests-cases" className="tb-tests-popover" role="region" aria-label={`Flow tests of v${verdict.number}`}>
          <TestCases cases={verdict.cases} runUrl={runUrl} />
          {canWrite && verdict.state !== "running" && (
            <button type="button" className="tb-small" onClick={async () => setProblem(await tests.runNow())}>
              Run the tests again
            </button>
          )}
          {problem && <p className="tb-field-error" role="alert">{problem}</p>}
        </div>
      )}
    </div>
  );
}

// Each case, its state, and for a failed one what it expected and got, node by node.
export function TestCases({ cases, runUrl, only }) {
  const shown = only ? cases.filter((c) => c.state === only) : cases;
  return (
    <ul className="tb-test-cases">
      {shown.map((c) => (
        <li key={c.test} data-test-case={c.name} data-state={c.state}>
          <strong>{c.name}</strong>{" "}<span className={`tb-pill tb-pill-${c.state === "passed" ? "succeeded" : c.state}`}>{c.state}</span>
          {c.run && <> · <a href={runUrl.replace("{id}", c.run)} target="_blank" rel="noreferrer">run #{c.run}</a></>}
          {c.failures?.length > 0 && (
            <ul className="tb-test-failures">
              {c.failures.map((failure, index) => (
                <li key={index}><code>{failure.node}</code> ({failure.check}): {failure.message}</li>
              ))}
            </ul>
          )}
        </li>
      ))}
    </ul>
  );
}
