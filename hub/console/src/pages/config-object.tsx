import type { ConfigObjectKind } from '../api/client'
import type { ConfigObjectCopy, ConfigObjectDetail } from '../api/types'
import { Empty, ErrorNote, Loading, Section } from '../components/bits'
import { ago, bytes, labelText } from '../format'
import { useLive, useNow, useResource } from '../live'
import { Link, deploymentHref, nodeHref } from '../router'
import { UsedBy, configObjectsChanged } from './config-objects'

type Selector = ConfigObjectDetail['overrides'][number]['selector']

/** "site=a, tier in (edge, core)", or "every node" for an empty selector. */
export function selectorText(selector: Selector): string {
  const terms = [
    ...Object.entries(selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`),
    ...(selector.matchExpressions ?? []).map((e) =>
      e.operator === 'In'
        ? `${e.key} in (${(e.values ?? []).join(', ')})`
        : e.operator === 'NotIn'
          ? `${e.key} notin (${(e.values ?? []).join(', ')})`
          : e.operator === 'Exists'
            ? e.key
            : `!${e.key}`,
    ),
  ]
  return terms.length === 0 ? 'every node' : terms.join(', ')
}

/**
 * One Config or Secret: its keys and sizes, a Config's values, the overrides, which deployments
 * use it and the version each copy runs. The hub never sends a Secret's values, and this page
 * never looks for them.
 */
export function ConfigObjectPage(props: { kind: ConfigObjectKind; name: string }) {
  const { client } = useLive()
  const now = useNow(5000)
  const { kind, name } = props
  const object = useResource(`config-object/${kind}/${name}`, () => client.configObject(kind, name), { when: configObjectsChanged, minIntervalMs: 1000 })

  if (!object.data) {
    return (
      <div class="page">
        <h1>{name}</h1>
        {object.error ? <ErrorNote error={object.error} /> : <Loading />}
        <p>
          <Link href="/configs">All configs and secrets</Link>
        </p>
      </div>
    )
  }
  const o = object.data
  const secret = o.kind === 'Secret'
  const behind = o.copies.filter((c) => c.runningVersion !== c.desiredVersion).length
  return (
    <div class="page config-object" data-config-object={`${o.kind}/${o.name}`}>
      <header class="page-head">
        <h1>
          {o.name} <span class={`badge ${secret ? 'info' : 'muted'}`}>{o.kind}</span>
          <span class={`badge ${behind === 0 ? 'ok' : 'warn'}`} data-testid="version-badge">
            version {o.version}
            {behind > 0 ? ` · ${behind} cop${behind === 1 ? 'y' : 'ies'} behind` : ''}
          </span>
        </h1>
      </header>
      <ErrorNote error={object.error} prefix="could not refresh" />
      <p class="summary-line">
        {o.keys.length} key{o.keys.length === 1 ? '' : 's'} · {o.overrides.length} override{o.overrides.length === 1 ? '' : 's'} · updated{' '}
        {ago(o.updatedAt, now)}
        {Object.keys(o.labels).length > 0 ? ` · ${labelText(o.labels)}` : ''} · used by <UsedBy names={o.usedBy} />
      </p>
      <Section title={secret ? 'Keys' : 'Data'}>
        {secret ? (
          <p class="muted" data-testid="secret-note">
            A Secret's values are never shown: only its keys and their sizes. Nodes receive them sealed to their own key.
          </p>
        ) : null}
        <DataTable label={secret ? 'keys' : 'data'} keys={o.keys} data={secret ? undefined : o.data} />
      </Section>
      <Section title="Overrides">
        {o.overrides.length === 0 ? (
          <Empty>No overrides: every node gets the same {secret ? 'values' : 'data'}.</Empty>
        ) : (
          <ol class="overrides" aria-label="overrides">
            {o.overrides.map((override, index) => (
              <li key={index}>
                <p>
                  Nodes matching <code>{selectorText(override.selector)}</code>
                  {index > 0 ? <span class="muted"> (wins over the ones above)</span> : null}
                </p>
                <DataTable label={`override ${index + 1}`} keys={override.keys} data={secret ? undefined : o.overrideData?.[index]?.data} />
              </li>
            ))}
          </ol>
        )}
      </Section>
      <Section title="Copies">
        <Copies copies={o.copies} />
      </Section>
    </div>
  )
}

/** Keys and sizes; with `data` (a Config's), the values beside them. */
function DataTable(props: { label: string; keys: readonly { key: string; bytes: number }[]; data?: Readonly<Record<string, string>> | undefined }) {
  const { keys, data } = props
  if (keys.length === 0) return <Empty>No keys.</Empty>
  return (
    <table class="table compact" aria-label={props.label}>
      <thead>
        <tr>
          <th>Key</th>
          <th class="num">Size</th>
          {data ? <th>Value</th> : null}
        </tr>
      </thead>
      <tbody>
        {keys.map((k) => (
          <tr key={k.key} data-key={k.key}>
            <td class="mono">{k.key}</td>
            <td class="num">{bytes(k.bytes)}</td>
            {data ? (
              <td>
                <pre class="value">{data[k.key] ?? ''}</pre>
              </td>
            ) : null}
          </tr>
        ))}
      </tbody>
    </table>
  )
}

/** Each copy using the object: the version the hub sends it and the one its container runs. */
function Copies(props: { copies: readonly ConfigObjectCopy[] }) {
  if (props.copies.length === 0) return <Empty>No copy uses it: no deployment that refers to it has a copy placed.</Empty>
  const copies = [...props.copies].sort((a, b) => (`${a.deployment}/${a.nodeId}` < `${b.deployment}/${b.nodeId}` ? -1 : 1))
  return (
    <table class="table" aria-label="copies">
      <thead>
        <tr>
          <th>Deployment</th>
          <th>Node</th>
          <th>Workload</th>
          <th class="num">Sent</th>
          <th class="num">Running</th>
        </tr>
      </thead>
      <tbody>
        {copies.map((c) => {
          const behind = c.runningVersion !== c.desiredVersion
          return (
            <tr key={`${c.nodeId}/${c.workload}`} data-node-id={c.nodeId} data-workload={c.workload}>
              <td>
                <Link href={deploymentHref(c.deployment)}>{c.deployment}</Link>
              </td>
              <td>
                <Link href={nodeHref(c.nodeId)}>{c.nodeId}</Link>
              </td>
              <td>{c.workload}</td>
              <td class="num">{c.desiredVersion ?? '–'}</td>
              <td
                class={`num ${behind ? 'warn-text' : ''}`}
                title={behind ? (c.runningVersion === null ? 'not reported yet' : `version ${c.desiredVersion} is on its way`) : undefined}
              >
                {c.runningVersion ?? 'not reported'}
              </td>
            </tr>
          )
        })}
      </tbody>
    </table>
  )
}
