import t from 'tap'
import { alertChanges, isClosed, nextAlert, type AlertDraft, type AlertRecord } from '../../hub/alerts/alert-lifecycle.js'
import { alertConditions, DEFAULT_ALERT_SETTINGS, type AlertCondition, type AlertFacts, type AlertSettings } from '../../hub/alerts/alert-rules.js'

const NOW = Date.parse('2026-12-07T12:00:00Z')
const MIN = 60_000
const GIB = 1024 ** 3

const EMPTY: AlertFacts = { nodes: [], deployments: [], rollouts: [], crashLoops: [] }
type FactNode = AlertFacts['nodes'][number]
const node = (id: string, overrides: Partial<FactNode> = {}): FactNode => ({
  id,
  online: true,
  offlineSince: null,
  enrolledAt: NOW - 60 * MIN,
  memory: { usedBytes: 1 * GIB, totalBytes: 4 * GIB },
  disk: { usedBytes: 10 * GIB, totalBytes: 100 * GIB },
  ...overrides,
})
const facts = (parts: Partial<AlertFacts>): AlertFacts => ({ ...EMPTY, ...parts })
const rulesOf = (conditions: readonly AlertCondition[]): string[] => conditions.map((c) => c.key)

t.test('a healthy fleet has no conditions', async (t) => {
  const conditions = alertConditions(
    facts({
      nodes: [node('a'), node('b')],
      deployments: [{ name: 'web', desired: 2, ready: 2 }],
      rollouts: [{ deployment: 'web', revision: 2, failed: null, paused: null }],
    }),
    DEFAULT_ALERT_SETTINGS,
  )
  t.same(conditions, [])
})

t.test('an offline node: since it went offline, or since it enrolled when it never connected', async (t) => {
  const [went, never] = alertConditions(
    facts({ nodes: [node('a', { online: false, offlineSince: NOW - 2 * MIN }), node('b', { online: false })] }),
    DEFAULT_ALERT_SETTINGS,
  )
  t.match(went, { key: 'NodeOffline/a//', rule: 'NodeOffline', severity: 'warning', node: 'a', deployment: null, since: NOW - 2 * MIN, forMs: 5 * MIN })
  t.match(went?.message, /offline since 2026-12-07T11:58:00.000Z/)
  t.match(never, { key: 'NodeOffline/b//', since: NOW - 60 * MIN })
  t.match(never?.message, /not connected since it enrolled/)
})

t.test('disk and memory at or past their percent, from the latest heartbeat; an unknown total is no condition', async (t) => {
  const conditions = alertConditions(
    facts({
      nodes: [
        node('full', { disk: { usedBytes: 90 * GIB, totalBytes: 100 * GIB }, memory: { usedBytes: 3.8 * GIB, totalBytes: 4 * GIB } }),
        node('almost', { disk: { usedBytes: 89 * GIB, totalBytes: 100 * GIB }, memory: { usedBytes: 3.5 * GIB, totalBytes: 4 * GIB } }),
        node('blind', { disk: null, memory: { usedBytes: 0, totalBytes: 0 } }),
      ],
    }),
    DEFAULT_ALERT_SETTINGS,
  )
  t.same(rulesOf(conditions), ['DiskNearFull/full//', 'MemoryNearFull/full//'])
  t.match(conditions[0]?.message, /disk 90% full/)
  t.match(conditions[1]?.message, /memory 95% used/)
  t.equal(conditions[0]?.forMs, 0, 'fires on the heartbeat that shows it')
})

t.test('a deployment with fewer ready copies than desired; its start is not known from the facts', async (t) => {
  const conditions = alertConditions(
    facts({
      deployments: [
        { name: 'short', desired: 3, ready: 1 },
        { name: 'full', desired: 2, ready: 2 },
        { name: 'surge', desired: 2, ready: 3 },
        { name: 'none', desired: 0, ready: 0 },
      ],
    }),
    DEFAULT_ALERT_SETTINGS,
  )
  t.same(rulesOf(conditions), ['DeploymentUnavailable//short/'])
  t.match(conditions[0], { deployment: 'short', node: null, since: null, forMs: 10 * MIN, message: 'deployment short: 1 of 3 copies ready' })
})

