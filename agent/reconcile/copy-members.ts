import {
  copyContainers,
  isPodTemplate,
  type ContainerStatus,
  type ContainerTemplate,
  type HealthState,
  type Workload,
  type WorkloadState,
} from '../../protocol/index.js'
import type { ContainerWorkload, ObservedContainer } from '../runtime/runtime.js'
import type { Hold } from './admission.js'
import { configHash } from './config-hash.js'

/**
 * A several-container copy runs as one container per member, each reconciled like a
 * one-container copy (pull, create, backoff, probes, values), named COPY.CONTAINER: a dot never
 * appears in a name otherwise, so a member's name says which copy it belongs to. What makes them
 * one copy is decided here, purely: their order (init containers one at a time, then the rest),
 * their shared network namespace, and one status for the hub.
 */
export const MEMBER_SEPARATOR = '.'

export interface CopyMember {
  /** The copy's name (the desired document's workload). */
  readonly copy: string
  /** The container's name in its copy; a one-container copy's is its deployment's. */
  readonly container: string
  readonly init: boolean
  /** Whether the copy has several containers (a one-container copy is its only member, under its own name). */
  readonly grouped: boolean
  readonly workload: ContainerWorkload
  /**
   * Hashed over the whole copy, so any change to it recreates every container and runs the init
   * containers again, as a new pod would.
   */
  readonly configHash: string
  /** The member whose network namespace this one joins: the copy's first container, on bridge or none. */
  readonly joins?: string
}

export function memberName(copy: string, container: string): string {
  return `${copy}${MEMBER_SEPARATOR}${container}`
}

/** The copy a container's workload name belongs to, and the container's name in it; null for a one-container copy. */
export function splitMemberName(name: string): { readonly copy: string; readonly container: string } | null {
  const at = name.indexOf(MEMBER_SEPARATOR)
  return at < 0 ? null : { copy: name.slice(0, at), container: name.slice(at + 1) }
}

/** The containers the node runs for a copy, in order: init containers first. Pure. */
export function copyMembers(workload: Workload, nodeId: string): CopyMember[] {
  const { fallback: _fallback, prefetch: _prefetch, ...copy } = workload
  if (!isPodTemplate(workload.template)) {
    const single = { ...copy, template: workload.template }
    return [{ copy: workload.name, container: workload.deployment, init: false, grouped: false, workload: single, configHash: configHash(single, nodeId) }]
  }
  const containers = copyContainers(workload.template, workload.deployment)
  const mains = containers.filter((c) => !c.init)
  const holder = mains[0]
  const shared = workload.template.network !== 'host' && holder !== undefined
  // Docker publishes ports only on the container that owns the namespace: the others' go there.
  const ports: NonNullable<ContainerTemplate['ports']> = shared ? mains.flatMap((c) => c.template.ports ?? []) : []
  return containers.map((container): CopyMember => {
    const name = memberName(workload.name, container.name)
    const isHolder = container === holder
    const joins = shared && !container.init && !isHolder ? memberName(workload.name, holder.name) : undefined
    const { ports: own, ...fields } = container.template
    const template =
      shared && !container.init ? { ...fields, ...(isHolder && ports.length > 0 ? { ports } : {}) } : { ...fields, ...(own ? { ports: own } : {}) }
    return {
      copy: workload.name,
      container: container.name,
      init: container.init,
      grouped: true,
      workload: { ...copy, name, template },
      configHash: configHash({ ...workload, name }, nodeId),
      ...(joins !== undefined ? { joins } : {}),
    }
  })
}

/**
 * The hash a member's container must carry now. A member that joins another's network namespace
 * also hashes that container's id and start: a container joined to a namespace stays in it, so
 * when the first container is replaced or restarted (a new namespace) the others are recreated
 * into the new one.
 */
export function memberHash(member: CopyMember, observed: readonly ObservedContainer[]): string {
  if (member.joins === undefined) return member.configHash
  const holder = observed.find((c) => c.workload === member.joins && c.state === 'running')
  return holder ? `${member.configHash.slice(0, 8)}${shortHash(`${holder.id}@${holder.startedAt ?? ''}`)}` : member.configHash
}

function shortHash(text: string): string {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0
  return hash.toString(16).padStart(8, '0')
}

/**
 * What each member of a several-container copy waits for: an init container for the one before
 * it to have exited 0, the other containers for every init container, and a container that joins
 * the first one's namespace for it to run. Pure; holds are by member name.
 */
export function orderHolds(members: readonly CopyMember[], observed: readonly ObservedContainer[], hashes: ReadonlyMap<string, string>): Map<string, Hold> {
  const holds = new Map<string, Hold>()
  const current = (member: CopyMember): ObservedContainer | undefined =>
    observed.find((c) => c.workload === member.workload.name && c.configHash === hashes.get(member.workload.name))
  const byCopy = new Map<string, CopyMember[]>()
  for (const member of members) if (member.grouped) byCopy.set(member.copy, [...(byCopy.get(member.copy) ?? []), member])
  for (const copy of byCopy.values()) {
    let blocker: string | null = null
    for (const member of copy) {
      if (blocker !== null) {
        holds.set(member.workload.name, { kind: 'waiting', reason: `waiting for init container ${blocker}`, missing: [] })
        continue
      }
      if (member.init) {
        const container = current(member)
        if (!(container?.state === 'exited' && container.exitCode === 0)) blocker = member.container
        continue
      }
      if (member.joins !== undefined) {
        const holder = copy.find((m) => m.workload.name === member.joins)
        const running = holder !== undefined && current(holder)?.state === 'running'
        if (!running)
          holds.set(member.workload.name, { kind: 'waiting', reason: `waiting for container ${holder?.container ?? member.joins} (its network)`, missing: [] })
      }
    }
  }
  return holds
}

