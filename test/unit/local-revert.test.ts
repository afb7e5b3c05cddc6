import Database from 'better-sqlite3'
import { join } from 'node:path'
import { pino } from 'pino'
import t from 'tap'
import {
  changesStore,
  decideLocalRevert,
  healthGateFailure,
  type LocalRevertInput,
  type RevertRecord,
  type RevertWindow,
  type RevisionObservation,
} from '../../agent/reconcile/local-revert.js'
import { AgentStore } from '../../agent/store/agent-store.js'
import { MIGRATIONS } from '../../agent/store/migrations.js'
import { openAgentDatabase } from '../../agent/store/open-agent-database.js'
import { migrate, schemaVersion } from '../../common/sqlite/migrate.js'
import { ContainerTemplate, type ContainerTemplateInput, type RestartPolicy, type Workload, type WorkloadState } from '../../protocol/index.js'
import { tempDir } from '../support/tmp.js'

const T0 = 1_750_000_000_000
const WINDOW_S = 600
const ISO = (ms: number): string => new Date(ms).toISOString()

function template(tag: string, overrides: Partial<ContainerTemplateInput> = {}): ContainerTemplate {
  return ContainerTemplate.parse({ image: `registry.example/web:${tag}`, ...overrides })
}

/** `web` at revision 2 with revision 1 as its fallback, as a rollout sends it. */
function rolling(
  name = 'web',
  options: { revision?: number; fallbackRevision?: number; windowSeconds?: number; restartPolicy?: RestartPolicy } = {},
): Workload {
  const revision = options.revision ?? 2
  const fallbackRevision = options.fallbackRevision ?? revision - 1
  return {
    name,
    deployment: name,
    revision,
    template: template(String(revision), options.restartPolicy ? { restartPolicy: options.restartPolicy } : {}),
    fallback: { revision: fallbackRevision, template: template(String(fallbackRevision)), revertWindowSeconds: options.windowSeconds ?? WINDOW_S },
  }
}

function plain(name = 'web', revision = 2): Workload {
  return { name, deployment: name, revision, template: template(String(revision)) }
}

function seen(overrides: Partial<RevisionObservation> = {}): RevisionObservation {
  return { revision: 2, state: 'running', health: 'none', exitCode: null, current: true, pullFailed: false, ...overrides }
}

const crashLoop = seen({ state: 'crash-loop', exitCode: 1 })

function windowOf(workload = 'web', revision = 2, startedAt = T0): RevertWindow {
  return { workload, revision, startedAt }
}

function revertOf(overrides: Partial<RevertRecord> = {}): RevertRecord {
  return { workload: 'web', fromRevision: 2, toRevision: 1, template: template('1'), reason: 'crash-loop (exit code 1)', at: ISO(T0 + 5_000), ...overrides }
}

function input(overrides: Partial<LocalRevertInput> = {}): LocalRevertInput {
  return {
    workloads: [rolling()],
    reverts: new Map(),
    windows: new Map([['web', windowOf()]]),
    observed: new Map([['web', crashLoop]]),
    now: T0 + 10_000,
    hubReachable: false,
    ...overrides,
  }
}

t.test('the health gate: which observations of the new revision count as failures', async (t) => {
  const w = rolling()
  const cases: Array<[string, RevisionObservation | undefined, string | null]> = [
    ['nothing recorded yet', undefined, null],
    ['running', seen(), null],
    ['running and healthy', seen({ health: 'healthy' }), null],
    ['health still starting', seen({ health: 'starting' }), null],
    ['pending', seen({ state: 'pending' }), null],
    ['pulling', seen({ state: 'pulling' }), null],
    ['starting', seen({ state: 'starting' }), null],
    ['stopped (paused)', seen({ state: 'stopped' }), null],
    ['crash-loop', crashLoop, 'crash-loop (exit code 1)'],
    ['crash-loop without exit code', seen({ state: 'crash-loop' }), 'crash-loop (exit code unknown)'],
    ['unhealthy', seen({ health: 'unhealthy' }), 'health check unhealthy'],
    ['failed to start', seen({ state: 'failed' }), 'failed to start'],
    ['image cannot be pulled', seen({ pullFailed: true, state: 'running', current: false }), 'image registry.example/web:2 cannot be pulled'],
    ['an exit the policy restarts (always)', seen({ state: 'exited', exitCode: 1 }), null],
    ['a record of the previous revision', seen({ revision: 1, state: 'crash-loop' }), null],
    ['the previous revision pull failing', seen({ revision: 1, pullFailed: true }), null],
    ['the old container still shown (not current)', seen({ state: 'crash-loop', current: false }), null],
    ['unhealthy, but the old container', seen({ health: 'unhealthy', current: false }), null],
  ]
  for (const [what, observation, expected] of cases) t.equal(healthGateFailure(w, observation), expected, what)
})

