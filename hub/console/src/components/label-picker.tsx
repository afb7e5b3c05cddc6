/**
 * Which labels the nodes table shows: every label by default (the node's own before its
 * profile's), or the keys ticked here, in the order ticked. The choice stays in this browser.
 */
export function LabelPicker(props: { keys: readonly string[]; chosen: readonly string[] | null; onChoose: (keys: string[] | null) => void }) {
  const chosen = props.chosen
  const toggle = (key: string, on: boolean): void => {
    const current = chosen ?? []
    const next = on ? [...current.filter((k) => k !== key), key] : current.filter((k) => k !== key)
    props.onChoose(next.length === 0 ? null : next)
  }
  return (
    <details class="label-picker">
      <summary data-testid="label-picker-summary">Labels shown: {chosen === null ? 'all' : chosen.join(', ')}</summary>
      <fieldset>
        <legend>Show these labels in the table</legend>
        {props.keys.map((key) => (
          <label class="check" key={key}>
            <input type="checkbox" checked={chosen?.includes(key) ?? false} onChange={(e) => toggle(key, (e.currentTarget as HTMLInputElement).checked)} />
            {key}
          </label>
        ))}
        <button type="button" class="link" disabled={chosen === null} onClick={() => props.onChoose(null)}>
          Show all (the node's own labels first)
        </button>
      </fieldset>
    </details>
  )
}
