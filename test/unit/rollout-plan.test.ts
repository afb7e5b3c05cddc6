// The rollout planner, exhaustively and by simulation: copies move within maxUnavailable, one
// canary step or partition value at a time; a bad revision fails and rolls back; offline copies
// are neither counted nor waited for; and random fleets always end complete or rolled back.
import t from 'tap'
import { RolloutStrategy, type RolloutStrategy as Strategy } from '../../protocol/index.js'
import { applyRolloutAction, RolloutActionError } from '../../hub/rollout/rollout-actions.js'
import { planRollout } from '../../hub/rollout/plan-rollout.js'
import type { ObservedCopy, RolloutCopy, RolloutPlan, RolloutRecord } from '../../hub/rollout/rollout-types.js'
import { prng } from '../support/prng.js'

const NOW = 1_800_000_000_000
const SECOND = 1000

// minReadySeconds 0 unless a test sets it: the simulated agents report ready at once.
const strategy = (input: Record<string, unknown> = {}): Strategy => RolloutStrategy.parse({ minReadySeconds: 0, ...input })

function running(revision: number, extra: Partial<ObservedCopy> = {}): ObservedCopy {
  return { revision, state: 'running', health: 'none', ready: null, exitCode: null, message: null, revertedFrom: null, prefetch: null, ...extra }
}

interface SimNode {
  readonly id: string
  labels: Record<string, string>
  online: boolean
}

/**
 * A fleet of agents that do what they are told: a copy assigned a revision runs it by the next
 * pass, healthy unless the revision is in `bad` (then it crash-loops).
 */
class Fleet {
  readonly nodes: SimNode[]
  readonly assigned = new Map<string, number | null>()
  readonly observed = new Map<string, ObservedCopy | null>()
  readonly readySince = new Map<string, number | null>()
  /** Every revision each node was ever told to run, in order. */
  readonly history = new Map<string, number[]>()
  record: RolloutRecord | null = null
  now = NOW
  bad = new Set<number>()
  /** Nodes whose agents do not act on what they are told (a slow pull, say). */
  stuck = new Set<string>()
  /** Nodes whose copy is a surge copy (beyond the deployment's replicas). */
  surge = new Set<string>()
  last: RolloutPlan | null = null

  constructor(count: number, stable: number | null, labels: (i: number) => Record<string, string> = () => ({})) {
    this.nodes = Array.from({ length: count }, (_, i) => ({ id: `n${String(i).padStart(2, '0')}`, labels: labels(i), online: true }))
    for (const node of this.nodes) {
      this.assigned.set(node.id, stable)
      this.observed.set(node.id, stable === null ? null : running(stable))
      this.readySince.set(node.id, stable === null ? null : NOW - 3600 * SECOND)
      this.history.set(node.id, stable === null ? [] : [stable])
    }
  }

  copies(): RolloutCopy[] {
    return this.nodes.map((node) => ({
      key: `${node.id}/web`,
      nodeId: node.id,
      nodeLabels: node.labels,
      online: node.online,
      assigned: this.assigned.get(node.id) ?? null,
      readySince: this.readySince.get(node.id) ?? null,
      observed: this.observed.get(node.id) ?? null,
      surge: this.surge.has(node.id),
    }))
  }

  /** One controller pass; the plan's assignments are stored as the fleet controller would. */
  pass(revision: number, s: Strategy): RolloutPlan {
    const plan = planRollout({ deployment: { name: 'web', revision, strategy: s }, record: this.record, copies: this.copies(), now: this.now })
    this.record = plan.record
    for (const copy of plan.copies) {
      if (this.assigned.get(copy.nodeId) !== copy.revision) this.history.get(copy.nodeId)?.push(copy.revision)
      this.assigned.set(copy.nodeId, copy.revision)
      this.readySince.set(copy.nodeId, copy.readySince)
    }
    this.last = plan
    return plan
  }

  /** The agents act on their documents (online ones only). */
  agentsAct(): void {
    for (const node of this.nodes) {
      const revision = this.assigned.get(node.id)
      if (!node.online || revision === null || revision === undefined || this.stuck.has(node.id)) continue
      this.observed.set(node.id, this.bad.has(revision) ? running(revision, { state: 'crash-loop', message: 'exit code 1' }) : running(revision))
    }
  }

