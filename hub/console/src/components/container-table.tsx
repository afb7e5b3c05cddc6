import type { DeploymentDetail } from '../api/types'
import { Link, nodeHref } from '../router'
import { StateBadge } from './bits'

/** Whether any copy of the deployment runs several containers (and so has a table of them). */
export function hasContainers(deployment: DeploymentDetail): boolean {
  return deployment.placements.some((p) => (p.status?.containers?.length ?? 0) > 0)
}

/** Each container of each several-container copy, init containers first and marked, as its agent last reported. */
export function ContainerTable(props: { deployment: DeploymentDetail }) {
  const rows = props.deployment.placements.flatMap((p) => (p.status?.containers ?? []).map((container) => ({ placement: p, container })))
  return (
    <table class="table" aria-label="containers">
      <thead>
        <tr>
          <th>Node</th>
          <th class="num">Replica</th>
          <th>Container</th>
          <th>State</th>
          <th>Health</th>
          <th>Ready</th>
          <th class="num">Restarts</th>
          <th class="num">Exit</th>
          <th>Message</th>
        </tr>
      </thead>
      <tbody>
        {rows.map(({ placement: p, container: c }) => (
          <tr key={`${p.nodeId}/${p.workload}/${c.name}`} data-container={c.name}>
            <td>
              <Link href={nodeHref(p.nodeId)}>{p.nodeId}</Link>
            </td>
            <td class="num">{p.replica}</td>
            <td>
              {c.name}
              {c.init ? <span class="muted"> (init)</span> : null}
            </td>
            <td>
              <StateBadge state={c.state} />
            </td>
            <td>{c.health}</td>
            <td>{c.init ? '–' : c.ready ? 'yes' : 'no'}</td>
            <td class="num">{c.restarts}</td>
            <td class="num">{c.exitCode ?? '–'}</td>
            <td class="clip" title={c.message}>
              {c.message ?? ''}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}
