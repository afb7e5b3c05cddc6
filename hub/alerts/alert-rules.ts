import type { AlertRule, AlertSeverity } from '../../protocol/api/index.js'

/**
 * When each rule fires; null turns a rule off. Durations are how long the condition must hold
 * (Prometheus' `for:`), percents how full a disk or memory must be in the latest heartbeat.
 */
export interface AlertSettings {
  readonly nodeOfflineMs: number | null
  readonly deploymentUnavailableMs: number | null
  readonly rolloutFailedMs: number | null
  readonly rolloutPausedMs: number | null
  readonly crashLoopMs: number | null
  readonly diskPercent: number | null
  readonly memoryPercent: number | null
}

/**
 * Defaults for a fleet at the edge: a node may drop off for a few minutes without anyone being
 * called; a rollout of a few waves fits in ten minutes; a crash loop already means repeated
 * failures, so it fires at once; a pause is an operator's own act until it is forgotten.
 */
export const DEFAULT_ALERT_SETTINGS: AlertSettings = {
  nodeOfflineMs: 5 * 60_000,
  deploymentUnavailableMs: 10 * 60_000,
  rolloutFailedMs: 0,
  rolloutPausedMs: 30 * 60_000,
  crashLoopMs: 0,
  diskPercent: 90,
  memoryPercent: 90,
}

export const RULE_SEVERITY = {
  NodeOffline: 'warning',
  DeploymentUnavailable: 'warning',
  RolloutFailed: 'critical',
  RolloutPaused: 'info',
  CrashLoop: 'warning',
  DiskNearFull: 'warning',
  MemoryNearFull: 'warning',
} as const satisfies Record<AlertRule, AlertSeverity>

/** What the rules read, gathered from the store by alert-facts.ts; times are epoch ms on the hub's clock. */
export interface AlertFacts {
  readonly nodes: readonly {
    readonly id: string
    readonly online: boolean
    /** Null for a node that never connected: it counts as offline since it enrolled. */
    readonly offlineSince: number | null
    readonly enrolledAt: number
    readonly memory: { readonly usedBytes: number; readonly totalBytes: number } | null
    readonly disk: { readonly usedBytes: number; readonly totalBytes: number } | null
  }[]
  readonly deployments: readonly { readonly name: string; readonly desired: number; readonly ready: number }[]
  readonly rollouts: readonly {
    readonly deployment: string
    readonly revision: number
    readonly failed: { readonly message: string; readonly since: number } | null
    /** Paused by an operator or waiting for a promotion (a timed canary pause goes on by itself). */
    readonly paused: { readonly message: string; readonly since: number } | null
  }[]
  readonly crashLoops: readonly { readonly nodeId: string; readonly workload: string; readonly deployment: string; readonly since: number }[]
}

/** What an alert is about, shared by a condition and the alert it becomes. */
export interface AlertSubject {
  /** One per rule and subject: the same trouble keeps its alert across evaluations. */
  readonly key: string
  readonly rule: AlertRule
  readonly severity: AlertSeverity
  readonly node: string | null
  readonly deployment: string | null
  readonly workload: string | null
  readonly message: string
}

/** A condition that holds now; it becomes (or stays) an alert once it has held for `forMs`. */
export interface AlertCondition extends AlertSubject {
  /** When the condition began, when the facts say; null: from when it was first seen. */
  readonly since: number | null
  readonly forMs: number
}

export const alertKey = (rule: AlertRule, ...subject: readonly (string | null)[]): string => [rule, ...subject.map((s) => s ?? '')].join('/')

function percentOf(usage: { readonly usedBytes: number; readonly totalBytes: number } | null): number | null {
  if (!usage || usage.totalBytes <= 0) return null
  return (usage.usedBytes / usage.totalBytes) * 100
}

type Draft = Omit<AlertCondition, 'key' | 'severity' | 'forMs' | 'node' | 'deployment' | 'workload'> &
  Partial<Pick<AlertCondition, 'node' | 'deployment' | 'workload'>>

/**
 * Every condition that holds now under the settings, sorted by key. Pure: the same facts give
 * the same conditions. How long each has held is decided by nextAlert (alert-lifecycle.ts).
 */
export function alertConditions(facts: AlertFacts, settings: AlertSettings): AlertCondition[] {
  const out: AlertCondition[] = []
  const add = (forMs: number | null, draft: Draft): void => {
    if (forMs === null) return
    const node = draft.node ?? null
    const deployment = draft.deployment ?? null
    const workload = draft.workload ?? null
    out.push({ ...draft, node, deployment, workload, key: alertKey(draft.rule, node, deployment, workload), severity: RULE_SEVERITY[draft.rule], forMs })
  }
  for (const node of facts.nodes) {
    if (!node.online) {
      const since = node.offlineSince ?? node.enrolledAt
      const message =
        node.offlineSince === null ? `node ${node.id} has not connected since it enrolled` : `node ${node.id} is offline since ${new Date(since).toISOString()}`
      add(settings.nodeOfflineMs, { rule: 'NodeOffline', node: node.id, message, since })
    }
    const disk = percentOf(node.disk)
    if (settings.diskPercent !== null && disk !== null && disk >= settings.diskPercent)
      add(0, { rule: 'DiskNearFull', node: node.id, message: `node ${node.id}: disk ${Math.round(disk)}% full`, since: null })
    const memory = percentOf(node.memory)
    if (settings.memoryPercent !== null && memory !== null && memory >= settings.memoryPercent)
      add(0, { rule: 'MemoryNearFull', node: node.id, message: `node ${node.id}: memory ${Math.round(memory)}% used`, since: null })
  }
  for (const deployment of facts.deployments) {
    if (deployment.ready >= deployment.desired) continue
    const message = `deployment ${deployment.name}: ${deployment.ready} of ${deployment.desired} copies ready`
    add(settings.deploymentUnavailableMs, { rule: 'DeploymentUnavailable', deployment: deployment.name, message, since: null })
  }
  for (const rollout of facts.rollouts) {
    if (rollout.failed) {
      const message = `rollout of ${rollout.deployment} revision ${rollout.revision} failed: ${rollout.failed.message}`
      add(settings.rolloutFailedMs, { rule: 'RolloutFailed', deployment: rollout.deployment, message, since: rollout.failed.since })
    }
    if (rollout.paused) {
      const message = `rollout of ${rollout.deployment} revision ${rollout.revision} is paused: ${rollout.paused.message}`
      add(settings.rolloutPausedMs, { rule: 'RolloutPaused', deployment: rollout.deployment, message, since: rollout.paused.since })
    }
  }
  for (const loop of facts.crashLoops) {
    const message = `${loop.workload} on ${loop.nodeId} is in a crash loop`
    add(settings.crashLoopMs, { rule: 'CrashLoop', node: loop.nodeId, deployment: loop.deployment, workload: loop.workload, message, since: loop.since })
  }
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
}
