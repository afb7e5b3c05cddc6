import { useState } from 'preact/hooks'
import type { NodeDetail, WorkloadStatusView } from '../api/types'
import { ConditionBadge, Empty, ErrorNote, Loading, Section, StateBadge, UsageBar } from '../components/bits'
import { EventsList } from '../components/events-list'
import { LabelsEditor } from '../components/labels-editor'
import { LogViewer, type LogTarget } from '../components/log-viewer'
import { ObjectVersions, hasObjectVersions } from '../components/object-versions'
import { nodeChoices } from '../components/terminal-choices'
import { TerminalPanel } from '../components/terminal-panel'
import { ago, bytes, cores, localTime } from '../format'
import { useLive, useNow, useResource } from '../live'
import { Link, deploymentHref, sessionsHref } from '../router'

type Traffic = NonNullable<NodeDetail['usage']>['traffic']

/** This month's bytes against the budget (a bar), else the bytes alone; each category in the tooltip. */
function TrafficUsage(props: { traffic: Traffic }) {
  const traffic = props.traffic
  if (!traffic) return <span class="muted">–</span>
  const used = Object.values(traffic.bytes).reduce((sum, n) => sum + n, 0)
  const parts = Object.entries(traffic.bytes)
    .map(([category, n]) => `${category} ${bytes(n)}`)
    .join(', ')
  return (
    <span title={`${traffic.month}: ${parts}`}>
      {traffic.budgetBytes !== undefined ? <UsageBar kind="bytes" used={used} total={traffic.budgetBytes} /> : `${bytes(used)} (no budget)`}
      <span class="muted"> {traffic.month}</span>
    </span>
  )
}

