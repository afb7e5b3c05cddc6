import type { ConfigObjectKind } from '../api/client'
import type { Change, ConfigObjectView } from '../api/types'
import { Empty, ErrorNote, Loading, Section } from '../components/bits'
import { ago, bytes } from '../format'
import { useLive, useNow, useResource } from '../live'
import { Link, configObjectHref, deploymentHref } from '../router'

/**
 * Configs and Secrets are not on the change stream themselves; applying one changes the
 * deployments it rolls out, and the copies' versions arrive with their nodes' reports.
 */
export const configObjectsChanged = (c: Change): boolean => c.type === 'deployment' || (c.type === 'node' && c.reason !== 'heartbeat')

/** Both kinds, each in its own table: keys, sizes, versions and users; never a Secret's values. */
export function ConfigObjectsPage() {
  return (
    <div class="page config-objects">
      <header class="page-head">
        <h1>Configs &amp; Secrets</h1>
        <div class="toolbar">
          <Link href="/apply" class="button primary">
            Apply a manifest
          </Link>
        </div>
      </header>
      <p class="muted">
        Settings and credentials workloads read as environment variables or files. A Secret is sealed to each node that needs it; its values are never shown
        here, only its keys and their sizes.
      </p>
      <ConfigObjectTable kind="Config" />
      <ConfigObjectTable kind="Secret" />
    </div>
  )
}

function ConfigObjectTable(props: { kind: ConfigObjectKind }) {
  const { client } = useLive()
  const now = useNow(5000)
  const { kind } = props
  const objects = useResource(`config-objects/${kind}`, () => client.configObjects(kind), { when: configObjectsChanged, minIntervalMs: 1500 })
  const items = objects.data?.items ?? []
  const plural = kind === 'Config' ? 'configs' : 'secrets'
  return (
    <Section title={kind === 'Config' ? 'Configs' : 'Secrets'}>
      <ErrorNote error={objects.error} />
      {!objects.data ? (
        <Loading />
      ) : items.length === 0 ? (
        <Empty>
          No {plural} yet. Apply a <code>kind: {kind}</code> manifest, or run <code>shoal create {kind.toLowerCase()} NAME --from-literal KEY=VALUE</code>.
        </Empty>
      ) : (
        <table class="table" aria-label={plural}>
          <thead>
            <tr>
              <th>Name</th>
              <th class="num">Version</th>
              <th>Keys</th>
              <th class="num">Size</th>
              <th class="num">Overrides</th>
              <th>Used by</th>
              <th>Updated</th>
            </tr>
          </thead>
          <tbody>
            {[...items]
              .sort((a, b) => (a.name < b.name ? -1 : 1))
              .map((o) => (
                <tr key={o.name} data-config-object={`${kind}/${o.name}`}>
                  <td>
                    <Link href={configObjectHref(kind, o.name)}>{o.name}</Link>
                  </td>
                  <td class="num">{o.version}</td>
                  <td class="clip mono" title={o.keys.map((k) => k.key).join(', ')}>
                    {o.keys.map((k) => k.key).join(', ')}
                  </td>
                  <td class="num">{bytes(totalBytes(o))}</td>
                  <td class="num">{o.overrides.length}</td>
                  <td>
                    <UsedBy names={o.usedBy} />
                  </td>
                  <td title={o.updatedAt}>{ago(o.updatedAt, now)}</td>
                </tr>
              ))}
          </tbody>
        </table>
      )}
    </Section>
  )
}

/** Every key's value in bytes, base and overrides together (what counts against the kind's limit). */
export function totalBytes(object: ConfigObjectView): number {
  const sum = (keys: readonly { bytes: number }[]): number => keys.reduce((total, k) => total + k.bytes, 0)
  return sum(object.keys) + object.overrides.reduce((total, o) => total + sum(o.keys), 0)
}

export function UsedBy(props: { names: readonly string[] }) {
  if (props.names.length === 0) return <span class="muted">no deployment</span>
  return (
    <span class="used-by">
      {props.names.map((name, i) => (
        <span key={name}>
          {i > 0 ? ', ' : ''}
          <Link href={deploymentHref(name)}>{name}</Link>
        </span>
      ))}
    </span>
  )
}
