import { durationMs, resolveCountOrPercent, type PrefetchState, type RolloutStrategy } from '../../protocol/index.js'
import { canaryMembers, describeStep } from './canary-steps.js'
import { evaluateCopy, type CopyGate } from './copy-gate.js'
import { rolloutConditions } from './rollout-conditions.js'
import type { CopyPlan, RolloutCopy, RolloutEvent, RolloutFailure, RolloutInput, RolloutPlan, RolloutRecord, StepHold } from './rollout-types.js'

/** One copy while a step is being worked out. */
type Work = { -readonly [K in keyof CopyGate]: CopyGate[K] } & {
  readonly copy: RolloutCopy
  revision: number
  wave: string | null
  waiting: string | null
}

/**
 * The rollout controller's decision, with no I/O: given a deployment, its stored rollout, its
 * copies (where they run, which revision the hub assigned, what the agents report) and the time,
 * it returns which revision every copy runs now, the rollout's new record, and what to announce.
 *
 * A copy being replaced is down until it passes the gate, so copies move to the new revision
 * only while fewer than maxUnavailable are down (copies already down move for free), one canary
 * step or one `partitionBy` value at a time. Offline copies are neither counted nor waited for:
 * they move last, and their agents take the revision when they return. Failures past the
 * threshold, or no progress for progressDeadline, fail the rollout; with `rollback.auto` every
 * copy returns to the last fully available revision.
 */
export function planRollout(input: RolloutInput): RolloutPlan {
  const { deployment, copies, now } = input
  const { strategy } = deployment
  const events: RolloutEvent[] = []
  let record = begin(input, events)
  const target = record.revision
  const minReadyMs = strategy.minReadySeconds * 1000
  const initial = record.phase === 'complete' || record.stableRevision === null ? target : record.stableRevision
  const work: Work[] = copies.map((copy) => {
    // A surge copy exists only to carry the new revision while old ones are replaced.
    const revision = copy.assigned ?? (copy.surge ? target : initial)
    return { copy, revision, wave: null, waiting: null, ...evaluateCopy(copy, revision, target, minReadyMs, now) }
  })
  const maxUnavailable = budgetFor(strategy, copies.filter((c) => !c.surge).length)
  let hold: StepHold = null

  if (record.phase === 'progressing') {
    const updatedNow = work.filter((w) => w.gate === 'updated').length
    if (updatedNow > record.updated) record = { ...record, updated: updatedNow, lastProgressAt: now }
    const failure = detectFailure(record, strategy, work, now)
    if (failure !== null) {
      record = fail(record, failure, strategy, work, events)
    } else {
      const advanced = advance(record, strategy, work, maxUnavailable, now, events)
      record = advanced.record
      hold = advanced.hold
    }
  } else if (record.phase === 'failed' && record.failure?.rolledBack && record.stableRevision !== null) {
    // New copies placed after the rollback (a node joined, a copy moved) run the stable revision too.
    for (const w of work) moveTo(w, record.stableRevision, target)
  }

  const plans: CopyPlan[] = work.map((w) => ({
    key: w.copy.key,
    nodeId: w.copy.nodeId,
    revision: w.revision,
    readySince: w.readySince,
    gate: w.gate,
    reason: w.waiting ?? w.reason,
    wave: w.wave,
    prefetch: strategy.prefetch === true && w.revision !== target ? prefetchOf(w, target) : null,
  }))
  const counts = {
    total: work.length,
    updated: work.filter((w) => w.gate === 'updated').length,
    available: work.filter((w) => w.available).length,
    maxUnavailable,
  }
  record = { ...record, conditions: rolloutConditions(record, counts, hold, strategy.steps?.length ?? 0, now) }
  return { record, copies: plans, events, wakeAt: wakeAt(record, strategy, work, hold, minReadyMs), hold: record.phase === 'progressing' ? hold : null }
}

/**
 * The budget of copies down at once: percentages round down, and never below one unless surge
 * copies stand in (maxUnavailable 0 with maxSurge 1: never fewer than all copies available).
 */
export function budgetFor(strategy: RolloutStrategy, total: number): number {
  const unavailable = resolveCountOrPercent(strategy.maxUnavailable, total)
  return surgeFor(strategy, total) > 0 ? unavailable : Math.max(1, unavailable)
}

