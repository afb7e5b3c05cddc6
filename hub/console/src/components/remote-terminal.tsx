import { useEffect, useRef, useState } from 'preact/hooks'
import { describeOutcome, type SessionOutcome } from '../api/session-frames'
import type { SessionSocket } from '../api/session-socket'
import type { SessionOpenedMessage } from '../api/types'
import { useLive } from '../live'
import type { XtermHandle } from './xterm-view'

/** Which copy to open a shell in: a deployment's copy on one node (and which container of a several-container copy). */
export interface TerminalTarget {
  readonly deployment: string
  readonly node: string
  readonly container?: string
}

type TerminalState =
  | { readonly phase: 'loading' }
  | { readonly phase: 'connecting' }
  | { readonly phase: 'open'; readonly opened: SessionOpenedMessage }
  | { readonly phase: 'ended'; readonly outcome: SessionOutcome }
  | { readonly phase: 'failed'; readonly message: string }

/**
 * An interactive TTY session in a copy's container, through the hub (which signs the opening and
 * records the session): keys go to the command's stdin, its output to the screen, the screen's
 * size follows the box. The session closes when the component goes away (the hub then ends it).
 * Mount it anew (a new `key`) for a new session.
 */
export function RemoteTerminal(props: { target: TerminalTarget; command: readonly string[] }) {
  const { client } = useLive()
  const screen = useRef<HTMLDivElement>(null)
  const [state, setState] = useState<TerminalState>({ phase: 'loading' })

  useEffect(() => {
    const element = screen.current
    if (!element) return
    let disposed = false
    let view: XtermHandle | null = null
    let session: SessionSocket | null = null
    import('./xterm-view').then(
      ({ mountXterm }) => {
        if (disposed) return
        const shown = mountXterm(element, { input: (data) => session?.input(data), resized: (size) => session?.resize(size) })
        view = shown
        setState({ phase: 'connecting' })
        const { deployment, node, container } = props.target
        session = client.openSession(
          {
            kind: 'exec',
            deployment,
            node,
            ...(container ? { container } : {}),
            command: [...props.command],
            tty: true,
            stdin: true,
            size: shown.size(),
          },
          {
            opened: (opened) => {
              setState({ phase: 'open', opened })
              shown.focus()
            },
            data: (data) => shown.write(data.bytes),
            ended: (outcome) => {
              setState({ phase: 'ended', outcome })
              shown.write(`\r\n\x1b[2m[${describeOutcome(outcome)}]\x1b[0m\r\n`)
              shown.disableInput()
            },
          },
        )
      },
      (error: unknown) => {
        if (!disposed) setState({ phase: 'failed', message: `the terminal could not load: ${error instanceof Error ? error.message : String(error)}` })
      },
    )
    return () => {
      disposed = true
      session?.dispose()
      view?.dispose()
    }
  }, [])

  const exitCode = state.phase === 'ended' ? state.outcome.exitCode : null
  return (
    <div class="remote-terminal" data-terminal-state={state.phase} data-exit-code={exitCode ?? undefined}>
      <p
        class={`terminal-state ${stateClass(state)}`}
        data-testid="terminal-state"
        role="status"
        title={state.phase === 'open' && state.opened.container ? `container ${state.opened.container}, session ${state.opened.sessionId}` : undefined}
      >
        {stateText(state, props)}
      </p>
      {state.phase === 'failed' ? (
        <p class="error-note" role="alert">
          {state.message}
        </p>
      ) : null}
      <div class="terminal-screen" ref={screen} aria-label="terminal" />
    </div>
  )
}

function stateText(state: TerminalState, props: { target: TerminalTarget; command: readonly string[] }): string {
  const where = `${props.target.deployment} on ${props.target.node}`
  switch (state.phase) {
    case 'loading':
      return 'loading the terminal…'
    case 'connecting':
      return `opening ${props.command.join(' ')} in ${where}…`
    case 'open':
      // The container named only when one of several was picked; the engine's name for it is in the tooltip.
      return `${props.command.join(' ')} in ${state.opened.workload ?? props.target.deployment}${props.target.container ? ` (${props.target.container})` : ''} on ${state.opened.node}`
    case 'ended':
      return `${where}: ${describeOutcome(state.outcome)}`
    case 'failed':
      return 'no terminal'
    default: {
      const unreachable: never = state
      return unreachable
    }
  }
}

function stateClass(state: TerminalState): string {
  if (state.phase === 'ended') return state.outcome.error ? 'bad-text' : state.outcome.exitCode === 0 ? '' : 'warn-text'
  return state.phase === 'failed' ? 'bad-text' : ''
}