t.test('a failed rollout is critical at once; a pause is info after its duration', async (t) => {
  const conditions = alertConditions(
    facts({
      rollouts: [
        { deployment: 'web', revision: 4, failed: { message: 'HealthGateFailed: 2 copies failed', since: NOW - MIN }, paused: null },
        { deployment: 'api', revision: 2, failed: null, paused: { message: 'paused by an operator', since: NOW - 3 * MIN } },
      ],
    }),
    DEFAULT_ALERT_SETTINGS,
  )
  t.same(rulesOf(conditions), ['RolloutFailed//web/', 'RolloutPaused//api/'])
  t.match(conditions[0], { severity: 'critical', forMs: 0, since: NOW - MIN })
  t.match(conditions[0]?.message, /revision 4 failed: HealthGateFailed/)
  t.match(conditions[1], { severity: 'info', forMs: 30 * MIN, since: NOW - 3 * MIN })
})

t.test('a crash loop is one condition per copy, with its node, deployment and workload', async (t) => {
  const conditions = alertConditions(
    facts({
      crashLoops: [
        { nodeId: 'b', workload: 'web-1', deployment: 'web', since: NOW - 10_000 },
        { nodeId: 'a', workload: 'web-0', deployment: 'web', since: NOW - 20_000 },
      ],
    }),
    DEFAULT_ALERT_SETTINGS,
  )
  t.same(rulesOf(conditions), ['CrashLoop/a/web/web-0', 'CrashLoop/b/web/web-1'], 'sorted by key')
  t.match(conditions[0], { node: 'a', deployment: 'web', workload: 'web-0', message: 'web-0 on a is in a crash loop' })
})

t.test('a rule set to null is off; thresholds come from the settings', async (t) => {
  const off: AlertSettings = {
    nodeOfflineMs: null,
    deploymentUnavailableMs: null,
    rolloutFailedMs: null,
    rolloutPausedMs: null,
    crashLoopMs: null,
    diskPercent: null,
    memoryPercent: null,
  }
  const everything = facts({
    nodes: [node('a', { online: false, offlineSince: NOW, disk: { usedBytes: 99, totalBytes: 100 }, memory: { usedBytes: 99, totalBytes: 100 } })],
    deployments: [{ name: 'web', desired: 1, ready: 0 }],
    rollouts: [{ deployment: 'web', revision: 1, failed: { message: 'x', since: NOW }, paused: { message: 'y', since: NOW } }],
    crashLoops: [{ nodeId: 'a', workload: 'web-0', deployment: 'web', since: NOW }],
  })
  t.same(alertConditions(everything, off), [])
  t.equal(alertConditions(everything, DEFAULT_ALERT_SETTINGS).length, 7, 'every rule, with the defaults')
  const strict = alertConditions(facts({ nodes: [node('a', { disk: { usedBytes: 50, totalBytes: 100 } })] }), { ...off, diskPercent: 50, nodeOfflineMs: 2_000 })
  t.same(rulesOf(strict), ['DiskNearFull/a//'])
})

const condition = (overrides: Partial<AlertCondition> = {}): AlertCondition => ({
  key: 'NodeOffline/a//',
  rule: 'NodeOffline',
  severity: 'warning',
  node: 'a',
  deployment: null,
  workload: null,
  message: 'node a is offline',
  since: null,
  forMs: 5 * MIN,
  ...overrides,
})

t.test('nextAlert: pending until the condition has held for its duration, then firing', async (t) => {
  const first = nextAlert(null, condition(), NOW)
  t.match(first, { state: 'pending', holdingSince: NOW, firedAt: null })
  const still = nextAlert(first, condition(), NOW + 4 * MIN)
  t.match(still, { state: 'pending', holdingSince: NOW }, 'the start is kept across evaluations')
  const fired = nextAlert(still, condition({ message: 'now longer' }), NOW + 5 * MIN)
  t.match(fired, { state: 'firing', firedAt: NOW + 5 * MIN, holdingSince: NOW, message: 'now longer' })
  t.same(nextAlert(fired, condition(), NOW + 6 * MIN)?.firedAt, NOW + 5 * MIN, 'a firing alert keeps its time')
})

t.test('nextAlert: a start known from the facts counts, so a node offline long before fires at once', async (t) => {
  t.match(nextAlert(null, condition({ since: NOW - 6 * MIN }), NOW), { state: 'firing', firedAt: NOW, holdingSince: NOW - 6 * MIN })
  t.match(nextAlert(null, condition({ since: NOW - MIN }), NOW), { state: 'pending', holdingSince: NOW - MIN })
  t.match(nextAlert(null, condition({ forMs: 0 }), NOW), { state: 'firing' }, 'no duration: at once')
})

