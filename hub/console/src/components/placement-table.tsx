import type { DeploymentDetail, NodeView } from '../api/types'
import { ago } from '../format'
import { Link, nodeHref } from '../router'
import { ConditionBadge, Empty, StateBadge } from './bits'
import { ObjectVersions, hasObjectVersions } from './object-versions'

/** What each scheduler check means when it turns nodes down (hub/scheduler/types.ts CheckName). */
const CHECK_WORDS: Record<string, string> = {
  selector: 'do not match the selector',
  arch: 'have another CPU architecture',
  capabilities: 'lack a required capability',
  profile: 'run another firmware profile',
  'data-affinity': 'do not hold the data',
  cordoned: 'are cordoned',
  ready: 'are not ready (offline)',
  resources: 'lack CPU or memory',
}

/** "3 nodes do not match the selector", one line per scheduler check that turned nodes down. */
export function FilteredNodes(props: { filtered: Readonly<Record<string, number>> }) {
  return (
    <ul class="filtered">
      {Object.entries(props.filtered).map(([check, count]) => (
        <li key={check}>
          <strong>{count}</strong> node{count === 1 ? '' : 's'} {CHECK_WORDS[check] ?? `fail ${check}`}
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
