import type { ContainerWorkload, ObservedContainer } from '../runtime/runtime.js'
import { shouldRestart } from './crash-policy.js'

/** A workload the node must run, with the hash its container must carry. */
export interface DesiredWorkload {
  readonly workload: ContainerWorkload
  /** The workload whose container's network namespace this one joins (see copy-members.ts). */
  readonly joins?: string
  readonly configHash: string
}

/** What the plan needs to know about a workload's past: when it may next be (re)started or pulled. */
export interface WorkloadTiming {
  readonly backoffUntil: number
}

export interface PlanInput {
  readonly desired: readonly DesiredWorkload[]
  readonly observed: readonly ObservedContainer[]
  readonly timing: ReadonlyMap<string, WorkloadTiming>
  readonly imagesPresent: ReadonlySet<string>
  /**
   * True while the hub's document is unknown (say, a fresh database after corruption): the
   * agent then keeps containers it finds rather than removing what it cannot account for.
   */
  readonly keepUnknown: boolean
  readonly now: number
  /** Workloads the node will not run as they stand (admission.ts); absent: none. */
  readonly held?: ReadonlyMap<string, HoldKind>
}

/** refused: none of it may run; waiting: not started until what it waits for is there. */
export type HoldKind = 'refused' | 'waiting'

/** One action for the executor; each names its workload so results can be attributed. */
export type Step =
  | { readonly kind: 'pull'; readonly workload: string; readonly image: string }
  | { readonly kind: 'create'; readonly workload: string }
  | { readonly kind: 'start'; readonly workload: string; readonly containerId: string | null }
  | { readonly kind: 'stop'; readonly workload: string; readonly containerId: string }
  | { readonly kind: 'remove'; readonly workload: string; readonly containerId: string; readonly reason: RemoveReason }
  | { readonly kind: 'recreate'; readonly workload: string; readonly containerId: string }
  | { readonly kind: 'wait'; readonly workload: string; readonly until: number; readonly reason: 'restart-backoff' | 'pull-backoff' | 'pull-deferred' }

export type RemoveReason = 'not-desired' | 'duplicate' | 'refused'
export type StepKind = Step['kind']

/**
 * The pure heart of the agent: from what should run and what does, the steps that close the
 * gap. Level-triggered: it looks at the whole state every time, so a missed event heals.
 */
export function planSteps(input: PlanInput): Step[] {
  const steps: Step[] = []
  const desiredNames = new Set(input.desired.map((d) => d.workload.name))
  const byWorkload = groupByWorkload(input.observed)

  if (!input.keepUnknown) {
    const unknown = input.observed.filter((container) => !desiredNames.has(container.workload))
    for (const container of unknown.sort((a, b) => byCodeUnit(a.workload, b.workload) || byCodeUnit(a.id, b.id))) {
      steps.push({ kind: 'remove', workload: container.workload, containerId: container.id, reason: 'not-desired' })
    }
  }

  for (const { workload, configHash } of [...input.desired].sort((a, b) => byCodeUnit(a.workload.name, b.workload.name))) {
    const containers = rankContainers(byWorkload.get(workload.name) ?? [], configHash)
    const hold = input.held?.get(workload.name)
    if (hold === 'refused') {
      for (const container of containers) steps.push({ kind: 'remove', workload: workload.name, containerId: container.id, reason: 'refused' })
      continue
    }
    const [keep, ...extras] = containers
    for (const extra of extras) steps.push({ kind: 'remove', workload: workload.name, containerId: extra.id, reason: 'duplicate' })
    steps.push(...(hold === 'waiting' ? stepsWhileWaiting(workload, configHash, keep, input) : stepsForWorkload(workload, configHash, keep, input)))
  }
  return steps
}

/**
 * A workload waiting for a device gets its image ahead of time, so it starts as soon as the
 * device is back, and nothing else: no create, start or recreate would succeed without the device.
 */
function stepsWhileWaiting(workload: ContainerWorkload, configHash: string, container: ObservedContainer | undefined, input: PlanInput): Step[] {
  const needsImage = container === undefined || container.configHash !== configHash
  if (!needsImage || input.imagesPresent.has(workload.template.image)) return []
  const backoffUntil = input.timing.get(workload.name)?.backoffUntil ?? 0
  if (backoffUntil > input.now) return [{ kind: 'wait', workload: workload.name, until: backoffUntil, reason: 'pull-backoff' }]
  return [{ kind: 'pull', workload: workload.name, image: workload.template.image }]
}

function stepsForWorkload(workload: ContainerWorkload, configHash: string, container: ObservedContainer | undefined, input: PlanInput): Step[] {
  const name = workload.name
  const backoffUntil = input.timing.get(name)?.backoffUntil ?? 0
  const needsImage = container === undefined || container.configHash !== configHash
  if (needsImage && !input.imagesPresent.has(workload.template.image)) {
    if (backoffUntil > input.now) return [{ kind: 'wait', workload: name, until: backoffUntil, reason: 'pull-backoff' }]
    const pull: Step = { kind: 'pull', workload: name, image: workload.template.image }
    return container === undefined
      ? [pull, { kind: 'create', workload: name }, { kind: 'start', workload: name, containerId: null }]
      : [pull, { kind: 'recreate', workload: name, containerId: container.id }]
  }
  if (container === undefined)
    return [
      { kind: 'create', workload: name },
      { kind: 'start', workload: name, containerId: null },
    ]
  if (container.configHash !== configHash) return [{ kind: 'recreate', workload: name, containerId: container.id }]
  switch (container.state) {
    case 'running':
    case 'restarting':
    case 'removing':
    case 'paused':
      return []
    case 'created':
      return [{ kind: 'start', workload: name, containerId: container.id }]
    case 'exited':
      if (!shouldRestart(workload.template.restartPolicy, container.exitCode)) return []
      if (backoffUntil > input.now) return [{ kind: 'wait', workload: name, until: backoffUntil, reason: 'restart-backoff' }]
      return [{ kind: 'start', workload: name, containerId: container.id }]
    case 'dead': {
      // The engine refuses to start a dead container ("marked for removal and cannot be
      // started"): it can only be replaced, so a restart means a recreate.
      if (!shouldRestart(workload.template.restartPolicy, container.exitCode)) return []
      if (backoffUntil > input.now) return [{ kind: 'wait', workload: name, until: backoffUntil, reason: 'restart-backoff' }]
      const recreate: Step = { kind: 'recreate', workload: name, containerId: container.id }
      return input.imagesPresent.has(workload.template.image) ? [recreate] : [{ kind: 'pull', workload: name, image: workload.template.image }, recreate]
    }
    default: {
      const unreachable: never = container.state
      throw new Error(`unknown container state ${String(unreachable)}`)
    }
  }
}

function groupByWorkload(observed: readonly ObservedContainer[]): Map<string, ObservedContainer[]> {
  const groups = new Map<string, ObservedContainer[]>()
  for (const container of observed) {
    const group = groups.get(container.workload) ?? []
    group.push(container)
    groups.set(container.workload, group)
  }
  return groups
}

/** The container to keep comes first: matching config, then running, then the most recently started. */
function rankContainers(containers: readonly ObservedContainer[], configHash: string): ObservedContainer[] {
  const score = (c: ObservedContainer): number => (c.configHash === configHash ? 2 : 0) + (c.state === 'running' ? 1 : 0)
  return [...containers].sort((a, b) => score(b) - score(a) || byCodeUnit(b.startedAt ?? '', a.startedAt ?? '') || byCodeUnit(a.id, b.id))
}

/** Locale-independent order, so the same state plans the same steps on every machine. */
function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