/**
 * The holds of every member: a copy with a container the node's policy refuses is refused whole
 * (none of it runs); otherwise a member's own hold (a missing device) comes before its order's.
 */
export function copyHolds(members: readonly CopyMember[], admission: ReadonlyMap<string, Hold>, order: ReadonlyMap<string, Hold>): Map<string, Hold> {
  const holds = new Map<string, Hold>()
  const refusedCopies = new Map<string, Hold>()
  for (const member of members) {
    const hold = admission.get(member.workload.name)
    if (hold?.kind === 'refused' && !refusedCopies.has(member.copy)) refusedCopies.set(member.copy, hold)
  }
  for (const member of members) {
    const hold = refusedCopies.get(member.copy) ?? admission.get(member.workload.name) ?? order.get(member.workload.name)
    if (hold) holds.set(member.workload.name, hold)
  }
  return holds
}

/**
 * Whose log a request for `container` of `copy` reads: the copy's own container, or the named one
 * of a several-container copy (its first main container when none is named); an error naming the
 * containers there are when there is no such container. A copy the document no longer holds is
 * looked up by name alone (its container may still be there).
 */
export function logWorkload(
  copies: readonly Workload[],
  copy: string,
  container: string | undefined,
): { readonly workload: string } | { readonly error: string } {
  const workload = copies.find((w) => w.name === copy)
  if (!workload) return { workload: container === undefined ? copy : memberName(copy, container) }
  const containers = copyContainers(workload.template, workload.deployment)
  if (!isPodTemplate(workload.template)) {
    if (container === undefined || container === workload.deployment) return { workload: copy }
    return { error: `${copy} has one container, ${workload.deployment}; it has no container ${container}` }
  }
  const chosen = container ?? containers.find((c) => !c.init)?.name
  if (chosen === undefined || !containers.some((c) => c.name === chosen))
    return { error: `${copy} has no container ${chosen}; its containers: ${containers.map((c) => c.name).join(', ')}` }
  return { workload: memberName(copy, chosen) }
}

/** One container's part in its copy's status. */
export interface MemberReport {
  readonly member: CopyMember
  readonly state: WorkloadState
  readonly health: HealthState
  readonly ready: boolean
  readonly restarts: number
  readonly exitCode: number | null
  readonly message: string | null
}

export interface CopyReport extends Omit<MemberReport, 'member'> {
  /** The member the copy's state is taken from. */
  readonly from: CopyMember
  readonly containers: ContainerStatus[]
}

/** Worst first: the state a copy shows is its worst container's. */
const STATE_ORDER: readonly WorkloadState[] = ['failed', 'crash-loop', 'exited', 'stopped', 'pull-deferred', 'pulling', 'pending', 'starting', 'running']
const HEALTH_ORDER: readonly HealthState[] = ['unhealthy', 'starting', 'healthy', 'none']

/**
 * One status for a several-container copy, from its members' in their order. While an init
 * container has not exited 0, the copy is where that init container is (starting, or failing
 * with its exit code); after, it is its worst container. Ready when every container is. Pure.
 */
export function foldCopy(reports: readonly MemberReport[]): CopyReport {
  const first = reports[0]
  if (first === undefined) throw new RangeError('a copy has at least one container')
  const containers = reports.map(containerStatus)
  const restarts = reports.reduce((sum, r) => sum + r.restarts, 0)
  const pendingInit = reports.find((r) => r.member.init && !(r.state === 'exited' && r.exitCode === 0))
  if (pendingInit) {
    const failing = pendingInit.state === 'failed' || pendingInit.state === 'crash-loop' || pendingInit.state === 'pulling'
    const detail = pendingInit.message ?? (pendingInit.exitCode !== null ? `exited with code ${pendingInit.exitCode}` : pendingInit.state)
    return {
      state: failing ? pendingInit.state : pendingInit.state === 'pending' ? 'pending' : 'starting',
      health: 'none',
      ready: false,
      restarts,
      exitCode: pendingInit.exitCode,
      message: `init container ${pendingInit.member.container}: ${detail}`,
      from: pendingInit.member,
      containers,
    }
  }
  const mains = reports.filter((r) => !r.member.init)
  const worst = [...mains].sort((a, b) => STATE_ORDER.indexOf(a.state) - STATE_ORDER.indexOf(b.state))[0] ?? first
  const health = [...mains].map((r) => r.health).sort((a, b) => HEALTH_ORDER.indexOf(a) - HEALTH_ORDER.indexOf(b))[0] ?? 'none'
  const explained = worst.message !== null ? worst : mains.find((r) => r.message !== null)
  return {
    state: worst.state,
    health,
    ready: mains.every((r) => r.ready),
    restarts,
    exitCode: worst.exitCode,
    message: explained?.message ? `${explained.member.container}: ${explained.message}` : null,
    from: worst.member,
    containers,
  }
}

function containerStatus(report: MemberReport): ContainerStatus {
  return {
    name: report.member.container,
    init: report.member.init,
    state: report.state,
    health: report.health,
    ready: report.ready,
    restarts: report.restarts,
    ...(report.exitCode !== null ? { exitCode: report.exitCode } : {}),
    ...(report.message ? { message: report.message.slice(0, 500) } : {}),
  }
}
