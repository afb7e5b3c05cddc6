import { useState } from 'preact/hooks'
import type { BulkNodeAction, BulkNodeRequest, BulkNodeResult, CopyMove } from '../api/types'
import { bulkRequest, movingDeployments } from '../bulk-input'
import { useLive } from '../live'
import { ErrorNote } from './bits'

interface ActionChoice {
  readonly value: BulkNodeAction
  readonly label: string
  readonly verb: string
}

const LABEL_ACTION: ActionChoice = { value: 'label', label: 'Set labels', verb: 'Label' }
const ACTIONS: readonly ActionChoice[] = [
  LABEL_ACTION,
  { value: 'unlabel', label: 'Remove labels', verb: 'Unlabel' },
  { value: 'cordon', label: 'Cordon', verb: 'Cordon' },
  { value: 'uncordon', label: 'Uncordon', verb: 'Uncordon' },
  { value: 'drain', label: 'Drain', verb: 'Drain' },
]

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`

function moveText(move: CopyMove): string {
  const copy = `${move.deployment} (replica ${move.replica})`
  if (move.from === null) return `${copy} starts on ${move.to}`
  if (move.to === null) return `${copy} leaves ${move.from}; no other node can take it now, so it waits`
  return `${copy}: ${move.from} → ${move.to}`
}

/** What a dry run or a done action says: the moves, and what happened to each node. */
function Outcome(props: { result: BulkNodeResult }) {
  const { result } = props
  return (
    <>
      {result.moves.length > 0 ? (
        <ul aria-label={result.dryRun ? 'copies that would move' : 'copies that moved'}>
          {result.moves.map((m) => (
            <li key={`${m.deployment}/${m.replica}/${m.from}/${m.to}`} data-deployment={m.deployment}>
              {moveText(m)}
            </li>
          ))}
        </ul>
      ) : (
        <p class="muted">{result.dryRun ? 'No copy would move.' : 'No copy moved.'}</p>
      )}
      {result.kept.length > 0 ? (
        <p class="muted small">
          {result.dryRun ? 'Would stay' : 'Stayed'} (every-node): {[...new Set(result.kept.map((k) => k.deployment))].join(', ')}
        </p>
      ) : null}
      <ul aria-label={result.dryRun ? 'what each node would do' : 'result per node'}>
        {result.nodes.map((n) => (
          <li key={n.id} data-node-id={n.id} data-outcome={n.outcome}>
            <strong>{n.id}</strong>: <span class={n.outcome === 'not-found' ? 'bad-text' : n.outcome === 'unchanged' ? 'muted' : ''}>{n.message}</span>
          </li>
        ))}
      </ul>
    </>
  )
}

/**
 * The nodes page's bulk action bar: an action on the selected nodes, first as a dry run from the
 * hub (how many nodes, which deployments would move and where), then, once confirmed, for real,
 * with the result for each node.
 */
export function BulkActions(props: { selected: readonly string[]; shown: number; onSelectShown: () => void; onClear: () => void }) {
  const { client } = useLive()
  const [action, setAction] = useState<BulkNodeAction>('label')
  const [text, setText] = useState('')
  const [review, setReview] = useState<{ request: BulkNodeRequest; result: BulkNodeResult } | null>(null)
  const [done, setDone] = useState<BulkNodeResult | null>(null)
  const [problem, setProblem] = useState<Error | null>(null)
  const [busy, setBusy] = useState(false)
  const choice = ACTIONS.find((a) => a.value === action) ?? LABEL_ACTION
  const needsText = action === 'label' || action === 'unlabel'

  const run = async (work: () => Promise<void>): Promise<void> => {
    setBusy(true)
    setProblem(null)
    try {
      await work()
    } catch (error) {
      setProblem(error instanceof Error ? error : new Error(String(error)))
    } finally {
      setBusy(false)
    }
  }
  const startReview = (): Promise<void> =>
    run(async () => {
      setDone(null)
      const asked = bulkRequest(action, props.selected, text)
      if ('problem' in asked) throw new Error(asked.problem)
      setReview({ request: asked.request, result: await client.bulkNodes({ ...asked.request, dryRun: true }) })
    })
  const confirm = (): Promise<void> =>
    run(async () => {
      if (!review) return
      setDone(await client.bulkNodes(review.request))
      setReview(null)
    })

  const moving = review ? movingDeployments(review.result.moves) : []
  return (
    <>
      <div class="bulk-bar" role="group" aria-label="bulk actions">
        <span class="bulk-count" data-testid="selected-count">
          {plural(props.selected.length, 'node')} selected
        </span>
        <button type="button" onClick={props.onSelectShown} disabled={props.shown === 0}>
          Select all {props.shown} shown
        </button>
        <button type="button" onClick={props.onClear} disabled={props.selected.length === 0}>
          Clear
        </button>
        <label>
          Action
          <select
            aria-label="bulk action"
            value={action}
            onChange={(e) => {
              setAction((e.currentTarget as HTMLSelectElement).value as BulkNodeAction)
              setReview(null)
            }}
          >
            {ACTIONS.map((a) => (
              <option key={a.value} value={a.value}>
                {a.label}
              </option>
            ))}
          </select>
        </label>
        {needsText ? (
          <label>
            {action === 'label' ? 'Labels (key=value)' : 'Label keys'}
            <input
              aria-label={action === 'label' ? 'labels to set' : 'label keys to remove'}
              class="mono"
              value={text}
              placeholder={action === 'label' ? 'site=factory-7, tier=edge' : 'tier, site'}
              onInput={(e) => {
                setText((e.currentTarget as HTMLInputElement).value)
                setReview(null)
              }}
            />
          </label>
        ) : null}
        <button type="button" class="primary" disabled={busy || props.selected.length === 0} onClick={() => void startReview()}>
          Review {choice.verb.toLowerCase()}…
        </button>
      </div>
      <ErrorNote error={problem} prefix="bulk action" />
      {review ? (
        <section class="card bulk-review" aria-label="confirm bulk action" data-testid="bulk-review">
          <h2>
            {choice.verb} {plural(review.request.nodes.length, 'node')}?
          </h2>
          <p data-testid="bulk-moving">
            {moving.length === 0 ? 'No deployment would move.' : `Deployments that would move: ${moving.join(', ')}.`} Nothing has changed yet (a dry run from
            the hub).
          </p>
          <Outcome result={review.result} />
          <div class="card-actions">
            <button type="button" class={action === 'drain' ? 'danger' : 'primary'} disabled={busy} onClick={() => void confirm()}>
              {busy ? 'Working…' : `${choice.verb} ${plural(review.request.nodes.length, 'node')}`}
            </button>
            <button type="button" disabled={busy} onClick={() => setReview(null)}>
              Cancel
            </button>
          </div>
        </section>
      ) : null}
      {done ? (
        <section class="card bulk-review" aria-label="bulk action result" data-testid="bulk-result">
          <div class="card-head">
            <h2>
              {ACTIONS.find((a) => a.value === done.action)?.verb ?? done.action}: {plural(done.nodes.filter((n) => n.outcome === 'changed').length, 'node')}{' '}
              changed
            </h2>
            <button type="button" onClick={() => setDone(null)}>
              Dismiss
            </button>
          </div>
          <Outcome result={done} />
        </section>
      ) : null}
    </>
  )
}