  /** Online copies not available at their assigned revision. */
  down(): number {
    return (
      this.last?.copies.filter((c) => this.nodes.find((n) => n.id === c.nodeId)?.online && c.gate !== 'updated' && !(c.gate === 'old' && c.readySince !== null))
        .length ?? 0
    )
  }

  revisions(): number[] {
    return this.nodes.map((n) => this.assigned.get(n.id) as number)
  }

  /** Passes until the rollout is no longer progressing; returns how many copies were down at worst. */
  run(revision: number, s: Strategy, maxPasses = 200, tick = SECOND): number {
    let worst = 0
    for (let i = 0; i < maxPasses; i++) {
      this.pass(revision, s)
      worst = Math.max(worst, this.down())
      if (this.record?.phase !== 'progressing') return worst
      this.agentsAct()
      this.now += tick
    }
    throw new Error(`rollout did not settle in ${maxPasses} passes: ${JSON.stringify(this.record)}`)
  }
}

t.test('the first revision of a new deployment starts on every copy at once', async (t) => {
  const fleet = new Fleet(4, null)
  const plan = fleet.pass(1, strategy())
  t.same(fleet.revisions(), [1, 1, 1, 1], 'nothing to protect: no previous revision')
  t.equal(plan.record.stableRevision, null)
  t.equal(plan.record.phase, 'progressing')
  fleet.agentsAct()
  const done = fleet.pass(1, strategy())
  t.equal(done.record.phase, 'complete')
  t.equal(done.record.stableRevision, 1)
  t.ok(done.events.some((e) => e.type === 'RolloutComplete'))
})

t.test('rolling with maxUnavailable 1 replaces one copy at a time, in node order', async (t) => {
  const fleet = new Fleet(6, 1)
  const first = fleet.pass(2, strategy({ maxUnavailable: 1 }))
  t.same(fleet.revisions(), [2, 1, 1, 1, 1, 1])
  t.match(
    first.events.map((e) => e.type),
    ['RolloutStarted', 'RolloutWave'],
  )
  t.match(first.copies.find((c) => c.nodeId === 'n01')?.reason, /waiting: 1 of at most 1 copies down/)
  // The agent has not acted yet: nothing else moves.
  fleet.pass(2, strategy({ maxUnavailable: 1 }))
  t.same(fleet.revisions(), [2, 1, 1, 1, 1, 1], 'the budget is spent until the first copy is updated')
  const worst = fleet.run(2, strategy({ maxUnavailable: 1 }))
  t.equal(worst, 1, 'never more than one copy down')
  t.equal(fleet.record?.phase, 'complete')
  t.equal(fleet.record?.stableRevision, 2)
  t.same(fleet.revisions(), [2, 2, 2, 2, 2, 2])
  t.same(fleet.history.get('n05'), [1, 2], 'each copy moved once')
})

t.test('maxUnavailable as a percentage rounds down and never below one', async (t) => {
  const half = new Fleet(6, 1)
  half.pass(2, strategy({ maxUnavailable: '50%' }))
  t.same(half.revisions(), [2, 2, 2, 1, 1, 1])
  const small = new Fleet(3, 1)
  small.pass(2, strategy({ maxUnavailable: '10%' }))
  t.same(small.revisions(), [2, 1, 1], '10% of 3 rounds to 0; one copy still moves')
})

t.test('copies already down move without spending the budget', async (t) => {
  const fleet = new Fleet(4, 1)
  fleet.observed.set('n02', running(1, { state: 'crash-loop' }))
  fleet.readySince.set('n02', null)
  fleet.observed.set('n03', running(1, { state: 'crash-loop' }))
  fleet.readySince.set('n03', null)
  fleet.pass(2, strategy({ maxUnavailable: 1 }))
  t.same(fleet.revisions(), [1, 1, 2, 2], 'two copies down before; both replaced, no healthy one taken down')
})

