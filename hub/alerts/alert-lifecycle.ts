import type { AlertCondition, AlertSubject } from './alert-rules.js'

/**
 * An alert as the hub keeps it (times in epoch ms, hub clock). `pending`: the condition holds
 * but not yet for its rule's duration (kept so a grace period survives a hub restart; never
 * shown). An alert is open until it is both resolved and acknowledged; a key has at most one
 * open alert.
 */
export interface AlertDraft extends AlertSubject {
  readonly state: 'pending' | 'firing' | 'resolved'
  /** Since when the condition has held in its current run; null while it does not. */
  readonly holdingSince: number | null
  readonly firedAt: number | null
  readonly resolvedAt: number | null
  readonly acknowledgedAt: number | null
  readonly acknowledgedBy: string | null
}

export interface AlertRecord extends AlertDraft {
  readonly id: number
}

/** Resolved and acknowledged: history, no longer listed by default. */
export const isClosed = (alert: Pick<AlertDraft, 'state' | 'acknowledgedAt'>): boolean => alert.state === 'resolved' && alert.acknowledgedAt !== null

/**
 * One key's open alert after an evaluation: pending → firing once the condition has held for
 * its rule's duration, firing → resolved when it clears (pending ones are dropped), and a
 * resolved alert whose condition comes back fires again, unacknowledged, instead of a second
 * alert for the same trouble. Null: no open alert. Pure.
 */
export function nextAlert(current: AlertDraft | null, condition: AlertCondition | null, now: number): AlertDraft | null {
  if (condition === null) {
    if (current === null || current.state === 'pending') return null
    if (current.state === 'firing') return { ...current, state: 'resolved', resolvedAt: now, holdingSince: null }
    return current.holdingSince === null ? current : { ...current, holdingSince: null }
  }
  const holdingSince = condition.since ?? current?.holdingSince ?? now
  const described = {
    key: condition.key,
    rule: condition.rule,
    severity: condition.severity,
    node: condition.node,
    deployment: condition.deployment,
    workload: condition.workload,
    message: condition.message,
  }
  if (current?.state === 'firing') return { ...current, ...described, holdingSince }
  if (now - holdingSince >= condition.forMs) {
    return { ...described, state: 'firing', holdingSince, firedAt: now, resolvedAt: null, acknowledgedAt: null, acknowledgedBy: null }
  }
  if (current === null || current.state === 'pending') {
    return { ...described, state: 'pending', holdingSince, firedAt: null, resolvedAt: null, acknowledgedAt: null, acknowledgedBy: null }
  }
  // Resolved, and the condition is back but has not held long enough: it stays resolved for now.
  return { ...current, holdingSince }
}

export interface AlertChanges {
  readonly insert: readonly AlertDraft[]
  readonly update: readonly AlertRecord[]
  readonly remove: readonly number[]
}

const same = (a: AlertDraft, b: AlertDraft): boolean =>
  a.state === b.state &&
  a.message === b.message &&
  a.severity === b.severity &&
  a.holdingSince === b.holdingSince &&
  a.firedAt === b.firedAt &&
  a.resolvedAt === b.resolvedAt &&
  a.acknowledgedAt === b.acknowledgedAt

/** What to write after one evaluation: every open alert and every condition, through nextAlert. Pure. */
export function alertChanges(open: readonly AlertRecord[], conditions: readonly AlertCondition[], now: number): AlertChanges {
  const byKey = new Map(open.map((alert) => [alert.key, alert]))
  const holding = new Map(conditions.map((condition) => [condition.key, condition]))
  const insert: AlertDraft[] = []
  const update: AlertRecord[] = []
  const remove: number[] = []
  for (const key of [...new Set([...byKey.keys(), ...holding.keys()])].sort()) {
    const current = byKey.get(key) ?? null
    const next = nextAlert(current, holding.get(key) ?? null, now)
    if (current === null) {
      if (next !== null) insert.push(next)
    } else if (next === null) remove.push(current.id)
    else if (!same(current, next)) update.push({ ...next, id: current.id })
  }
  return { insert, update, remove }
}