t.test('the health gate: an exit counts only when final and non-zero', async (t) => {
  const table: Array<[RestartPolicy, number | null, boolean]> = [
    ['never', 1, true],
    ['never', 137, true],
    ['never', null, true],
    ['never', 0, false],
    ['on-failure', 0, false],
    ['on-failure', 1, false],
    ['always', 1, false],
    ['always', 0, false],
  ]
  for (const [policy, exitCode, fails] of table) {
    const failure = healthGateFailure(rolling('web', { restartPolicy: policy }), seen({ state: 'exited', exitCode }))
    t.equal(failure !== null, fails, `${policy}, exit ${String(exitCode)}: ${failure ?? 'no failure'}`)
  }
  t.match(
    healthGateFailure(rolling('web', { restartPolicy: 'never' }), seen({ state: 'exited', exitCode: 3 })),
    /exited \(exit code 3\) under restart policy never/,
  )
})

t.test('an unknown state is a programming error', async (t) => {
  t.throws(() => healthGateFailure(rolling(), seen({ state: 'melting' as WorkloadState })), /unknown workload state melting/)
})

t.test('reverts a failing copy inside its window while the hub is unreachable', async (t) => {
  const decision = decideLocalRevert(input())
  const record = revertOf({ reason: 'crash-loop (exit code 1)', at: ISO(T0 + 10_000) })
  t.strictSame(decision.revert, [record], 'one revert, recorded with its reason and time')
  t.strictSame(
    decision.workloads,
    [{ name: 'web', deployment: 'web', revision: 1, template: template('1') }],
    'the copy runs the fallback, without a fallback of its own',
  )
  t.strictSame([...decision.active], [['web', record]])
  t.strictSame(decision.clearReverts, [])
  t.strictSame(decision.startWindows, [])
  t.strictSame(decision.clearWindows, [])
  t.ok(changesStore(decision))
})

t.test('every failure kind reverts', async (t) => {
  const failures: Array<[string, Workload, RevisionObservation, RegExp]> = [
    ['crash-loop', rolling(), crashLoop, /crash-loop/],
    ['unhealthy', rolling(), seen({ health: 'unhealthy' }), /unhealthy/],
    ['image pull', rolling(), seen({ pullFailed: true, current: false }), /cannot be pulled/],
    ['exit under never', rolling('web', { restartPolicy: 'never' }), seen({ state: 'exited', exitCode: 2 }), /exited/],
    ['failed to start', rolling(), seen({ state: 'failed' }), /failed to start/],
  ]
  for (const [what, workload, observation, reason] of failures) {
    const decision = decideLocalRevert(input({ workloads: [workload], observed: new Map([['web', observation]]) }))
    t.equal(decision.revert.length, 1, `${what}: reverted`)
    t.match(decision.revert[0]?.reason, reason, `${what}: the reason says why`)
    t.equal(decision.workloads[0]?.revision, 1, `${what}: runs revision 1`)
  }
})

t.test('the hub reachable: no local revert, the hub decides', async (t) => {
  const decision = decideLocalRevert(input({ hubReachable: true }))
  t.strictSame(decision.revert, [])
  t.strictSame(decision.workloads, [rolling()], 'the new revision stays desired, fallback and all')
  t.equal(decision.active.size, 0)
  t.notOk(changesStore(decision), 'nothing to store')
})

t.test('a healthy copy is left alone', async (t) => {
  for (const observation of [seen(), seen({ health: 'healthy' }), seen({ state: 'starting' }), undefined]) {
    const observed = new Map<string, RevisionObservation>(observation ? [['web', observation]] : [])
    const decision = decideLocalRevert(input({ observed }))
    t.strictSame(decision.revert, [], JSON.stringify(observation ?? 'no observation'))
    t.strictSame(decision.workloads, [rolling()])
  }
})

t.test('the window: open until revertWindowSeconds after its start, then closed for good', async (t) => {
  const start = T0
  const cases: Array<[string, number, boolean]> = [
    ['at the start', start, true],
    ['a second before the end', start + WINDOW_S * 1000 - 1, true],
    ['at the end', start + WINDOW_S * 1000, false],
    ['long after', start + 100 * WINDOW_S * 1000, false],
    ['a clock that went backwards', start - 60_000, true],
  ]
  for (const [what, now, reverts] of cases) {
    const decision = decideLocalRevert(input({ now, windows: new Map([['web', windowOf('web', 2, start)]]) }))
    t.equal(decision.revert.length, reverts ? 1 : 0, what)
    t.strictSame(decision.startWindows, [], `${what}: the window is not restarted`)
  }
})

