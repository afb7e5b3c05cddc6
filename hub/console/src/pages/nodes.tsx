import { useMemo, useState } from 'preact/hooks'
import { CONDITIONS, type NodeView } from '../api/types'
import { ConditionBadge, ErrorNote, UsageBar } from '../components/bits'
import { VirtualTable, type Column } from '../components/virtual-table'
import { ago, labelText } from '../format'
import { useLive, useNow, useResource } from '../live'
import { Link, nodeHref, setQuery, useLocation } from '../router'
import { fleetRefreshMs } from './refresh'
import { textMatches } from '../search'
import { loadChosenLabels, saveChosenLabels } from '../label-choice'
import { shownLabels } from '../label-columns'
import { LabelPicker } from '../components/label-picker'
import { SearchBox, useSearchQuery } from '../components/search-box'
import { BulkActions } from '../components/bulk-actions'

const CONDITION_ORDER = { Offline: 0, Degraded: 1, Ready: 2 } as const

export function NodesPage() {
  const { client } = useLive()
  const { query } = useLocation()
  const { selector, text } = useSearchQuery()
  const condition = query.get('condition') ?? ''
  const profile = query.get('profile') ?? ''
  const now = useNow(2000)
  const [chosen, setChosen] = useState<string[] | null>(loadChosenLabels)
  const choose = (keys: string[] | null): void => {
    saveChosenLabels(keys)
    setChosen(keys)
  }

  const nodes = useResource(`nodes?${selector}`, () => client.nodes(selector), {
    keepPrevious: true,
    when: (c) => c.type === 'node',
    minIntervalMs: (data) => fleetRefreshMs(data?.items.length ?? 0),
  })
  const all = nodes.data?.items ?? []
  const profiles = useMemo(() => [...new Set(all.map((n) => n.profile))].sort(), [all])
  const labelKeys = useMemo(() => [...new Set(all.flatMap((n) => Object.keys(n.labels)))].sort(), [all])
  const shown = useMemo(
    () =>
      all.filter((n) => (!condition || n.condition.type === condition) && (!profile || n.profile === profile) && (!text || textMatches(text, n.id, n.labels))),
    [all, condition, profile, text],
  )

  // Selected nodes by id: kept across filter changes, so "select all shown" can gather several filters.
  const [selected, setSelected] = useState<ReadonlySet<string>>(() => new Set())
  const toggle = (id: string, on: boolean): void =>
    setSelected((before) => {
      const next = new Set(before)
      if (on) next.add(id)
      else next.delete(id)
      return next
    })

  const columns = useMemo(
    (): Column<NodeView>[] => [
      {
        key: 'select',
        title: '',
        width: '2.5rem',
        narrowWidth: '2.75rem',
        render: (n) => (
          <label class="select-cell">
            <input
              type="checkbox"
              aria-label={`select ${n.id}`}
              checked={selected.has(n.id)}
              onChange={(e) => toggle(n.id, (e.currentTarget as HTMLInputElement).checked)}
            />
          </label>
        ),
      },
      {
        key: 'name',
        title: 'Node',
        width: 'minmax(9rem, 1.3fr)',
        narrowWidth: 'minmax(0, 1fr)',
        render: (n) => (
          <Link href={nodeHref(n.id)} class="node-link">
            {n.id}
          </Link>
        ),
        sortValue: (n) => n.id,
      },
      {
        key: 'condition',
        title: 'Condition',
        width: '7.5rem',
        narrowWidth: '5.8rem',
        render: (n) => (
          <>
            <ConditionBadge condition={n.condition} />
            {n.cordoned ? (
              <span class="badge muted" title="cordoned: takes no new work">
                cordoned
              </span>
            ) : null}
          </>
        ),
        sortValue: (n) => CONDITION_ORDER[n.condition.type],
      },
      { key: 'profile', title: 'Profile', width: 'minmax(7rem, 1fr)', render: (n) => n.profile, sortValue: (n) => n.profile },
      {
        key: 'labels',
        title: 'Labels',
        width: 'minmax(8rem, 1.5fr)',
        render: (n) => {
          const text = shownLabels(n.labels, n.profileLabels, chosen)
            .map(([key, value]) => `${key}=${value}`)
            .join(', ')
          return <span title={labelText(n.labels)}>{text}</span>
        },
      },
      {
        key: 'lastSeen',
        title: 'Last seen',
        width: '7rem',
        narrowWidth: '4.6rem',
        narrowTitle: 'Seen',
        render: (n) => <span title={n.lastSeenAt ?? 'never'}>{ago(n.lastSeenAt, now)}</span>,
        sortValue: (n) => -(n.lastSeenAt ? Date.parse(n.lastSeenAt) : 0),
      },
      {
        key: 'generation',
        title: 'Generation',
        width: '7.5rem',
        render: (n) => (
          <span
            class={n.generation.observed < n.generation.latest ? 'warn-text' : ''}
            title={`accepted ${n.generation.observed}, latest ${n.generation.latest}`}
          >
            {n.generation.observed} / {n.generation.latest}
          </span>
        ),
        sortValue: (n) => n.generation.observed - n.generation.latest,
      },
      {
        key: 'cpu',
        title: 'CPU',
        width: '7rem',
        render: (n) => <UsageBar kind="percent" used={n.usage?.cpuPercent ?? null} total={100} />,
        sortValue: (n) => n.usage?.cpuPercent ?? -1,
      },
      {
        key: 'memory',
        title: 'Memory',
        width: 'minmax(11.5rem, 1fr)',
        render: (n) => <UsageBar kind="bytes" used={n.usage?.memory.usedBytes ?? null} total={n.usage?.memory.totalBytes ?? null} />,
        sortValue: (n) => (n.usage ? n.usage.memory.usedBytes / Math.max(1, n.usage.memory.totalBytes) : -1),
      },
      {
        key: 'disk',
        title: 'Disk',
        width: 'minmax(11.5rem, 1fr)',
        render: (n) => <UsageBar kind="bytes" used={n.usage?.disk?.usedBytes ?? null} total={n.usage?.disk?.totalBytes ?? null} />,
        sortValue: (n) => (n.usage?.disk ? n.usage.disk.usedBytes / Math.max(1, n.usage.disk.totalBytes) : -1),
      },
      {
        key: 'workloads',
        title: 'Workloads',
        width: '7rem',
        narrowWidth: '4rem',
        narrowTitle: 'Runs',
        render: (n) => (
          <span class={n.workloads.running < n.workloads.total ? 'warn-text' : ''}>
            {n.workloads.running} / {n.workloads.total}
          </span>
        ),
        sortValue: (n) => n.workloads.total,
      },
    ],
    [now, chosen, selected],
  )

  const selectorError = nodes.error && selector ? nodes.error : null
  return (
    <div class="page nodes">
      <h1>Nodes</h1>
      <div class="filters" role="search">
        <SearchBox noun="node" invalid={selectorError !== null} placeholder="pi-17, factory-7, or site=factory-7, tier in (edge,gateway)" />
        <label>
          Condition
          <select aria-label="condition" value={condition} onChange={(e) => setQuery({ condition: (e.currentTarget as HTMLSelectElement).value || null })}>
            <option value="">any</option>
            {CONDITIONS.map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        </label>
        <label>
          Profile
          <select aria-label="profile" value={profile} onChange={(e) => setQuery({ profile: (e.currentTarget as HTMLSelectElement).value || null })}>
            <option value="">any</option>
            {[...new Set([...profiles, ...(profile ? [profile] : [])])].map((p) => (
              <option key={p} value={p}>
                {p}
              </option>
            ))}
          </select>
        </label>
        <LabelPicker keys={labelKeys} chosen={chosen} onChoose={choose} />
        <span class="count" data-testid="node-count" aria-live="polite">
          {nodes.data ? `${shown.length} of ${all.length} node${all.length === 1 ? '' : 's'}` : 'loading…'}
        </span>
      </div>
      <ErrorNote error={selectorError ?? nodes.error} prefix={selectorError ? 'selector' : 'nodes'} />
      <BulkActions
        selected={[...selected].sort()}
        shown={shown.length}
        onSelectShown={() => setSelected((before) => new Set([...before, ...shown.map((n) => n.id)]))}
        onClear={() => setSelected(new Set())}
      />
      <VirtualTable
        label="nodes"
        rows={shown}
        columns={columns}
        rowKey={(n) => n.id}
        rowClass={(n) => `cond-${n.condition.type.toLowerCase()}`}
        rowData={(n) => ({ 'data-node-id': n.id, 'data-condition': n.condition.type })}
        initialSort={{ key: 'name' }}
        empty={nodes.data ? (all.length === 0 ? 'No nodes match.' : 'No nodes match these filters.') : 'Loading…'}
      />
    </div>
  )
}
