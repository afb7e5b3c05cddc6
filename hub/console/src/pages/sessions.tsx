import type { SessionView } from '../api/types'
import { Empty, ErrorNote, Loading } from '../components/bits'
import { ago, bytes, duration, localTime } from '../format'
import { useLive, useNow, useResource } from '../live'
import { Link, deploymentHref, nodeHref, sessionsHref, setQuery, useLocation } from '../router'

const KIND_LABEL = { exec: 'exec', 'port-forward': 'port-forward', 'cp-from': 'cp from', 'cp-to': 'cp to' } satisfies Record<SessionView['kind'], string>

/**
 * The hub's record of remote sessions (shells, tunnels, copies): who opened what where, how long
 * it ran, how it ended and the bytes each way. Newest first; `?node=` for one node's.
 */
export function SessionsPage() {
  const { client } = useLive()
  const now = useNow(1000)
  const node = useLocation().query.get('node') ?? ''
  // A session's start and end are events on its node; a running session's bytes change without one, hence Refresh.
  const sessions = useResource(`sessions?node=${node}`, () => client.sessions(node || undefined), {
    when: (c) => c.type === 'event' && (!node || c.nodeId === node),
    minIntervalMs: 2000,
    keepPrevious: true,
  })
  const items = sessions.data?.items ?? []
  return (
    <div class="page sessions">
      <header class="page-head">
        <h1>Sessions{node ? <span class="badge muted">{node}</span> : null}</h1>
        <div class="toolbar">
          {node ? (
            <button type="button" onClick={() => setQuery({ node: null })}>
              All nodes
            </button>
          ) : null}
          <button type="button" onClick={() => sessions.reload()}>
            Refresh
          </button>
        </div>
      </header>
      <p class="summary-line">
        Shells, tunnels and copies opened through the hub (<code>shoal exec</code>, <code>port-forward</code>, <code>cp</code> and the console’s terminals),
        newest first.
      </p>
      <ErrorNote error={sessions.error} prefix={sessions.data ? 'could not refresh' : 'sessions'} />
      {!sessions.data ? (
        sessions.error ? null : (
          <Loading />
        )
      ) : items.length === 0 ? (
        <Empty>{node ? `No sessions on ${node} yet.` : 'No sessions yet.'}</Empty>
      ) : (
        <SessionTable items={items} now={now} showNode={!node} />
      )}
    </div>
  )
}

function SessionTable(props: { items: readonly SessionView[]; now: number; showNode: boolean }) {
  const { now } = props
  return (
    <table class="table" aria-label="sessions">
      <thead>
        <tr>
          <th>Started</th>
          <th>Who</th>
          {props.showNode ? <th>Node</th> : null}
          <th>Kind</th>
          <th>Target</th>
          <th class="num">Duration</th>
          <th>End</th>
          <th class="num" title="from the operator to the node">
            Sent
          </th>
          <th class="num" title="from the node to the operator">
            Received
          </th>
        </tr>
      </thead>
      <tbody>
        {props.items.map((s) => {
          const started = Date.parse(s.startedAt)
          const running = s.endedAt === null
          return (
            <tr key={s.id} data-session={s.id} data-kind={s.kind} data-exit-code={s.exitCode ?? undefined}>
              <td title={localTime(s.startedAt)}>{ago(s.startedAt, now)}</td>
              <td>{s.user}</td>
              {props.showNode ? (
                <td>
                  <Link href={nodeHref(s.node)}>{s.node}</Link>{' '}
                  <Link href={sessionsHref(s.node)} class="muted" title={`only ${s.node}’s sessions`}>
                    ⌕
                  </Link>
                </td>
              ) : null}
              <td>{KIND_LABEL[s.kind]}</td>
              <td class="clip" title={s.detail}>
                {s.workload ? <Link href={deploymentHref(s.workload)}>{s.workload}</Link> : <span class="muted">the node</span>}
                {s.container ? <span class="muted"> ({s.container})</span> : null} <code>{s.detail}</code>
              </td>
              <td class="num">{duration((running ? now : Date.parse(s.endedAt ?? '')) - started)}</td>
              <td data-testid="session-end">
                {running ? (
                  <span class="badge info">open</span>
                ) : s.error ? (
                  <span class="bad-text" title={s.error}>
                    {s.error}
                  </span>
                ) : s.exitCode !== null ? (
                  <span class={s.exitCode === 0 ? '' : 'warn-text'}>exit {s.exitCode}</span>
                ) : (
                  'ended'
                )}
              </td>
              <td class="num">{bytes(s.bytesIn)}</td>
              <td class="num">{bytes(s.bytesOut)}</td>
            </tr>
          )
        })}
      </tbody>
    </table>
  )
}
