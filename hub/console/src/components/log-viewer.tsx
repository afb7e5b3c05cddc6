import { useEffect, useRef, useState } from 'preact/hooks'
import { ApiError } from '../api/client'
import { readLogStream, type LogLine } from '../api/log-stream'
import { useLive } from '../live'
import { Empty } from './bits'

/** Lines kept on screen; older ones scroll away so a chatty workload cannot exhaust the tab. */
const MAX_LINES = 5000

type ViewerState =
  | { readonly kind: 'idle' }
  | { readonly kind: 'streaming' }
  | { readonly kind: 'ended'; readonly note: string | null }
  | { readonly kind: 'failed'; readonly message: string }

export interface LogTarget {
  readonly workload: string
  readonly deployment: string
}

/**
 * Live logs of one workload on one node, through the hub (which asks the agent over the
 * broker). Follows by default, stops when the page closes or the operator presses Stop, and
 * says plainly when the node is offline or the hub has no log endpoint.
 */
export function LogViewer(props: { nodeId: string; targets: readonly LogTarget[]; nodeOnline: boolean }) {
  const { client } = useLive()
  const [selected, setSelected] = useState(props.targets[0]?.workload ?? '')
  const [tail, setTail] = useState(200)
  const [follow, setFollow] = useState(true)
  const [lines, setLines] = useState<readonly LogLine[]>([])
  const [state, setState] = useState<ViewerState>({ kind: 'idle' })
  const controller = useRef<AbortController | null>(null)
  const output = useRef<HTMLPreElement>(null)
  const stick = useRef(true)

  useEffect(() => {
    if (!props.targets.some((t) => t.workload === selected)) setSelected(props.targets[0]?.workload ?? '')
  }, [props.targets, selected])
  useEffect(() => () => controller.current?.abort(), [])
  useEffect(() => {
    const element = output.current
    if (element && stick.current) element.scrollTop = element.scrollHeight
  }, [lines])

  const target = props.targets.find((t) => t.workload === selected)

  const start = async (): Promise<void> => {
    if (!target) return
    controller.current?.abort()
    const abort = new AbortController()
    controller.current = abort
    setLines([])
    stick.current = true
    setState({ kind: 'streaming' })
    try {
      const response = await client.logs({ deployment: target.deployment, node: props.nodeId, tail, follow }, abort.signal)
      await readLogStream(response, {
        lines: (more) => setLines((current) => [...current, ...more].slice(-MAX_LINES)),
        end: (error) => setState({ kind: 'ended', note: error }),
      })
    } catch (error) {
      if (abort.signal.aborted) {
        setState({ kind: 'ended', note: 'stopped' })
        return
      }
      const message =
        error instanceof ApiError && error.status === 404 && error.message.startsWith('no such endpoint')
          ? 'this hub has no log endpoint yet (GET /api/v1/deployments/NAME/logs); use `shoal logs` or upgrade the hub'
          : error instanceof Error
            ? error.message
            : String(error)
      setState({ kind: 'failed', message })
    } finally {
      if (controller.current === abort) controller.current = null
    }
  }
  const stop = (): void => controller.current?.abort()

  if (props.targets.length === 0) return <Empty>No workloads on this node, so no logs to read.</Empty>
  return (
    <div class="logs">
      <form
        class="toolbar"
        onSubmit={(event) => {
          event.preventDefault()
          void start()
        }}
      >
        <label>
          Workload{' '}
          <select aria-label="workload" value={selected} onChange={(e) => setSelected((e.currentTarget as HTMLSelectElement).value)}>
            {props.targets.map((t) => (
              <option key={t.workload} value={t.workload}>
                {t.workload}
              </option>
            ))}
          </select>
        </label>
        <label>
          Last{' '}
          <input
            type="number"
            aria-label="tail lines"
            min={0}
            max={10000}
            value={tail}
            onInput={(e) => setTail(Math.max(0, Math.min(10000, Number((e.currentTarget as HTMLInputElement).value) || 0)))}
          />{' '}
          lines
        </label>
        <label class="check">
          <input type="checkbox" checked={follow} onChange={(e) => setFollow((e.currentTarget as HTMLInputElement).checked)} /> Follow
        </label>
        {/* Distinct keys: one element switching between Stop and a submit button would submit the form on the click that stops. */}
        {state.kind === 'streaming' ? (
          <button key="stop" type="button" onClick={stop}>
            Stop
          </button>
        ) : (
          <button key="start" type="submit" class="primary">
            Show logs
          </button>
        )}
        <span class="log-state" data-log-state={state.kind}>
          {state.kind === 'streaming' ? (follow ? 'following…' : 'reading…') : null}
          {state.kind === 'ended' ? `ended${state.note ? `: ${state.note}` : ''}` : null}
          {!props.nodeOnline ? ' node is offline: the hub will say since when' : null}
        </span>
      </form>
      {state.kind === 'failed' ? (
        <p class="error-note" role="alert">
          {state.message}
        </p>
      ) : null}
      <pre
        class="log-output"
        ref={output}
        aria-label="log output"
        onScroll={(e) => {
          const el = e.currentTarget as HTMLPreElement
          stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24
        }}
      >
        {lines.map((line, i) => (
          <div key={i} class={`log-line ${line.stream}`}>
            {line.text}
          </div>
        ))}
        {lines.length === 0 && state.kind !== 'idle' ? <div class="muted">{state.kind === 'streaming' ? 'waiting for lines…' : 'no lines'}</div> : null}
      </pre>
    </div>
  )
}