t.test('a revision that crash-loops fails at the first wave and the fleet returns to the stable revision', async (t) => {
  const fleet = new Fleet(6, 1)
  fleet.bad.add(2)
  fleet.run(2, strategy({ maxUnavailable: 2 }))
  const record = fleet.record as RolloutRecord
  t.equal(record.phase, 'failed')
  t.equal(record.failure?.reason, 'HealthGateFailed')
  t.equal(record.failure?.rolledBack, true)
  t.same(
    record.failure?.nodes.map((n) => n.nodeId),
    ['n00', 'n01'],
  )
  t.match(record.failure?.message, /n00 \(crash-loop: exit code 1\)/)
  t.same(fleet.revisions(), [1, 1, 1, 1, 1, 1], 'every copy back on revision 1')
  for (const id of ['n02', 'n03', 'n04', 'n05']) t.same(fleet.history.get(id), [1], `${id} never ran revision 2`)
  t.match(
    fleet.last?.events.map((e) => e.type),
    ['RolloutFailed', 'RolloutRolledBack'],
  )
  const failed = record.conditions.find((c) => c.type === 'RolloutFailed')
  t.match(failed, { status: 'True', reason: 'HealthGateFailed', observedRevision: 2 })
  t.match(
    record.conditions.find((c) => c.type === 'Progressing'),
    { status: 'False', reason: 'HealthGateFailed' },
  )
  // Later passes hold the rollback; a copy the scheduler adds runs the stable revision.
  fleet.nodes.push({ id: 'n99', labels: {}, online: true })
  fleet.assigned.set('n99', null)
  const later = fleet.pass(2, strategy({ maxUnavailable: 2 }))
  t.equal(later.copies.find((c) => c.nodeId === 'n99')?.revision, 1)
  t.same(later.events, [], 'a failed rollout announces nothing more')
})

t.test('an unhealthy health check, a failed pull, an exit and a local revert all fail the gate', async (t) => {
  const cases: [string, ObservedCopy, RegExp][] = [
    ['unhealthy', running(2, { health: 'unhealthy', message: 'GET / 500' }), /health check failing: GET \/ 500/],
    ['pull', running(2, { state: 'failed', message: 'manifest unknown' }), /failed: manifest unknown/],
    ['exit', running(2, { state: 'exited', exitCode: 3 }), /exited with code 3/],
    ['revert', running(1, { revertedFrom: 2 }), /reverted locally to revision 1/],
  ]
  for (const [name, observed, reason] of cases) {
    const fleet = new Fleet(3, 1)
    fleet.pass(2, strategy({ maxUnavailable: 1 }))
    fleet.observed.set('n00', observed)
    const plan = fleet.pass(2, strategy({ maxUnavailable: 1 }))
    t.equal(plan.record.phase, 'failed', name)
    t.match(plan.record.failure?.nodes[0]?.reason, reason, name)
  }
  const clean = new Fleet(1, 1)
  clean.pass(2, strategy())
  clean.observed.set('n00', running(2, { state: 'exited', exitCode: 0 }))
  t.equal(clean.pass(2, strategy()).record.phase, 'progressing', 'an exit with code 0 is not a failure')
})

t.test('a copy that runs but is not ready holds the rollout back without failing it', async (t) => {
  const fleet = new Fleet(3, 1)
  fleet.pass(2, strategy({ maxUnavailable: 1 }))
  fleet.observed.set('n00', running(2, { health: 'healthy', ready: false, message: 'not ready: GET http://127.0.0.1:8080/ready answered 503' }))
  const waiting = fleet.pass(2, strategy({ maxUnavailable: 1 }))
  t.equal(waiting.record.phase, 'progressing', 'not ready is not a failure')
  const copy = waiting.copies.find((c) => c.nodeId === 'n00')
  t.equal(copy?.gate, 'progressing')
  t.match(copy?.reason, /not ready: GET .* answered 503/)
  t.same(fleet.revisions(), [2, 1, 1], 'no other copy moves while the budget is spent on the unready one')
  fleet.observed.set('n00', running(2, { health: 'healthy', ready: true }))
  t.equal(fleet.pass(2, strategy({ maxUnavailable: 1 })).copies.find((c) => c.nodeId === 'n00')?.gate, 'updated', 'once ready it counts as updated')
  const older = new Fleet(1, 1)
  older.pass(2, strategy())
  older.observed.set('n00', running(2, { ready: null }))
  t.equal(older.pass(2, strategy()).copies[0]?.gate, 'updated', 'an agent that reports no readiness is judged by state and health')
})

t.test('rollback.auto false stops the rollout where it is', async (t) => {
  const fleet = new Fleet(4, 1)
  fleet.bad.add(2)
  fleet.run(2, strategy({ maxUnavailable: 1, rollback: { auto: false } }))
  t.equal(fleet.record?.phase, 'failed')
  t.equal(fleet.record?.failure?.rolledBack, false)
  t.same(fleet.revisions(), [2, 1, 1, 1], 'the failed copy stays for inspection; nothing else moves')
})