export function NodePage(props: { id: string }) {
  const { client } = useLive()
  const now = useNow(1000)
  const node = useResource(`node/${props.id}`, () => client.node(props.id), {
    when: (c) => (c.type === 'node' || c.type === 'event') && c.nodeId === props.id,
    minIntervalMs: 750,
  })
  const [actionError, setActionError] = useState<Error | null>(null)
  const [busy, setBusy] = useState(false)
  const [notice, setNotice] = useState<string | null>(null)

  if (!node.data) {
    return (
      <div class="page">
        <h1>{props.id}</h1>
        {node.error ? <ErrorNote error={node.error} /> : <Loading />}
      </div>
    )
  }
  const n = node.data

  const act = async (action: () => Promise<string | null>): Promise<void> => {
    setBusy(true)
    setActionError(null)
    setNotice(null)
    try {
      setNotice(await action())
      node.reload()
    } catch (e) {
      setActionError(e instanceof Error ? e : new Error(String(e)))
    } finally {
      setBusy(false)
    }
  }
  const setCordoned = (cordoned: boolean): Promise<void> => act(async () => (await client.patchNode(n.id, { cordoned }), null))
  const drain = (): Promise<void> =>
    act(async () => {
      const result = await client.drainNode(n.id)
      const moved = result.evicted.map((e) => `${e.workload} → ${e.movedTo ?? 'pending'}`)
      return `Drained: ${moved.length ? `moved ${moved.join(', ')}` : 'no replicated copies to move'}${result.kept.length ? `; kept ${result.kept.map((k) => k.workload).join(', ')} (every-node)` : ''}.`
    })

  return (
    <div class={`page node cond-${n.condition.type.toLowerCase()}`} data-node-id={n.id}>
      <header class="page-head">
        <h1>
          {n.id} <ConditionBadge condition={n.condition} />
          {n.cordoned ? <span class="badge muted">cordoned</span> : null}
        </h1>
        <div class="toolbar">
          {n.cordoned ? (
            <button type="button" disabled={busy} onClick={() => void setCordoned(false)}>
              Uncordon
            </button>
          ) : (
            <button type="button" disabled={busy} onClick={() => void setCordoned(true)} title="take no new work; what runs keeps running">
              Cordon
            </button>
          )}
          <button type="button" disabled={busy} onClick={() => void drain()} title="cordon, and move replicated workloads to other nodes">
            Drain
          </button>
        </div>
      </header>
      <ErrorNote error={actionError} />
      {notice ? (
        <p class="notice" role="status">
          {notice}
        </p>
      ) : null}
      <ErrorNote error={node.error} prefix="could not refresh" />
      <p class="condition-line" data-testid="condition-line">
        {n.condition.type === 'Offline'
          ? `Offline${n.offlineSince ? ` since ${localTime(n.offlineSince)} (${ago(n.offlineSince, now)})` : ''}`
          : n.condition.type === 'Degraded'
            ? `Degraded: ${n.condition.reasons.join('; ')}`
            : `Ready${n.condition.reasons.length ? `: ${n.condition.reasons.join('; ')}` : ''}`}
        {' · '}last seen {ago(n.lastSeenAt, now)}
      </p>

      <div class="grid-3">
        <Section title="Status">
          <dl class="facts">
            <dt>Profile</dt>
            <dd>{n.profile}</dd>
            <dt>Arch</dt>
            <dd>{n.arch}</dd>
            <dt>Generation</dt>
            <dd class={n.generation.observed < n.generation.latest ? 'warn-text' : ''}>
              accepted {n.generation.observed} of {n.generation.latest}
            </dd>
            <dt>CPU</dt>
            <dd>
              <UsageBar kind="percent" used={n.usage?.cpuPercent ?? null} total={100} />
            </dd>
            <dt>Memory</dt>
            <dd>
              <UsageBar kind="bytes" used={n.usage?.memory.usedBytes ?? null} total={n.usage?.memory.totalBytes ?? null} />
            </dd>
            <dt>Disk</dt>
            <dd>
              <UsageBar kind="bytes" used={n.usage?.disk?.usedBytes ?? null} total={n.usage?.disk?.totalBytes ?? null} />
            </dd>
            <dt>Outbox</dt>
            <dd>{n.usage ? `${n.usage.outboxDepth} record(s) waiting` : '–'}</dd>
            <dt>Traffic</dt>
            <dd data-traffic>
              <TrafficUsage traffic={n.usage?.traffic} />
            </dd>
            <dt>Enrolled</dt>
            <dd title={n.createdAt}>{ago(n.createdAt, now)}</dd>
          </dl>
        </Section>
        <Section title="Labels">
          <LabelsEditor
            labels={n.labels}
            onSave={async (changes) => {
              await client.patchNode(n.id, { labels: changes })
              node.reload()
            }}
          />
          {n.capabilities.length > 0 ? <p class="muted">Capabilities: {n.capabilities.join(', ')}</p> : null}
        </Section>
        <Section title="Inventory">
          <Inventory node={n} />
        </Section>
      </div>

      <Section title="Devices and policy">
        <DevicesAndPolicy node={n} />
      </Section>
      <Section title="Workloads">
        <Workloads node={n} now={now} />
      </Section>
      <Section title="Logs">
        <LogViewer nodeId={n.id} targets={logTargets(n)} nodeOnline={n.online} />
      </Section>
      <Section
        title="Terminal"
        actions={
          <Link href={sessionsHref(n.id)} class="button">
            Sessions on this node
          </Link>
        }
      >
        <TerminalPanel choices={nodeChoices(n)} pick="workload" empty="No workloads on this node, so nowhere to open a terminal." offline={!n.online} />
      </Section>
      <Section title="Events">
        <EventsList events={n.events} showNode={false} limit={50} />
      </Section>
    </div>
  )
}

function logTargets(n: NodeDetail): LogTarget[] {
  const targets = new Map<string, LogTarget>()
  for (const p of n.placements) targets.set(p.workload, { workload: p.workload, deployment: p.deployment })
  for (const w of n.workloadStatus) if (!targets.has(w.name)) targets.set(w.name, { workload: w.name, deployment: w.deployment })
  return [...targets.values()]
}