t.test('the window starts the first time the agent sees the new revision', async (t) => {
  const now = T0 + 42
  const first = decideLocalRevert(input({ windows: new Map(), observed: new Map(), now }))
  t.strictSame(first.startWindows, [{ workload: 'web', revision: 2, startedAt: now }])
  t.strictSame(first.workloads, [rolling()])
  t.ok(changesStore(first), 'the start must be stored')
  const again = decideLocalRevert(input({ windows: new Map([['web', first.startWindows[0] as RevertWindow]]), observed: new Map(), now: now + 1_000 }))
  t.strictSame(again.startWindows, [], 'a stored window is kept, not restarted')
  t.notOk(changesStore(again))
})

t.test('a failure seen in the very pass that starts the window reverts', async (t) => {
  const decision = decideLocalRevert(input({ windows: new Map(), now: T0 }))
  t.strictSame(decision.startWindows, [windowOf('web', 2, T0)])
  t.equal(decision.revert.length, 1)
})

t.test('a window of an older revision is replaced when a newer revision comes with a fallback', async (t) => {
  const now = T0 + 2 * WINDOW_S * 1000
  const decision = decideLocalRevert(
    input({ workloads: [rolling('web', { revision: 3 })], observed: new Map([['web', seen({ revision: 3, state: 'crash-loop' })]]), now }),
  )
  t.strictSame(decision.startWindows, [windowOf('web', 3, now)], 'a fresh window for revision 3')
  t.equal(decision.revert[0]?.fromRevision, 3)
  t.equal(decision.revert[0]?.toRevision, 2)
})

t.test('windows are cleared when the fallback goes or the workload does', async (t) => {
  const windows = new Map([
    ['web', windowOf('web')],
    ['gone', windowOf('gone')],
  ])
  const decision = decideLocalRevert(input({ workloads: [plain('web', 2)], windows, observed: new Map([['web', crashLoop]]) }))
  t.strictSame(decision.clearWindows, ['web', 'gone'])
  t.strictSame(decision.revert, [], 'no fallback, no revert')
  t.strictSame(decision.workloads, [plain('web', 2)])
})

t.test('a fallback naming the same revision is no fallback', async (t) => {
  const decision = decideLocalRevert(input({ workloads: [rolling('web', { revision: 2, fallbackRevision: 2 })], windows: new Map() }))
  t.strictSame(decision.revert, [])
  t.strictSame(decision.startWindows, [])
})

t.test('a revert sticks while the document asks for the revision it reverted from', async (t) => {
  const record = revertOf()
  const variants: Array<[string, Workload]> = [
    ['the same document again', rolling()],
    ['the same revision without its fallback', plain('web', 2)],
    ['the same revision with a fresh window', rolling('web', { windowSeconds: 60 })],
  ]
  for (const [what, workload] of variants) {
    for (const hubReachable of [false, true]) {
      for (const now of [T0 + 20_000, T0 + 100 * WINDOW_S * 1000]) {
        const decision = decideLocalRevert(
          input({ workloads: [workload], reverts: new Map([['web', record]]), observed: new Map([['web', seen({ revision: 1 })]]), hubReachable, now }),
        )
        const label = `${what}, hub ${hubReachable ? 'reachable' : 'unreachable'}, ${now === T0 + 20_000 ? 'inside' : 'after'} the window`
        t.strictSame(decision.workloads, [{ name: 'web', deployment: 'web', revision: 1, template: template('1') }], `${label}: still revision 1`)
        t.strictSame([...decision.active], [['web', record]], `${label}: the revert stays in force`)
        t.strictSame(decision.revert, [], `${label}: not reverted again`)
        t.strictSame(decision.clearReverts, [], `${label}: not cleared`)
        t.strictSame(decision.startWindows, [], `${label}: no new window`)
      }
    }
  }
})

t.test('a different revision clears the revert and applies', async (t) => {
  const record = revertOf()
  const cases: Array<[string, Workload]> = [
    ['a newer revision', plain('web', 3)],
    ['a newer revision with a fallback', rolling('web', { revision: 3 })],
    ['the fallback revision itself (the hub rolled back)', plain('web', 1)],
  ]
  for (const [what, workload] of cases) {
    const decision = decideLocalRevert(input({ workloads: [workload], reverts: new Map([['web', record]]), observed: new Map(), hubReachable: true }))
    t.strictSame(decision.clearReverts, [record], `${what}: cleared`)
    t.strictSame(decision.workloads, [workload], `${what}: the document applies`)
    t.equal(decision.active.size, 0, `${what}: no revert in force`)
    t.ok(changesStore(decision))
  }
})

t.test('a newer revision that fails again may revert again, to its own fallback', async (t) => {
  const decision = decideLocalRevert(
    input({
      workloads: [rolling('web', { revision: 3, fallbackRevision: 1 })],
      reverts: new Map([['web', revertOf()]]),
      windows: new Map([['web', windowOf('web', 3, T0)]]),
      observed: new Map([['web', seen({ revision: 3, state: 'crash-loop' })]]),
    }),
  )
  t.strictSame(decision.clearReverts, [revertOf()])
  t.equal(decision.revert.length, 1)
  t.strictSame([decision.revert[0]?.fromRevision, decision.revert[0]?.toRevision], [3, 1])
})