t.test('failureThreshold as a count and as a percentage of the updated copies', async (t) => {
  const fleet = new Fleet(6, 1)
  fleet.bad.add(2)
  const s = strategy({ maxUnavailable: 1, rollback: { failureThreshold: 2 } })
  fleet.pass(2, s)
  fleet.agentsAct()
  const one = fleet.pass(2, s)
  t.equal(one.record.phase, 'progressing', 'one failure of a threshold of 2')
  t.same(fleet.revisions(), [2, 1, 1, 1, 1, 1], 'a failed copy is down: the budget is spent')
  const percent = new Fleet(4, 1)
  percent.bad.add(2)
  const p = strategy({ maxUnavailable: 4, rollback: { failureThreshold: '50%' } })
  percent.pass(2, p)
  percent.observed.set('n00', running(2, { state: 'crash-loop' }))
  t.equal(percent.pass(2, p).record.phase, 'progressing', '1 of 4 updated copies is below 50%')
  percent.observed.set('n01', running(2, { state: 'crash-loop' }))
  t.equal(percent.pass(2, p).record.phase, 'failed', '2 of 4 reaches 50%')
})

t.test('no progress for progressDeadline fails the rollout', async (t) => {
  const fleet = new Fleet(3, 1)
  fleet.stuck.add('n00')
  const s = strategy({ maxUnavailable: 1, progressDeadline: '30s' })
  const first = fleet.pass(2, s)
  t.equal(first.wakeAt, NOW + 30 * SECOND + 1, 'the controller wakes when the deadline passes')
  fleet.now += 30 * SECOND
  t.equal(fleet.pass(2, s).record.phase, 'progressing', 'exactly at the deadline it still waits')
  fleet.now += 1
  const plan = fleet.pass(2, s)
  t.equal(plan.record.phase, 'failed')
  t.equal(plan.record.failure?.reason, 'ProgressDeadlineExceeded')
  t.match(plan.record.failure?.message, /no copy became updated for 30s: n00 \(waiting for the node to run revision 2\)/)
  t.same(fleet.revisions(), [1, 1, 1])
})

t.test('offline copies are not counted as down, and move after the online ones', async (t) => {
  const fleet = new Fleet(4, 1)
  fleet.nodes[1] = { ...(fleet.nodes[1] as SimNode), online: false }
  const first = fleet.pass(2, strategy({ maxUnavailable: 1 }))
  t.same(fleet.revisions(), [2, 1, 1, 1], 'the offline copy does not use up the budget')
  t.match(first.copies.find((c) => c.nodeId === 'n01')?.reason, /node offline; moves after the online copies/)
  fleet.run(2, strategy({ maxUnavailable: 1 }))
  t.equal(fleet.record?.phase, 'complete', 'complete without waiting for the offline node')
  t.same(fleet.revisions(), [2, 2, 2, 2], 'the offline copy is assigned the new revision; its agent takes it when back')
  t.same(fleet.history.get('n01'), [1, 2])
})

t.test('minReadySeconds: a copy counts as updated only after staying ready that long', async (t) => {
  const fleet = new Fleet(2, 1)
  const s = strategy({ maxUnavailable: 1, minReadySeconds: 30 })
  fleet.pass(2, s)
  fleet.agentsAct()
  const ready = fleet.pass(2, s)
  const copy = ready.copies.find((c) => c.nodeId === 'n00')
  t.equal(copy?.gate, 'progressing')
  t.match(copy?.reason, /counts as updated in 30s/)
  t.equal(ready.wakeAt, NOW + 30 * SECOND)
  t.same(fleet.revisions(), [2, 1])
  fleet.now += 30 * SECOND
  fleet.pass(2, s)
  t.same(fleet.revisions(), [2, 2], 'the next copy moves once the first has been ready for 30 s')
})

t.test('a higher minReadySeconds in the new strategy does not make copies of the old revision count as down', async (t) => {
  const fleet = new Fleet(4, 1)
  for (const node of fleet.nodes) fleet.readySince.set(node.id, NOW - 10 * SECOND)
  fleet.pass(2, strategy({ maxUnavailable: 1, minReadySeconds: 120 }))
  t.same(fleet.revisions(), [2, 1, 1, 1], 'one copy moves, not all four')
})

