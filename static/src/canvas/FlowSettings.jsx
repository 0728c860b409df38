// Flow-level settings (the graph's "settings"): a concurrency limit, optionally per key.
// Saved with the next version, like every change to the graph.

// The settings object without what the user left empty ("no limit" stores nothing).
export function concurrencySettings(limitText, key) {
  const limit = Number(limitText);
  if (limitText === "" || !Number.isFinite(limit)) return {};
  const concurrency = { limit };
  if (key.trim()) concurrency.key = key;
  return { concurrency };
}

export function FlowSettings({ settings, problems, readOnly, onChange }) {
  const concurrency = settings?.concurrency || {};
  const limitText = concurrency.limit == null ? "" : String(concurrency.limit);
  const key = concurrency.key || "";
  const errors = problems || [];
  const set = (nextLimit, nextKey) => onChange(concurrencySettings(nextLimit, nextKey));
  return (
    <div className="tb-flow-settings">
      <h2>Flow settings</h2>
      <label htmlFor="flow-concurrency-limit">Concurrent runs at most</label>
      <input id="flow-concurrency-limit" type="number" min="1" max="1000" step="1" inputMode="numeric"
        placeholder="No limit" value={limitText} readOnly={readOnly}
        aria-describedby="flow-concurrency-help" onChange={(e) => set(e.target.value, key)} />
      <p className="muted" id="flow-concurrency-help">
        Runs beyond the limit wait, queued, and start in order as earlier runs end.
      </p>
      <label htmlFor="flow-concurrency-key">Per key (optional)</label>
      <input id="flow-concurrency-key" type="text" value={key} readOnly={readOnly || limitText === ""}
        placeholder="{{ event.trigger.body.customer_id }}" aria-describedby="flow-concurrency-key-help"
        onChange={(e) => set(limitText, e.target.value)} />
      <p className="muted" id="flow-concurrency-key-help">
        A template over the trigger's event: the limit then applies to each value separately
        (one run at a time per customer).
      </p>
      {errors.map((error) => (
        <div key={`${error.field}:${error.message}`} className="tb-field-error" role="alert">
          {error.field}: {error.message}
        </div>
      ))}
    </div>
  );
}
