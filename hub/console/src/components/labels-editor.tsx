import { useEffect, useState } from 'preact/hooks'

export interface LabelsEditorProps {
  readonly labels: Readonly<Record<string, string>>
  /** Sends only what changed: new or changed values, and null for a removed key. */
  readonly onSave: (changes: Record<string, string | null>) => Promise<void>
}

interface Row {
  readonly key: string
  readonly value: string
}

/** The diff between two label sets, as PATCH /api/v1/nodes/:id takes it. Pure. */
export function labelChanges(before: Readonly<Record<string, string>>, rows: readonly Row[]): Record<string, string | null> {
  const after = new Map(rows.filter((r) => r.key.trim() !== '').map((r) => [r.key.trim(), r.value.trim()]))
  const changes: Record<string, string | null> = {}
  for (const key of Object.keys(before)) if (!after.has(key)) changes[key] = null
  for (const [key, value] of after) if (before[key] !== value) changes[key] = value
  return changes
}

/**
 * Labels as editable key/value rows. The hub validates keys and values (and says what is
 * wrong); the scheduler reacts to a saved change at once, so a selector that stops matching
 * moves or stops workloads.
 */
export function LabelsEditor(props: LabelsEditorProps) {
  const fromLabels = (): Row[] => Object.entries(props.labels).map(([key, value]) => ({ key, value }))
  const [rows, setRows] = useState<Row[]>(fromLabels)
  const [editing, setEditing] = useState(false)
  const [saving, setSaving] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const labelsKey = JSON.stringify(props.labels)

  // Live updates replace the rows, except while the operator is editing them.
  useEffect(() => {
    if (!editing) setRows(fromLabels())
  }, [labelsKey, editing])

  const changes = labelChanges(props.labels, rows)
  const dirty = Object.keys(changes).length > 0

  const save = async (): Promise<void> => {
    setSaving(true)
    setError(null)
    try {
      await props.onSave(changes)
      setEditing(false)
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e))
    } finally {
      setSaving(false)
    }
  }

  if (!editing) {
    return (
      <div class="labels">
        <ul class="chips" aria-label="labels">
          {rows.length === 0 ? <li class="muted">no labels</li> : null}
          {rows.map((r) => (
            <li key={r.key} class="chip">
              <span class="chip-key">{r.key}</span>=<span class="chip-value">{r.value}</span>
            </li>
          ))}
        </ul>
        <button type="button" onClick={() => setEditing(true)}>
          Edit labels
        </button>
      </div>
    )
  }
  const update = (i: number, patch: Partial<Row>): void => setRows((current) => current.map((r, j) => (j === i ? { ...r, ...patch } : r)))
  return (
    <form
      class="labels-form"
      onSubmit={(event) => {
        event.preventDefault()
        void save()
      }}
    >
      {rows.map((r, i) => (
        <div class="label-row" key={i}>
          <input
            aria-label={`label key ${i + 1}`}
            placeholder="key"
            value={r.key}
            onInput={(e) => update(i, { key: (e.currentTarget as HTMLInputElement).value })}
          />
          <span>=</span>
          <input
            aria-label={`label value ${i + 1}`}
            placeholder="value"
            value={r.value}
            onInput={(e) => update(i, { value: (e.currentTarget as HTMLInputElement).value })}
          />
          <button
            type="button"
            class="icon"
            aria-label={`remove label ${r.key || i + 1}`}
            onClick={() => setRows((current) => current.filter((_, j) => j !== i))}
          >
            ×
          </button>
        </div>
      ))}
      <div class="toolbar">
        <button type="button" onClick={() => setRows((current) => [...current, { key: '', value: '' }])}>
          Add label
        </button>
        <button type="submit" class="primary" disabled={!dirty || saving}>
          {saving ? 'Saving…' : 'Save labels'}
        </button>
        <button
          type="button"
          onClick={() => {
            setEditing(false)
            setError(null)
          }}
        >
          Cancel
        </button>
      </div>
      {error ? (
        <p class="error-note" role="alert">
          {error}
        </p>
      ) : null}
    </form>
  )
}