t.test('canary: a selector step holds until promoted, and nothing beyond it moves', async (t) => {
  const fleet = new Fleet(6, 1, (i) => (i === 2 || i === 4 ? { ring: 'canary' } : {}))
  const s = strategy({ type: 'canary', maxUnavailable: 6, steps: [{ selector: { matchLabels: { ring: 'canary' } }, pause: 'manual' }] })
  fleet.pass(2, s)
  t.same(fleet.revisions(), [1, 1, 2, 1, 2, 1], 'only the canary ring moves')
  for (let i = 0; i < 5; i++) {
    fleet.agentsAct()
    fleet.now += 3600 * SECOND
    fleet.pass(2, s)
  }
  t.same(fleet.revisions(), [1, 1, 2, 1, 2, 1], 'hours later, still only the canary ring')
  const record = fleet.record as RolloutRecord
  t.equal(record.phase, 'progressing', 'a manual hold does not run into the progress deadline')
  t.match(
    record.conditions.find((c) => c.type === 'RolloutPaused'),
    { status: 'True', reason: 'AwaitingPromotion' },
  )
  t.match(fleet.last?.copies.find((c) => c.nodeId === 'n00')?.reason, /waiting for shoal rollout promote \(canary step 1\)/)
  fleet.record = applyRolloutAction(record, 'promote', fleet.now)
  fleet.pass(2, s)
  t.same(fleet.revisions(), [2, 2, 2, 2, 2, 2], 'after promote the rest rolls (maxUnavailable 6)')
  fleet.run(2, s)
  t.equal(fleet.record?.phase, 'complete')
  t.match(
    fleet.record?.conditions.find((c) => c.type === 'RolloutPaused'),
    { status: 'False' },
  )
})

t.test('canary: cumulative count and percent steps with a timed pause', async (t) => {
  const fleet = new Fleet(10, 1)
  const s = strategy({ type: 'canary', maxUnavailable: 10, steps: [{ count: 1, pause: '1m' }, { percent: 50 }] })
  fleet.pass(2, s)
  t.equal(fleet.revisions().filter((r) => r === 2).length, 1)
  fleet.agentsAct()
  const holding = fleet.pass(2, s)
  t.equal(holding.wakeAt, fleet.now + 60 * SECOND, 'wakes when the pause ends')
  t.match(
    holding.record.conditions.find((c) => c.type === 'RolloutPaused'),
    { status: 'True', reason: 'CanaryPause' },
  )
  fleet.now += 60 * SECOND
  fleet.pass(2, s)
  t.equal(fleet.revisions().filter((r) => r === 2).length, 5, '50% of 10 by the end of step 2')
  fleet.run(2, s)
  t.equal(fleet.record?.phase, 'complete')
})

t.test('partitionBy: one site at a time, maxUnavailable per site', async (t) => {
  const sites = ['a', 'a', 'a', 'b', 'b', 'b', 'c', 'c']
  const fleet = new Fleet(8, 1, (i) => ({ site: sites[i] as string }))
  const s = strategy({ maxUnavailable: '67%', partitionBy: 'site' })
  for (let i = 0; i < 100 && fleet.record?.phase !== 'complete'; i++) {
    const plan = fleet.pass(2, s)
    const inFlight = new Set(plan.copies.filter((c) => c.gate === 'progressing').map((c) => sites[Number(c.nodeId.slice(1))]))
    t.ok(inFlight.size <= 1, `pass ${i}: sites updating at once: ${[...inFlight].join(',') || 'none'}`)
    const perSite = plan.copies.filter((c) => c.gate === 'progressing').length
    t.ok(perSite <= 2, `pass ${i}: at most 67% of 3 (2) copies of the site down`)
    fleet.agentsAct()
    fleet.now += SECOND
  }
  t.equal(fleet.record?.phase, 'complete')
  const moved = fleet.nodes.map((n) => n.id)
  t.same(moved.length, 8)
})

t.test('pause holds every copy that has not moved; resume continues', async (t) => {
  const fleet = new Fleet(4, 1)
  const s = strategy({ maxUnavailable: 1 })
  fleet.pass(2, s)
  fleet.record = applyRolloutAction(fleet.record as RolloutRecord, 'pause', fleet.now)
  fleet.agentsAct()
  for (let i = 0; i < 3; i++) {
    fleet.now += 3600 * SECOND
    fleet.pass(2, s)
  }
  t.same(fleet.revisions(), [2, 1, 1, 1])
  t.equal(fleet.record?.phase, 'progressing', 'a paused rollout never runs into its deadline')
  t.match(
    fleet.record?.conditions.find((c) => c.type === 'RolloutPaused'),
    { status: 'True', reason: 'Paused' },
  )
  fleet.record = applyRolloutAction(fleet.record as RolloutRecord, 'resume', fleet.now)
  fleet.run(2, s)
  t.equal(fleet.record?.phase, 'complete')
  t.throws(() => applyRolloutAction(fleet.record as RolloutRecord, 'pause', fleet.now), RolloutActionError, 'a finished rollout cannot be paused')
  t.throws(() => applyRolloutAction({ ...(fleet.record as RolloutRecord), phase: 'progressing' }, 'promote', fleet.now), /no canary step is holding/)
})

