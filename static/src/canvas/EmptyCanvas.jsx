// A flow with no nodes yet: its first decision is how it starts, so the empty canvas lists
// the trigger kinds; choosing one adds it (then steps are added after it from the palette).
export function EmptyCanvas({ kinds, onChoose }) {
  const triggers = kinds.filter((kind) => kind.category === "trigger");
  return (
    <section className="tb-empty-canvas" aria-labelledby="tb-empty-title" data-testid="empty-canvas">
      <div className="tb-empty-card">
        <h2 id="tb-empty-title">Choose how this flow starts</h2>
        <p className="muted">A trigger starts every run and decides what it receives as event.trigger. Steps come after it.</p>
        <ul>
          {triggers.map((kind) => (
            <li key={kind.type}>
              <button type="button" className="tb-empty-choice" data-kind={kind.type} onClick={() => onChoose(kind)}>
                <strong>{kind.label}</strong>
                <span className="muted">{kind.description}</span>
              </button>
            </li>
          ))}
        </ul>
      </div>
    </section>
  );
}
