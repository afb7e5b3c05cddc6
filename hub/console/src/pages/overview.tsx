import { CONDITIONS, type NodeConditionType, type DeploymentView, type NodeView } from '../api/types'
import { EventsList } from '../components/events-list'
import { ConditionBadge, Empty, ErrorNote, Loading, Section, conditionClass } from '../components/bits'
import { useLive, useResource } from '../live'
import { Link, deploymentHref, nodeHref } from '../router'
import { fleetRefreshMs } from './refresh'

type Counts = Record<NodeConditionType, number>

const zero = (): Counts => ({ Ready: 0, Degraded: 0, Offline: 0 })

/** Nodes counted by condition within each group (profile, site, ...), groups largest first. Pure. */
export function countBy(nodes: readonly NodeView[], group: (node: NodeView) => string): Array<[string, Counts, number]> {
  const groups = new Map<string, Counts>()
  for (const node of nodes) {
    const key = group(node)
    const counts = groups.get(key) ?? zero()
    counts[node.condition.type]++
    groups.set(key, counts)
  }
  return [...groups.entries()]
    .map(([key, counts]): [string, Counts, number] => [key, counts, counts.Ready + counts.Degraded + counts.Offline])
    .sort((a, b) => b[2] - a[2] || a[0].localeCompare(b[0]))
}

export function OverviewPage() {
  const { client } = useLive()
  const nodes = useResource('overview-nodes', () => client.nodes(), {
    when: (c) => c.type === 'node',
    minIntervalMs: (data) => fleetRefreshMs(data?.items.length ?? 0),
  })
  const deployments = useResource('overview-deployments', () => client.deployments(), {
    when: (c) => c.type === 'deployment' || c.type === 'node',
    minIntervalMs: 1500,
  })
  const events = useResource('overview-events', () => client.events(15), {
    when: (c) => c.type === 'event' || (c.type === 'node' && c.reason !== 'heartbeat' && c.reason !== 'status'),
    minIntervalMs: 1000,
  })

  const items = nodes.data?.items ?? []
  const totals = zero()
  for (const node of items) totals[node.condition.type]++

  return (
    <div class="page overview">
      <h1>Fleet overview</h1>
      <ErrorNote error={nodes.error} prefix="nodes" />
      <div class="tiles" aria-label="nodes by condition">
        <Link href="/nodes" class="tile">
          <span class="tile-number" data-count="total">
            {nodes.data ? items.length : '…'}
          </span>
          <span class="tile-label">nodes</span>
        </Link>
        {CONDITIONS.map((type) => (
          <Link key={type} href={`/nodes?condition=${type}`} class={`tile ${conditionClass(type)}${totals[type] > 0 ? ' nonzero' : ''}`}>
            <span class="tile-number" data-count={type}>
              {nodes.data ? totals[type] : '…'}
            </span>
            <span class="tile-label">{type.toLowerCase()}</span>
          </Link>
        ))}
      </div>
      <div class="grid-2">
        <Section title="By firmware profile">
          {nodes.loading && !nodes.data ? (
            <Loading />
          ) : (
            <GroupTable rows={countBy(items, (n) => n.profile)} heading="Profile" link={(key) => `/nodes?profile=${encodeURIComponent(key)}`} />
          )}
        </Section>
        <Section title="By site">
          {nodes.loading && !nodes.data ? (
            <Loading />
          ) : (
            <GroupTable
              rows={countBy(items, (n) => n.labels.site ?? '')}
              heading="Site label"
              link={(key) => (key ? `/nodes?selector=${encodeURIComponent(`site=${key}`)}` : '/nodes?selector=!site')}
            />
          )}
        </Section>
      </div>
      <div class="grid-2">
        <Section title="Deployments" actions={<Link href="/apply">Apply a manifest</Link>}>
          <ErrorNote error={deployments.error} />
          {deployments.data ? <DeploymentsTable items={deployments.data.items} /> : <Loading />}
        </Section>
        <Section title="Recent events">
          <ErrorNote error={events.error} />
          {events.data ? <EventsList events={events.data.items} limit={15} /> : <Loading />}
        </Section>
      </div>
      {items.some((n) => n.condition.type !== 'Ready') ? (
        <Section title="Needs attention">
          <ul class="attention">
            {items
              .filter((n) => n.condition.type !== 'Ready')
              .slice(0, 10)
              .map((n) => (
                <li key={n.id}>
                  <ConditionBadge condition={n.condition} /> <Link href={nodeHref(n.id)}>{n.id}</Link>{' '}
                  <span class="muted">{n.condition.reasons.join('; ')}</span>
                </li>
              ))}
          </ul>
          {totals.Offline + totals.Degraded > 10 ? (
            <p>
              <Link href="/nodes?condition=Offline">All {totals.Offline} offline</Link> ·{' '}
              <Link href="/nodes?condition=Degraded">all {totals.Degraded} degraded</Link>
            </p>
          ) : null}
        </Section>
      ) : null}
    </div>
  )
}

function GroupTable(props: { rows: Array<[string, Counts, number]>; heading: string; link: (key: string) => string }) {
  if (props.rows.length === 0) return <Empty>No nodes enrolled yet. Create a join token with `shoal token create` and start an agent.</Empty>
  return (
    <table class="table compact">
      <thead>
        <tr>
          <th>{props.heading}</th>
          <th class="num">Nodes</th>
          <th class="num">Ready</th>
          <th class="num">Degraded</th>
          <th class="num">Offline</th>
        </tr>
      </thead>
      <tbody>
        {props.rows.map(([key, counts, total]) => (
          <tr key={key}>
            <td>
              <Link href={props.link(key)}>{key || <span class="muted">(none)</span>}</Link>
            </td>
            <td class="num">{total}</td>
            <td class="num ok-text">{counts.Ready || ''}</td>
            <td class="num warn-text">{counts.Degraded || ''}</td>
            <td class="num bad-text">{counts.Offline || ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}

function DeploymentsTable(props: { items: readonly DeploymentView[] }) {
  if (props.items.length === 0) return <Empty>No deployments yet.</Empty>
  return (
    <table class="table compact">
      <thead>
        <tr>
          <th>Name</th>
          <th class="num">Ready / desired</th>
          <th>Why not all</th>
        </tr>
      </thead>
      <tbody>
        {props.items.map((d) => (
          <tr key={d.name} data-deployment={d.name}>
            <td>
              <Link href={deploymentHref(d.name)}>{d.name}</Link>
            </td>
            <td class={`num ${d.ready >= d.desired ? 'ok-text' : 'warn-text'}`}>
              {d.ready} / {d.desired}
            </td>
            <td class="muted clip">{d.ready >= d.desired && d.pending === 0 ? '' : (d.why ?? '')}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}