t.test('a newer revision during a rollout supersedes it and keeps the last fully available one as stable', async (t) => {
  const fleet = new Fleet(4, 1)
  fleet.pass(2, strategy({ maxUnavailable: 1 }))
  fleet.agentsAct()
  const next = fleet.pass(3, strategy({ maxUnavailable: 1 }))
  t.match(
    next.events.map((e) => e.type),
    ['RolloutSuperseded', 'RolloutStarted'],
  )
  t.equal(next.record.stableRevision, 1)
  fleet.bad.add(3)
  fleet.run(3, strategy({ maxUnavailable: 1 }))
  t.equal(fleet.record?.phase, 'failed')
  t.same(fleet.revisions(), [1, 1, 1, 1], 'the rollback goes to revision 1, the last that was fully available')
})

t.test('conditions keep their transition time while their status holds', async (t) => {
  const fleet = new Fleet(3, 1)
  fleet.pass(2, strategy({ maxUnavailable: 1 }))
  const before = fleet.record?.conditions.find((c) => c.type === 'Progressing')
  fleet.now += 5 * SECOND
  fleet.agentsAct()
  fleet.pass(2, strategy({ maxUnavailable: 1 }))
  const after = fleet.record?.conditions.find((c) => c.type === 'Progressing')
  t.equal(after?.lastTransitionTime, before?.lastTransitionTime)
  t.equal(after?.observedRevision, 2)
  t.match(after?.message, /1\/3 copies on revision 2/)
})

t.test('random fleets: within budget, monotonic, and always complete or rolled back', async (t) => {
  const rand = prng(20261205)
  let checked = 0
  for (let round = 0; round < 300; round++) {
    const count = 1 + Math.floor(rand() * 25)
    const sites = 1 + Math.floor(rand() * 4)
    const fleet = new Fleet(count, 1, (i) => ({ site: `s${i % sites}`, ...(rand() < 0.2 ? { ring: 'canary' } : {}) }))
    for (const node of fleet.nodes) if (rand() < 0.15) node.online = false
    const budget = 1 + Math.floor(rand() * 4)
    const bad = rand() < 0.3
    if (bad) fleet.bad.add(2)
    const kind = rand()
    const s = strategy({
      maxUnavailable: budget,
      ...(rand() < 0.3 ? { partitionBy: 'site' } : {}),
      ...(kind < 0.3 ? { type: 'canary', steps: [{ selector: { matchLabels: { ring: 'canary' } } }, { percent: 50, pause: '10s' }] } : {}),
    })
    let updatedBefore = 0
    for (let pass = 0; pass < 400 && fleet.record?.phase !== 'failed' && fleet.record?.phase !== 'complete'; pass++) {
      const plan = fleet.pass(2, s)
      const down = fleet.down()
      const initiallyDown = fleet.nodes.filter((n) => !n.online).length
      if (down > budget) t.fail(`round ${round} pass ${pass}: ${down} copies down with maxUnavailable ${budget} (${initiallyDown} offline)`)
      const updated = plan.copies.filter((c) => c.revision === 2).length
      if (plan.record.phase === 'progressing' && updated < updatedBefore)
        t.fail(`round ${round}: copies on the new revision went from ${updatedBefore} to ${updated}`)
      updatedBefore = updated
      fleet.agentsAct()
      fleet.now += 5 * SECOND
    }
    const phase = fleet.record?.phase
    if (bad && fleet.nodes.some((n) => n.online)) {
      if (phase !== 'failed' || fleet.revisions().some((r) => r !== 1))
        t.fail(`round ${round}: a bad revision ended ${phase} with ${fleet.revisions().join(',')}`)
    } else if (!bad && (phase !== 'complete' || fleet.revisions().some((r) => r !== 2))) {
      t.fail(`round ${round}: a good revision ended ${phase} with ${fleet.revisions().join(',')}`)
    }
    checked++
  }
  t.equal(checked, 300, 'every random fleet settled as it should')
})