/** Extra copies of the new revision a replicated rollout may run (percentages round up). */
export function surgeFor(strategy: RolloutStrategy, replicas: number): number {
  return strategy.maxSurge === undefined ? 0 : resolveCountOrPercent(strategy.maxSurge, replicas, true)
}

/** Continues the stored rollout, or starts one when the deployment has a revision it has not rolled out. */
function begin(input: RolloutInput, events: RolloutEvent[]): RolloutRecord {
  const { deployment, record: prior, copies, now } = input
  if (prior !== null && prior.revision === deployment.revision) return prior
  const stableRevision = prior === null ? inferStable(copies, deployment.revision) : prior.phase === 'complete' ? prior.revision : prior.stableRevision
  if (prior !== null && prior.phase === 'progressing') {
    events.push({
      type: 'RolloutSuperseded',
      severity: 'info',
      message: `revision ${deployment.revision} replaces the rollout of revision ${prior.revision}`,
      data: { revision: prior.revision },
    })
  }
  const from = stableRevision === null ? '' : ` from revision ${stableRevision}`
  events.push({
    type: 'RolloutStarted',
    severity: 'info',
    message: `rolling out revision ${deployment.revision}${from} (${deployment.strategy.type}, maxUnavailable ${deployment.strategy.maxUnavailable})`,
    data: { revision: deployment.revision, stableRevision },
  })
  return {
    deployment: deployment.name,
    revision: deployment.revision,
    stableRevision: stableRevision === deployment.revision ? null : stableRevision,
    phase: 'progressing',
    paused: prior?.paused ?? false,
    step: 0,
    stepDoneAt: null,
    promoted: false,
    startedAt: now,
    lastProgressAt: now,
    updated: 0,
    failure: null,
    conditions: prior?.conditions ?? [],
  }
}

/** With no stored rollout (a hub that predates rollouts): the newest revision copies were told to run. */
function inferStable(copies: readonly RolloutCopy[], target: number): number | null {
  const others = copies.map((c) => c.assigned).filter((r): r is number => r !== null && r !== target)
  return others.length === 0 ? null : Math.max(...others)
}

function detectFailure(record: RolloutRecord, strategy: RolloutStrategy, work: readonly Work[], now: number): Omit<RolloutFailure, 'rolledBack'> | null {
  const failed = work.filter((w) => w.gate === 'failed')
  const updated = work.filter((w) => w.revision === record.revision).length
  const threshold = Math.max(1, resolveCountOrPercent(strategy.rollback.failureThreshold, updated, true))
  if (failed.length > 0 && failed.length >= threshold) {
    const nodes = failed.map((w) => ({ nodeId: w.copy.nodeId, reason: w.reason ?? 'failed' }))
    return {
      reason: 'HealthGateFailed',
      message: `${failed.length} of ${updated} updated copies failed the health gate: ${nodes.map((n) => `${n.nodeId} (${n.reason})`).join('; ')}`.slice(
        0,
        2000,
      ),
      nodes,
    }
  }
  const deadline = durationMs(strategy.progressDeadline)
  if (!record.paused && record.stepDoneAt === null && now - record.lastProgressAt > deadline) {
    const stuck = work.filter((w) => w.gate === 'progressing').map((w) => ({ nodeId: w.copy.nodeId, reason: w.reason ?? 'not updated' }))
    return {
      reason: 'ProgressDeadlineExceeded',
      message:
        `no copy became updated for ${strategy.progressDeadline}${stuck.length ? `: ${stuck.map((n) => `${n.nodeId} (${n.reason})`).join('; ')}` : ''}`.slice(
          0,
          2000,
        ),
      nodes: stuck,
    }
  }
  return null
}

function fail(
  record: RolloutRecord,
  failure: Omit<RolloutFailure, 'rolledBack'>,
  strategy: RolloutStrategy,
  work: Work[],
  events: RolloutEvent[],
): RolloutRecord {
  const stable = record.stableRevision
  const rolledBack = strategy.rollback.auto && stable !== null
  events.push({
    type: 'RolloutFailed',
    severity: 'error',
    message: `revision ${record.revision}: ${failure.message}`,
    data: { revision: record.revision, reason: failure.reason, nodes: failure.nodes.map((n) => n.nodeId).join(',') },
  })
  if (rolledBack) {
    const moved = work.filter((w) => w.revision !== stable).length
    for (const w of work) moveTo(w, stable, record.revision)
    events.push({
      type: 'RolloutRolledBack',
      severity: 'warning',
      message: `${moved} copies return to revision ${stable}; copies the rollout never reached were not touched`,
      data: { revision: record.revision, stableRevision: stable },
    })
  }
  return { ...record, phase: 'failed', failure: { ...failure, rolledBack } }
}