function Inventory(props: { node: NodeDetail }) {
  const inv = props.node.inventory
  const cap = props.node.capacity
  return (
    <dl class="facts">
      <dt>Hostname</dt>
      <dd>{inv.hostname}</dd>
      <dt>Hardware</dt>
      <dd>{[inv.hardware.manufacturer, inv.hardware.model].filter(Boolean).join(' ') || '–'}</dd>
      <dt>CPU</dt>
      <dd>
        {inv.cpu.cores} × {inv.cpu.model}
        {inv.cpu.speedGHz ? ` @ ${inv.cpu.speedGHz} GHz` : ''}
      </dd>
      <dt>Memory</dt>
      <dd>{bytes(inv.memoryBytes)}</dd>
      <dt>Schedulable</dt>
      <dd>
        {cores(cap.cpuMillis - props.node.reserved.cpuMillis)} CPU, {bytes(cap.memoryBytes - props.node.reserved.memoryBytes)}
        {cap.gpus ? `, ${cap.gpus} GPU` : ''}
      </dd>
      <dt>Disks</dt>
      <dd>{inv.disks.length ? inv.disks.map((d) => `${d.mount} ${bytes(d.sizeBytes)}${d.type ? ` (${d.type})` : ''}`).join(', ') : '–'}</dd>
      <dt>OS</dt>
      <dd>
        {inv.os.distro} {inv.os.release} · {inv.os.kernel}
      </dd>
      <dt>Runtime</dt>
      <dd>{inv.runtime ? `${inv.runtime.name} ${inv.runtime.version}` : 'none found'}</dd>
      {inv.gpus.length > 0 ? (
        <>
          <dt>GPUs</dt>
          <dd>{inv.gpus.map((g) => `${g.vendor} ${g.model}`).join(', ')}</dd>
        </>
      ) : null}
    </dl>
  )
}

/** What the node has plugged in and what it lets containers have: the scheduler places nothing it would refuse. */
function DevicesAndPolicy(props: { node: NodeDetail }) {
  const { devices, policy } = props.node
  const list = (items: readonly string[]): string => (items.length > 0 ? items.join(', ') : 'none')
  return (
    <dl class="facts" data-testid="devices-policy">
      <dt>Devices</dt>
      <dd data-testid="devices">{devices === null ? 'not reported (an agent from before devices)' : list(devices)}</dd>
      <dt>Privileged</dt>
      <dd>{policy.privileged ? 'allowed' : 'not allowed'}</dd>
      <dt>Capabilities</dt>
      <dd>{list(policy.capabilities)}</dd>
      <dt>Host paths</dt>
      <dd>{list(policy.hostPaths.map((rule) => `${rule.path} (${rule.readOnly ? 'read-only' : 'read-write'})`))}</dd>
      <dt>Device patterns</dt>
      <dd>{list(policy.devices)}</dd>
      {policy.reported ? null : (
        <dd class="muted" data-testid="policy-default">
          The default policy: this node never reported one.
        </dd>
      )}
    </dl>
  )
}

function Workloads(props: { node: NodeDetail; now: number }) {
  const { node, now } = props
  const byName = new Map<string, WorkloadStatusView>(node.workloadStatus.map((w) => [w.name, w]))
  const names = [...new Set([...node.placements.map((p) => p.workload), ...node.workloadStatus.map((w) => w.name)])].sort()
  if (names.length === 0) return <Empty>No workloads placed on this node.</Empty>
  const placed = new Set(node.placements.map((p) => p.workload))
  const versioned = node.workloadStatus.some(hasObjectVersions)
  return (
    <table class="table" aria-label="workloads">
      <thead>
        <tr>
          <th>Workload</th>
          <th>Deployment</th>
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
        {names.map((name) => {
          const status = byName.get(name)
          const placement = node.placements.find((p) => p.workload === name)
          return (
            <tr key={name} data-workload={name}>
              <td>
                {name}
                {!placed.has(name) ? (
                  <span class="badge muted" title="no longer placed here; the agent is removing it">
                    leaving
                  </span>
                ) : null}
              </td>
              <td>
                <Link href={deploymentHref(status?.deployment ?? placement?.deployment ?? name)}>{status?.deployment ?? placement?.deployment}</Link>
              </td>
              <td>
                <StateBadge state={status?.state ?? 'no report yet'} />
              </td>
              <td>{status?.health ?? '–'}</td>
              <td data-testid="ready">{status?.ready === undefined ? '–' : status.ready ? 'yes' : 'no'}</td>
              <td class="num">{status?.restarts ?? '–'}</td>
              <td class="num">{status?.revision ?? '–'}</td>
              <td title={status ? `the node's clock said ${status.since}` : undefined}>{status ? ago(status.hubSince ?? status.since, now) : '–'}</td>
              {versioned ? (
                <td data-testid="object-versions">
                  <ObjectVersions status={status} />
                </td>
              ) : null}
              <td class="clip" title={status?.message}>
                {status?.message ?? (status?.exitCode !== undefined ? `exit code ${status.exitCode}` : '')}
              </td>
            </tr>
          )
        })}
      </tbody>
    </table>
  )
}
