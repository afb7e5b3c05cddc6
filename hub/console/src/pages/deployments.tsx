import { Empty, ErrorNote, Loading } from '../components/bits'
import { RolloutCell } from '../components/rollout-badges'
import { ago } from '../format'
import { useLive, useNow, useResource } from '../live'
import { Link, deploymentHref } from '../router'
import { SearchBox, useSearchQuery } from '../components/search-box'
import { textMatches } from '../search'

export function DeploymentsPage() {
  const { client } = useLive()
  const now = useNow(5000)
  const { selector, text } = useSearchQuery()
  const deployments = useResource(`deployments?${selector}`, () => client.deployments(selector), {
    keepPrevious: true,
    when: (c) => c.type === 'deployment' || (c.type === 'node' && c.reason !== 'heartbeat'),
    minIntervalMs: 1000,
  })
  const all = deployments.data?.items ?? []
  const items = text ? all.filter((d) => textMatches(text, d.name, d.labels)) : all
  const selectorError = deployments.error && selector ? deployments.error : null
  const filtered = selector !== '' || text !== ''
  return (
    <div class="page deployments">
      <header class="page-head">
        <h1>Deployments</h1>
        <div class="toolbar">
          <Link href="/apply" class="button primary">
            Apply a manifest
          </Link>
        </div>
      </header>
      <div class="filters" role="search">
        <SearchBox noun="deployment" invalid={selectorError !== null} placeholder="web, or tier=edge" />
        <span class="count" data-testid="deployment-count" aria-live="polite">
          {deployments.data ? `${items.length} of ${all.length} deployment${all.length === 1 ? '' : 's'}` : 'loading…'}
        </span>
      </div>
      <ErrorNote error={selectorError ?? deployments.error} prefix={selectorError ? 'selector' : 'deployments'} />
      {!deployments.data ? (
        <Loading />
      ) : items.length === 0 && filtered ? (
        <Empty>No deployments match.</Empty>
      ) : items.length === 0 ? (
        <Empty>
          No deployments yet. <Link href="/apply">Apply a manifest</Link> or run <code>shoal apply -f FILE</code>.
        </Empty>
      ) : (
        <table class="table" aria-label="deployments">
          <thead>
            <tr>
              <th>Name</th>
              <th>Mode</th>
              <th class="num">Revision</th>
              <th>Rollout</th>
              <th class="num">Ready / desired</th>
              <th class="num">Placed</th>
              <th class="num">Pending</th>
              <th>Why</th>
              <th>Updated</th>
            </tr>
          </thead>
          <tbody>
            {items.map((d) => (
              <tr key={d.name} data-deployment={d.name}>
                <td>
                  <Link href={deploymentHref(d.name)}>{d.name}</Link>
                </td>
                <td>{d.mode}</td>
                <td class="num">{d.revision}</td>
                <td data-testid="rollout-phase">
                  <RolloutCell rollout={d.rollout} />
                </td>
                <td class={`num ${d.ready >= d.desired ? 'ok-text' : 'warn-text'}`}>
                  {d.ready} / {d.desired}
                </td>
                <td class="num">{d.placed}</td>
                <td class={`num ${d.pending > 0 ? 'bad-text' : ''}`}>{d.pending}</td>
                <td class="clip muted" title={d.why ?? ''}>
                  {d.why}
                </td>
                <td title={d.updatedAt}>{ago(d.updatedAt, now)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  )
}