/** Assigns a copy another revision: whatever it reported so far was about the one it leaves. */
function moveTo(w: Work, revision: number, target: number): void {
  if (w.revision === revision) return
  w.revision = revision
  w.readySince = null
  w.available = false
  w.reason = null
  w.gate = revision !== target ? 'old' : w.copy.online ? 'progressing' : 'offline'
}

interface Advance {
  readonly record: RolloutRecord
  readonly hold: StepHold
}

/** Moves the copies the strategy allows now; completes the rollout when every copy is updated. */
function advance(start: RolloutRecord, strategy: RolloutStrategy, work: Work[], maxUnavailable: number, now: number, events: RolloutEvent[]): Advance {
  let record = start
  const target = record.revision
  // A first revision has nothing to protect (every copy starts on it at once): no canary steps.
  const steps = strategy.type === 'canary' && record.stableRevision !== null ? (strategy.steps ?? []) : []
  let hold: StepHold = null
  let scope: Work[] = work

  // Canary: the steps already done, then the copies of the step being worked on.
  while (record.step < steps.length) {
    const members = canaryMembers(
      steps,
      record.step,
      work.map((w) => w.copy),
    )
    const label = `step ${record.step + 1}: ${describeStep(steps[record.step] as (typeof steps)[number])}`
    for (const w of work) if (members.has(w.copy.key) && w.wave === null) w.wave = label
    scope = work.filter((w) => members.has(w.copy.key))
    const done = scope.every((w) => w.gate === 'updated' || (w.gate === 'offline' && w.revision === target))
    if (!done || record.paused) break
    const stepDoneAt = record.stepDoneAt ?? now
    if (record.stepDoneAt === null) {
      events.push({ type: 'CanaryStepComplete', severity: 'info', message: `canary ${label} updated`, data: { revision: target, step: record.step + 1 } })
    }
    const pause = steps[record.step]?.pause
    const until = pause === undefined || pause === 'manual' ? null : stepDoneAt + durationMs(pause)
    if (pause === 'manual' && !record.promoted) {
      hold = { kind: 'manual', step: record.step }
      record = { ...record, stepDoneAt, lastProgressAt: now }
      break
    }
    if (until !== null && now < until && !record.promoted) {
      hold = { kind: 'timed', step: record.step, until }
      record = { ...record, stepDoneAt, lastProgressAt: now }
      break
    }
    record = { ...record, step: record.step + 1, stepDoneAt: null, promoted: false, lastProgressAt: now }
  }
  if (record.step >= steps.length) scope = work
  for (const w of work) if (w.wave === null && steps.length > 0) w.wave = 'rest'
  const outside =
    hold?.kind === 'manual'
      ? `waiting for shoal rollout promote (canary step ${hold.step + 1})`
      : hold?.kind === 'timed'
        ? `waiting for the pause after canary step ${hold.step + 1}`
        : `waiting for canary step ${record.step + 1} to finish`
  for (const w of work) if (!scope.includes(w) && w.gate === 'old') w.waiting = outside

  if (!record.paused && hold === null) {
    const moved = moveWithinBudget(scope, work, strategy, maxUnavailable, target)
    if (moved.length > 0) {
      record = { ...record, lastProgressAt: now }
      events.push({
        type: 'RolloutWave',
        severity: 'info',
        message:
          `${moved.length} ${moved.length === 1 ? 'copy moves' : 'copies move'} to revision ${target}: ${moved.map((w) => w.copy.nodeId).join(', ')}`.slice(
            0,
            2000,
          ),
        data: { revision: target, copies: moved.length, nodes: moved.map((w) => w.copy.nodeId).join(',') },
      })
    }
  } else if (record.paused) {
    for (const w of work) if (w.gate === 'old') w.waiting = 'rollout paused'
  }

  const complete =
    record.step >= steps.length && work.every((w) => w.copy.surge === true || (w.revision === target && (w.gate === 'updated' || w.gate === 'offline')))
  if (complete) {
    events.push({ type: 'RolloutComplete', severity: 'info', message: `revision ${target} is available on every copy`, data: { revision: target } })
    record = { ...record, phase: 'complete', stableRevision: target, paused: false }
  }
  return { record, hold }
}