t.test('nextAlert: a condition that clears drops a pending alert and resolves a firing one', async (t) => {
  t.equal(nextAlert(nextAlert(null, condition(), NOW), null, NOW + MIN), null)
  const firing = nextAlert(null, condition({ forMs: 0 }), NOW)
  const resolved = nextAlert(firing, null, NOW + MIN)
  t.match(resolved, { state: 'resolved', resolvedAt: NOW + MIN, holdingSince: null, firedAt: NOW })
  t.equal(nextAlert(resolved, null, NOW + 2 * MIN), resolved, 'a resolved alert stays as it is while the condition stays away')
  t.equal(nextAlert(null, null, NOW), null)
})

t.test('nextAlert: a resolved alert whose condition comes back fires again, unacknowledged, after the duration', async (t) => {
  const resolved: AlertDraft = {
    ...(nextAlert(null, condition({ since: NOW - 10 * MIN }), NOW) as AlertDraft),
    state: 'resolved',
    resolvedAt: NOW,
    holdingSince: null,
  }
  const back = nextAlert(resolved, condition(), NOW + MIN)
  t.match(back, { state: 'resolved', holdingSince: NOW + MIN }, 'resolved while the condition has not held long enough')
  const again = nextAlert(back, condition(), NOW + 6 * MIN)
  t.match(again, { state: 'firing', firedAt: NOW + 6 * MIN, resolvedAt: null, acknowledgedAt: null })
  const cleared = nextAlert(back, null, NOW + 2 * MIN)
  t.match(cleared, { state: 'resolved', holdingSince: null, resolvedAt: NOW }, 'a short return leaves the first resolution as it was')
})

t.test('nextAlert: an acknowledged firing alert stays firing and acknowledged; when it resolves it is closed', async (t) => {
  const firing = nextAlert(null, condition({ forMs: 0 }), NOW) as AlertDraft
  const acked: AlertDraft = { ...firing, acknowledgedAt: NOW + 1, acknowledgedBy: 'admin' }
  const still = nextAlert(acked, condition({ forMs: 0 }), NOW + MIN) as AlertDraft
  t.match(still, { state: 'firing', acknowledgedAt: NOW + 1, acknowledgedBy: 'admin' })
  t.notOk(isClosed(still))
  const resolved = nextAlert(still, null, NOW + 2 * MIN) as AlertDraft
  t.ok(isClosed(resolved), 'resolved and acknowledged')
  t.notOk(isClosed({ ...resolved, acknowledgedAt: null }), 'resolved without acknowledgement stays open')
})

t.test('alertChanges: inserts new keys, updates changed ones, removes dropped pending ones, leaves the rest', async (t) => {
  const record = (id: number, draft: AlertDraft): AlertRecord => ({ ...draft, id })
  const firingB = record(2, nextAlert(null, condition({ key: 'NodeOffline/b//', node: 'b', forMs: 0 }), NOW - MIN) as AlertDraft)
  const pendingC = record(3, nextAlert(null, condition({ key: 'NodeOffline/c//', node: 'c' }), NOW - MIN) as AlertDraft)
  const steadyD = record(4, nextAlert(null, condition({ key: 'NodeOffline/d//', node: 'd', forMs: 0, since: NOW - MIN }), NOW - MIN) as AlertDraft)
  const changes = alertChanges(
    [firingB, pendingC, steadyD],
    [condition({ key: 'NodeOffline/a//', forMs: 0 }), condition({ key: 'NodeOffline/d//', node: 'd', forMs: 0, since: NOW - MIN })],
    NOW,
  )
  t.same(
    changes.insert.map((a) => [a.key, a.state]),
    [['NodeOffline/a//', 'firing']],
  )
  t.same(
    changes.update.map((a) => [a.id, a.state, a.resolvedAt]),
    [[2, 'resolved', NOW]],
  )
  t.same(changes.remove, [3])
  t.same(
    alertChanges([steadyD], [condition({ key: 'NodeOffline/d//', node: 'd', forMs: 0, since: NOW - MIN })], NOW + MIN),
    { insert: [], update: [], remove: [] },
    'nothing to write when nothing changed',
  )
})

t.test('alertChanges is a fixed point: applying its changes and evaluating again changes nothing', async (t) => {
  const conditions = [condition({ forMs: 0 }), condition({ key: 'NodeOffline/b//', node: 'b' })]
  const first = alertChanges([], conditions, NOW)
  const stored = first.insert.map((draft, i) => ({ ...draft, id: i + 1 }))
  t.same(alertChanges(stored, conditions, NOW), { insert: [], update: [], remove: [] })
})
