import type { DeploymentDetail, NodeView } from '../api/types'
import { ago } from '../format'
import { Link, nodeHref } from '../router'
import { ConditionBadge, Empty, StateBadge } from './bits'
import { ObjectVersions, hasObjectVersions } from './object-versions'

const SINGULAR_VERBS: Readonly<Record<string, string>> = { are: 'is', have: 'has', do: 'does', lack: 'lacks' }

/** "lack device /dev/ttyUSB0" for one node: "lacks device /dev/ttyUSB0" (as hub/scheduler/explain.ts singular()). */
function forOne(reason: string): string {
  const space = reason.indexOf(' ')
  const verb = space === -1 ? reason : reason.slice(0, space)
  return (SINGULAR_VERBS[verb] ?? `${verb}s`) + (space === -1 ? '' : reason.slice(space))
}

/** "3 nodes lack device /dev/ttyUSB0", one line per reason nodes were turned down (written for a count by the scheduler). */
export function FilteredNodes(props: { filtered: Readonly<Record<string, number>> }) {
  return (
    <ul class="filtered">
      {Object.entries(props.filtered).map(([reason, count]) => (
        <li key={reason}>
          <strong>{count}</strong> node{count === 1 ? '' : 's'} {count === 1 ? forOne(reason) : reason}
        </li>
      ))}
    </ul>
  )
}

/** Which nodes hold a copy, each with its node's condition and the copy's state as last reported. */
export function PlacementTable(props: { deployment: DeploymentDetail; nodes: ReadonlyMap<string, NodeView>; now: number }) {
  const { deployment, nodes, now } = props
  if (deployment.placements.length === 0) return <Empty>No node holds a copy{deployment.why ? `: ${deployment.why}` : '.'}</Empty>
  const versioned = deployment.placements.some((p) => hasObjectVersions(p.status))
  return (
    <table class="table" aria-label="placement">
      <thead>
        <tr>
          <th>Node</th>
          <th>Node condition</th>
          <th class="num">Replica</th>
          <th>State</th>
          <th>Health</th>
          <th>Ready</th>
          <th class="num">Restarts</th>
          <th class="num">Revision</th>
          <th>Since</th>
          {versioned ? <th>Configs &amp; secrets</th> : null}
          <th>Message</th>
        </tr>
      </thead>
      <tbody>
        {deployment.placements.map((p) => {
          const node = nodes.get(p.nodeId)
          const status = p.status
          // During a rollout a copy may be told to run an older revision; stale is behind what it was told.
          const stale = status !== null && status.revision !== p.revision
          return (
            <tr key={`${p.nodeId}/${p.workload}`} data-node-id={p.nodeId} data-state={status?.state ?? 'no report yet'}>
              <td>
                <Link href={nodeHref(p.nodeId)}>{p.nodeId}</Link>
              </td>
              <td>{node ? <ConditionBadge condition={node.condition} /> : <span class="muted">…</span>}</td>
              <td class="num">{deployment.mode === 'every-node' ? '–' : p.replica}</td>
              <td>
                <StateBadge state={status?.state ?? 'no report yet'} />
              </td>
              <td>{status?.health ?? '–'}</td>
              <td data-testid="ready">{status?.ready === undefined ? '–' : status.ready ? 'yes' : 'no'}</td>
              <td class="num">{status?.restarts ?? '–'}</td>
              <td
                class={`num ${stale ? 'warn-text' : ''}`}
                title={
                  stale
                    ? `running revision ${status?.revision}; revision ${p.revision} is on its way`
                    : p.revision !== deployment.revision
                      ? `the rollout keeps this copy on revision ${p.revision} for now`
                      : ''
                }
              >
                {status?.revision ?? '–'}
              </td>
              <td title={status?.hubSince ?? status?.since ?? p.since}>{ago(status?.hubSince ?? status?.since ?? p.since, now)}</td>
              {versioned ? (
                <td data-testid="object-versions">
                  <ObjectVersions status={status} />
                </td>
              ) : null}
              <td class="clip" title={status?.message}>
                {status?.message ?? ''}
              </td>
            </tr>
          )
        })}
      </tbody>
    </table>
  )
}