/**
 * Moves old copies in scope to the target revision while the number of copies down stays within
 * maxUnavailable (per `partitionBy` value when set, one value at a time). Returns the moved ones.
 */
function moveWithinBudget(scope: Work[], all: readonly Work[], strategy: RolloutStrategy, maxUnavailable: number, target: number): Work[] {
  let group = scope
  let population: readonly Work[] = all
  let budget = maxUnavailable
  if (strategy.partitionBy !== undefined) {
    const key = strategy.partitionBy
    const partitionOf = (w: Work): string => w.copy.nodeLabels[key] ?? ''
    const values = [...new Set(scope.map(partitionOf))].sort((a, b) => (a === '' ? 1 : b === '' ? -1 : a.localeCompare(b)))
    const unfinished = (value: string): boolean => scope.some((w) => partitionOf(w) === value && (w.gate === 'old' || w.gate === 'progressing'))
    const active = values.find((v) => scope.some((w) => partitionOf(w) === v && w.gate === 'progressing')) ?? values.find(unfinished)
    for (const w of all) w.wave ??= `${key}=${partitionOf(w) || '(none)'}`
    if (active === undefined) return []
    group = scope.filter((w) => partitionOf(w) === active)
    population = all.filter((w) => partitionOf(w) === active)
    budget = budgetFor(strategy, population.length)
    for (const w of scope) if (partitionOf(w) !== active && w.gate === 'old') w.waiting = `waiting for ${key}=${active || '(none)'} to finish`
  }
  // Surge copies are not counted as down; each one up on the new revision lets one more old copy go.
  budget += all.filter((w) => w.copy.surge === true && w.available).length
  let down = population.filter((w) => w.copy.surge !== true && w.copy.online && !w.available).length
  const online = group
    .filter((w) => w.gate === 'old' && w.copy.online)
    .sort((a, b) => Number(a.available) - Number(b.available) || a.copy.nodeId.localeCompare(b.copy.nodeId))
  const moved: Work[] = []
  for (const w of online) {
    if (!w.available) {
      moved.push(w)
      continue
    }
    const prefetching = strategy.prefetch === true ? awaitingPrefetch(w, target) : null
    if (prefetching !== null) {
      w.waiting = prefetching
      continue
    }
    if (down >= budget) {
      w.waiting = `waiting: ${down} of at most ${budget} copies down`
      continue
    }
    down++
    moved.push(w)
  }
  // Offline copies cannot be proven either way: they take the revision once the rest of the group has.
  const restDone = online.length === moved.length && group.every((w) => !w.copy.online || w.gate === 'updated' || moved.includes(w))
  const offline = group.filter((w) => w.gate === 'old' && !w.copy.online)
  if (restDone && !moved.some((w) => w.copy.online)) moved.push(...offline)
  else for (const w of offline) w.waiting = 'node offline; moves after the online copies'
  for (const w of moved) moveTo(w, target, target)
  return moved
}

/**
 * Why an available copy cannot move yet under `prefetch`: its node has not reported the new
 * revision's images present. Null once it has. A copy that is down moves anyway (nothing is lost
 * by pulling during its switch), and so does an offline one (its agent pulls when it returns).
 */
function prefetchOf(w: Work, target: number): PrefetchState | null {
  const prefetch = w.copy.observed?.prefetch ?? null
  return prefetch !== null && prefetch.revision === target ? prefetch.state : null
}

function awaitingPrefetch(w: Work, target: number): string | null {
  const prefetch = w.copy.observed?.prefetch ?? null
  if (prefetch !== null && prefetch.revision === target && prefetch.state === 'present') return null
  const stands = prefetch === null || prefetch.revision !== target ? 'not reported yet' : `${prefetch.state}${prefetch.message ? `: ${prefetch.message}` : ''}`
  return `waiting for its node to prefetch revision ${target}'s images (${stands})`
}

function wakeAt(record: RolloutRecord, strategy: RolloutStrategy, work: readonly Work[], hold: StepHold, minReadyMs: number): number | null {
  if (record.phase !== 'progressing') return null
  const times: number[] = []
  for (const w of work) if (w.readySince !== null && !w.available) times.push(w.readySince + minReadyMs)
  if (hold?.kind === 'timed') times.push(hold.until)
  if (!record.paused && hold === null) times.push(record.lastProgressAt + durationMs(strategy.progressDeadline) + 1)
  return times.length === 0 ? null : Math.min(...times)
}