t.test('a canary first revision has nothing to protect: no steps, no hold', async (t) => {
  const fleet = new Fleet(3, null)
  const s = strategy({ type: 'canary', steps: [{ count: 1, pause: 'manual' }] })
  fleet.pass(1, s)
  t.same(fleet.revisions(), [1, 1, 1])
  fleet.agentsAct()
  const plan = fleet.pass(1, s)
  t.equal(plan.record.phase, 'complete')
  t.equal(plan.hold, null)
})

t.test('the plan says which kind of hold a canary step is in', async (t) => {
  const fleet = new Fleet(3, 1)
  const s = strategy({ type: 'canary', steps: [{ count: 1, pause: 'manual' }] })
  fleet.pass(2, s)
  fleet.agentsAct()
  t.same(fleet.pass(2, s).hold, { kind: 'manual', step: 0 })
})

t.test('maxSurge with maxUnavailable 0: an extra copy on the new revision first, then one old copy at a time, never fewer available', async (t) => {
  const fleet = new Fleet(4, 1)
  // n03 is the surge copy the scheduler placed for this rollout: no revision assigned yet.
  fleet.surge.add('n03')
  fleet.assigned.set('n03', null)
  fleet.observed.set('n03', null)
  fleet.readySince.set('n03', null)
  const s = strategy({ maxUnavailable: 0, maxSurge: 1 })
  const first = fleet.pass(2, s)
  t.same(fleet.revisions(), [1, 1, 1, 2], 'only the surge copy starts, on the new revision')
  t.match(first.copies.find((c) => c.nodeId === 'n00')?.reason, /waiting: 0 of at most 0 copies down/)
  let worstAvailable = 3
  for (let i = 0; i < 50 && fleet.record?.phase === 'progressing'; i++) {
    fleet.agentsAct()
    fleet.now += SECOND
    const plan = fleet.pass(2, s)
    const available = plan.copies.filter((c) => c.gate === 'updated' || (c.gate === 'old' && c.readySince !== null)).length
    worstAvailable = Math.min(worstAvailable, available)
  }
  t.equal(fleet.record?.phase, 'complete', 'complete once the three regular copies are updated')
  t.same(fleet.revisions(), [2, 2, 2, 2])
  t.ok(worstAvailable >= 3, `never fewer than the 3 replicas available (at worst ${worstAvailable})`)
})

t.test('scheduledReplicas: replicas plus maxSurge only while a rollout away from a previous revision runs', async (t) => {
  const { scheduledReplicas } = await import('../../hub/rollout/fleet-rollouts.js')
  const { DeploymentSpec } = await import('../../protocol/index.js')
  const spec = DeploymentSpec.parse({ replicas: 4, strategy: { maxSurge: '25%' }, template: { image: 'x' } })
  const done = { ...(new Fleet(1, 1).record ?? {}), deployment: 'web', revision: 1, stableRevision: 1, phase: 'complete' } as RolloutRecord
  t.equal(scheduledReplicas(spec, 1, null), 4, 'a new deployment: no surge')
  t.equal(scheduledReplicas(spec, 1, done), 4, 'nothing rolling')
  t.equal(scheduledReplicas(spec, 2, done), 5, 'a new revision is about to roll: 25% of 4 rounds up to 1 extra')
  t.equal(scheduledReplicas(spec, 2, { ...done, revision: 2, phase: 'progressing' }), 5)
  t.equal(scheduledReplicas(spec, 2, { ...done, revision: 2, phase: 'failed' }), 4, 'a failed rollout keeps no surge')
  t.equal(scheduledReplicas(DeploymentSpec.parse({ mode: 'every-node', template: { image: 'x' } }), 2, done), null)
  t.throws(() => DeploymentSpec.parse({ mode: 'every-node', strategy: { maxSurge: 1 }, template: { image: 'x' } }), /maxSurge needs mode: replicated/)
})