t.test('a revert of a workload no longer desired is cleared', async (t) => {
  const decision = decideLocalRevert(
    input({ workloads: [plain('other', 1)], reverts: new Map([['web', revertOf()]]), windows: new Map(), observed: new Map() }),
  )
  t.strictSame(decision.clearReverts, [revertOf()])
  t.strictSame(decision.workloads, [plain('other', 1)])
})

t.test('each workload is decided on its own; order and unrelated workloads are kept', async (t) => {
  const decision = decideLocalRevert(
    input({
      workloads: [plain('static-a', 1), rolling('web'), rolling('api'), rolling('db')],
      windows: new Map([
        ['web', windowOf('web')],
        ['api', windowOf('api')],
      ]),
      observed: new Map([
        ['web', crashLoop],
        ['api', seen()],
        ['db', crashLoop],
      ]),
    }),
  )
  t.strictSame(
    decision.workloads.map((w) => `${w.name}@${w.revision}`),
    ['static-a@1', 'web@1', 'api@2', 'db@1'],
  )
  t.strictSame(
    decision.revert.map((r) => r.workload),
    ['web', 'db'],
  )
  t.strictSame(decision.startWindows, [windowOf('db', 2, T0 + 10_000)], "db's window starts now, and it already fails")
})

t.test('a long reason is cut to what the status allows', async (t) => {
  const w = { ...rolling(), template: template('2', { image: `registry.example/${'x'.repeat(480)}:2` }) }
  const decision = decideLocalRevert(input({ workloads: [w], observed: new Map([['web', seen({ pullFailed: true })]]) }))
  t.equal(decision.revert[0]?.reason.length, 500)
})

t.test('the store keeps windows and reverts across a reopen (reboot)', async (t) => {
  const dir = tempDir(t, 'local-revert-store')
  const path = join(dir, 'agent.db')
  const logger = pino({ level: 'silent' })
  const clock = { now: () => T0 }
  const limits = { maxRecords: 100, maxBytes: 1 << 20 }
  const first = openAgentDatabase(path, logger, { now: clock.now })
  const store = new AgentStore(first.db, clock, limits)
  t.strictSame(store.revertWindows(), [])
  t.strictSame(store.localReverts(), [])
  store.recordLocalRevert({
    startWindows: [windowOf('web'), windowOf('api')],
    clearWindows: [],
    revert: [revertOf()],
    clearReverts: [],
    outbox: [{ kind: 'event', body: { nodeId: 'pi-1', type: 'LocalRevert', severity: 'warning', workload: 'web', message: 'reverted', at: ISO(T0) } }],
  })
  first.db.close()

  const second = openAgentDatabase(path, logger, { now: clock.now })
  t.teardown(() => second.db.open && second.db.close())
  const reopened = new AgentStore(second.db, clock, limits)
  t.strictSame(reopened.revertWindows(), [windowOf('api'), windowOf('web')])
  t.strictSame(reopened.localReverts(), [revertOf()], 'the fallback template survives')
  t.equal(reopened.outboxDepth().records, 1, 'the event was stored with them')

  reopened.recordLocalRevert({ startWindows: [windowOf('web', 3, T0 + 1)], clearWindows: ['api'], revert: [], clearReverts: ['web'], outbox: [] })
  t.strictSame(reopened.revertWindows(), [windowOf('web', 3, T0 + 1)], 'a window is replaced, another cleared')
  t.strictSame(reopened.localReverts(), [])
})

t.test('a database from before local revert is migrated in place, its data kept', async (t) => {
  const path = join(tempDir(t, 'local-revert-migrate'), 'agent.db')
  const old = new Database(path)
  migrate(old, MIGRATIONS.slice(0, 2))
  old.prepare('INSERT INTO outbox_meta (id, next_seq, dropped_events) VALUES (1, 42, 0)').run()
  old.close()
  const opened = openAgentDatabase(path, pino({ level: 'silent' }))
  t.teardown(() => opened.db.open && opened.db.close())
  t.equal(opened.movedAside, null)
  t.equal(schemaVersion(opened.db), MIGRATIONS.length)
  const store = new AgentStore(opened.db, { now: () => T0 }, { maxRecords: 100, maxBytes: 1 << 20 })
  t.strictSame(store.revertWindows(), [])
  t.strictSame(store.localReverts(), [])
  t.equal((opened.db.prepare('SELECT next_seq FROM outbox_meta').get() as { next_seq: number }).next_seq, 42, 'older data untouched')
})
