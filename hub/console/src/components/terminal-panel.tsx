import { useEffect, useState } from 'preact/hooks'
import { commandWords } from '../command-words'
import { Empty } from './bits'
import { RemoteTerminal, type TerminalTarget } from './remote-terminal'

/** One copy a terminal can open in, as the picker shows it. */
export interface TerminalChoice extends TerminalTarget {
  readonly key: string
  readonly label: string
}

interface Opened {
  readonly choice: TerminalChoice
  readonly command: readonly string[]
  /** Counts sessions, so Open again mounts a fresh terminal. */
  readonly serial: number
}

/**
 * Pick a copy (a deployment's node, or a node's workload), a command (`sh` unless told), and open
 * a terminal in it. One terminal at a time: opening another closes the first; closing ends its
 * session.
 */
export function TerminalPanel(props: { choices: readonly TerminalChoice[]; pick: string; empty: string; offline?: boolean }) {
  const [selected, setSelected] = useState(props.choices[0]?.key ?? '')
  const [command, setCommand] = useState('sh')
  const [opened, setOpened] = useState<Opened | null>(null)
  useEffect(() => {
    if (!props.choices.some((c) => c.key === selected)) setSelected(props.choices[0]?.key ?? '')
  }, [props.choices, selected])

  if (props.choices.length === 0) return <Empty>{props.empty}</Empty>
  const choice = props.choices.find((c) => c.key === selected)
  const words = commandWords(command)
  return (
    <div class="terminal-panel">
      <form
        class="toolbar"
        onSubmit={(event) => {
          event.preventDefault()
          if (choice && words.length > 0) setOpened({ choice, command: words, serial: (opened?.serial ?? 0) + 1 })
        }}
      >
        {props.choices.length > 1 ? (
          <label>
            {props.pick}{' '}
            <select aria-label={props.pick} value={selected} onChange={(e) => setSelected((e.currentTarget as HTMLSelectElement).value)}>
              {props.choices.map((c) => (
                <option key={c.key} value={c.key}>
                  {c.label}
                </option>
              ))}
            </select>
          </label>
        ) : (
          <span class="terminal-only">{choice?.label}</span>
        )}
        <label>
          Command <input aria-label="command" class="mono" value={command} onInput={(e) => setCommand((e.currentTarget as HTMLInputElement).value)} />
        </label>
        <button type="submit" class="primary" disabled={!choice || words.length === 0}>
          {opened ? 'Open again' : 'Open terminal'}
        </button>
        {opened ? (
          <button type="button" onClick={() => setOpened(null)}>
            Close terminal
          </button>
        ) : null}
        {props.offline ? <span class="muted">the node is offline: the hub will say so</span> : null}
      </form>
      {opened ? <RemoteTerminal key={opened.serial} target={opened.choice} command={opened.command} /> : null}
    </div>
  )
}