t.test("prefetch: an available copy moves only once its node reports the new revision's images present", async (t) => {
  const s = strategy({ maxUnavailable: 2, prefetch: true })
  const fleet = new Fleet(4, 1)
  const first = fleet.pass(2, s)
  t.same(fleet.revisions(), [1, 1, 1, 1], 'no node has reported the images: nothing moves')
  t.match(first.copies.find((c) => c.nodeId === 'n00')?.reason, /prefetch revision 2's images \(not reported yet\)/)
  t.equal(first.record.phase, 'progressing')

  fleet.observed.set('n01', running(1, { prefetch: { revision: 2, state: 'pull-deferred', message: 'outside the pull window 01:00-05:00' } }))
  fleet.observed.set('n02', running(1, { prefetch: { revision: 2, state: 'present' } }))
  fleet.observed.set('n03', running(1, { prefetch: { revision: 3, state: 'present' } }))
  const second = fleet.pass(2, s)
  t.same(fleet.revisions(), [1, 1, 2, 1], 'only the copy whose node has revision 2 moves')
  t.match(second.copies.find((c) => c.nodeId === 'n01')?.reason, /\(pull-deferred: outside the pull window 01:00-05:00\)/)
  t.match(second.copies.find((c) => c.nodeId === 'n03')?.reason, /not reported yet/, 'images of another revision do not count')
  t.ok(
    second.events.some((e) => e.type === 'RolloutWave' && e.message.includes('n02')),
    'the move is announced as a wave',
  )

  for (const id of ['n00', 'n01', 'n03']) fleet.observed.set(id, running(1, { prefetch: { revision: 2, state: 'present' } }))
  fleet.pass(2, s)
  t.same(fleet.revisions(), [2, 1, 2, 1], 'maxUnavailable (2) still bounds the moves: n02 is down, so one more goes')
})

t.test('prefetch: a copy that is down or offline does not wait for its images', async (t) => {
  const s = strategy({ maxUnavailable: 1, prefetch: true })
  const fleet = new Fleet(3, 1)
  fleet.observed.set('n00', running(1, { state: 'crash-loop' }))
  fleet.readySince.set('n00', null)
  fleet.pass(2, s)
  t.same(fleet.revisions(), [2, 1, 1], 'a copy already down moves at once: pulling during its switch costs nothing')

  const offline = new Fleet(2, 1)
  offline.nodes[1] = { ...(offline.nodes[1] as SimNode), online: false }
  offline.observed.set('n00', running(1, { prefetch: { revision: 2, state: 'present' } }))
  offline.pass(2, s)
  t.same(offline.revisions(), [2, 1], 'the online copy moves first')
  offline.agentsAct()
  offline.pass(2, s)
  t.same(offline.revisions(), [2, 2], 'the offline copy moves once the online ones are done; its agent pulls when it returns')
})

t.test('prefetch: a fleet whose agents pull ahead completes, each copy moving once and never past the budget', async (t) => {
  const s = strategy({ maxUnavailable: 2, prefetch: true })
  const fleet = new Fleet(7, 1)
  let worst = 0
  for (let i = 0; i < 50 && fleet.record?.phase !== 'complete'; i++) {
    fleet.pass(2, s)
    worst = Math.max(worst, fleet.down())
    fleet.agentsAct()
    // One node a pass finishes its pull-ahead, in reverse node order.
    const next = fleet.nodes.toReversed().find((n) => fleet.assigned.get(n.id) === 1 && fleet.observed.get(n.id)?.prefetch === null)
    if (next) fleet.observed.set(next.id, running(1, { prefetch: { revision: 2, state: 'present' } }))
    fleet.now += SECOND
  }
  t.equal(fleet.record?.phase, 'complete')
  t.ok(worst <= 2, `at most 2 copies down at once (saw ${worst})`)
  for (const node of fleet.nodes) t.same(fleet.history.get(node.id), [1, 2], `${node.id} moved once`)
})

t.test('prefetch: a node that never gets the images fails the rollout at progressDeadline, naming it', async (t) => {
  const s = strategy({ maxUnavailable: 1, prefetch: true, progressDeadline: '1m' })
  const fleet = new Fleet(2, 1)
  fleet.observed.set('n00', running(1, { prefetch: { revision: 2, state: 'failed', message: 'manifest unknown' } }))
  fleet.observed.set('n01', running(1, { prefetch: { revision: 2, state: 'failed', message: 'manifest unknown' } }))
  fleet.pass(2, s)
  fleet.now += 61 * SECOND
  const plan = fleet.pass(2, s)
  t.equal(plan.record.phase, 'failed')
  t.equal(plan.record.failure?.reason, 'ProgressDeadlineExceeded')
  t.same(fleet.revisions(), [1, 1], 'no copy was taken down for an image its node could not get')
})
