// The reconciler with the node's bandwidth rules: over an in-memory engine (HollowRuntime,
// SIMULATED), a real SQLite store and meter, a clock the test moves. The real pull from a
// registry, with its bytes counted, is in test/integration/agent-bandwidth.
import path from 'node:path'
import { pino } from 'pino'
import t from 'tap'
import type { PullRules } from '../../agent/bandwidth/pull-decision.js'
import { TrafficMeter } from '../../agent/bandwidth/traffic-meter.js'
import { Reconciler, type DesiredView } from '../../agent/reconcile/reconciler.js'
import { HollowRuntime } from '../../agent/runtime/hollow-runtime.js'
import { AgentStore } from '../../agent/store/agent-store.js'
import { openAgentDatabase } from '../../agent/store/open-agent-database.js'
import type { ContainerTemplate, NodeEvent, NodeStatus, Workload } from '../../protocol/index.js'
import { tempDir } from '../support/tmp.js'
import { HandClock } from '../support/hand-clock.js'

const NODE = 'pi-1'
const silent = pino({ level: 'silent' })
const NO_RULES: PullRules = { budgetBytes: null, windows: null, links: null, link: null }

function workload(name: string, image: string, extra: Partial<Workload> = {}): Workload {
  return {
    name,
    deployment: name,
    revision: 1,
    template: { image, command: ['sleep', '3600'], restartPolicy: 'always', network: 'host' } as ContainerTemplate,
    ...extra,
  }
}

function harness(t: Parameters<typeof tempDir>[0], initialRules: Partial<PullRules>) {
  const dir = tempDir(t, 'reconciler-bw')
  const clock = new HandClock()
  const { db } = openAgentDatabase(path.join(dir, 'agent.db'), silent, { now: () => clock.now() })
  const store = new AgentStore(db, clock, { maxRecords: 10_000, maxBytes: 64 * 1024 * 1024 })
  const runtime = new HollowRuntime({ images: ['r/base:1'] })
  const meter = new TrafficMeter({ store, clock, zone: 'UTC', logger: silent })
  let rules: PullRules = { ...NO_RULES, ...initialRules }
  let desired: DesiredView = { workloads: [], generation: 0, keepUnknown: false }
  const reconciler = new Reconciler({
    nodeId: NODE,
    runtime,
    store,
    clock,
    logger: silent,
    desired: () => desired,
    hubReachable: () => true,
    resyncIntervalMs: 3_600_000,
    bandwidth: { meter, zone: 'UTC', rules: () => rules, usage: () => meter.usage(rules.budgetBytes), report: () => meter.usage(rules.budgetBytes) },
  })
  t.teardown(async () => {
    await reconciler.stop()
    store.close()
  })
  const outbox = () => store.pendingOutbox(0, 10_000, 64 * 1024 * 1024)
  return {
    runtime,
    clock,
    meter,
    setRules: (next: Partial<PullRules>) => void (rules = { ...NO_RULES, ...next }),
    setDesired(workloads: readonly Workload[]) {
      desired = { workloads, generation: desired.generation + 1, keepUnknown: false }
    },
    async pass() {
      reconciler.request('test')
      await reconciler.settled()
    },
    events: () =>
      outbox()
        .filter((row) => row.kind === 'event')
        .map((row) => row.body as NodeEvent),
    statuses: () =>
      outbox()
        .filter((row) => row.kind === 'status')
        .map((row) => row.body as NodeStatus),
    running: async () => (await runtime.list(NODE)).filter((c) => c.state === 'running').map((c) => c.workload),
  }
}

t.test('over the budget: pull-deferred with the reason and the next attempt, one event, nothing pulled', async (t) => {
  const h = harness(t, { budgetBytes: 1000 })
  h.meter.add('control', 1000)
  h.setDesired([workload('api', 'r/api:2'), workload('base', 'r/base:1')])
  await h.pass()
  t.same(await h.running(), ['base'], 'a workload whose image is there runs; the other waits')
  t.equal(await h.runtime.imageExists('r/api:2'), false)
  const api = h
    .statuses()
    .at(-1)
    ?.workloads.find((w) => w.name === 'api')
  t.equal(api?.state, 'pull-deferred')
  t.equal(api?.message, 'pull of r/api:2 deferred: monthly budget: 1000 B of 1000 B used; next attempt at 2027-01-01T00:00:00.000Z')
  const deferred = h.events().filter((e) => e.type === 'PullDeferred')
  t.equal(deferred.length, 1)
  t.match(deferred[0], { workload: 'api', severity: 'warning', data: { image: 'r/api:2', causes: 'budget', nextAttemptAt: '2027-01-01T00:00:00.000Z' } })
  t.notOk(
    h.events().some((e) => e.type === 'ImagePulling'),
    'no pull started',
  )

  const before = h.statuses().length
  h.meter.add('status', 500) // the bytes move on; the deferral is the same
  await h.pass()
  await h.pass()
  t.equal(h.statuses().length, before, 'no new status while nothing but the bytes changed')
  t.equal(h.events().filter((e) => e.type === 'PullDeferred').length, 1)

  h.clock.advance(26 * 24 * 3_600_000) // into January: the meter starts the month at zero
  await h.pass()
  t.same((await h.running()).sort(), ['api', 'base'], 'pulled and started once the month turned')
  t.match(
    h.events().find((e) => e.type === 'ImagePulled'),
    { workload: 'api', data: { bytes: 0 } },
    'the simulated engine reports no layer bytes',
  )
  t.equal(
    h
      .statuses()
      .at(-1)
      ?.workloads.find((w) => w.name === 'api')?.state,
    'running',
  )
})

t.test('--pull-now (pullNow on the workload) pulls whatever the rules say', async (t) => {
  const h = harness(t, { budgetBytes: 1, windows: ['01:00-02:00'], links: ['wired'], link: 'lte' })
  h.meter.add('control', 10)
  h.setDesired([workload('api', 'r/api:2', { pullNow: true })])
  await h.pass()
  t.same(await h.running(), ['api'])
  t.notOk(h.events().some((e) => e.type === 'PullDeferred'))
})

t.test('outside the window: the next opening; inside it on the clock, the pull goes', async (t) => {
  const h = harness(t, { windows: ['22:00-02:00'] })
  h.setDesired([workload('api', 'r/api:2')])
  await h.pass()
  t.match(
    h.events().find((e) => e.type === 'PullDeferred'),
    { data: { causes: 'window', nextAttemptAt: '2026-12-06T22:00:00.000Z' } },
  )
  h.clock.advance(10 * 3_600_000) // 22:00
  await h.pass()
  t.same(await h.running(), ['api'])
})

t.test('the link: waits with no time, goes once a new document says wired', async (t) => {
  const h = harness(t, { links: ['wired'], link: 'lte' })
  h.setDesired([workload('api', 'r/api:2')])
  await h.pass()
  const status = h.statuses().at(-1)?.workloads[0]
  t.equal(status?.message, 'pull of r/api:2 deferred: link is lte; pulls only over wired; next attempt when the rules change (or apply with --pull-now)')
  h.setRules({ links: ['wired'], link: 'wired' })
  await h.pass()
  t.same(await h.running(), ['api'])
})

t.test('a copy running its old revision keeps running while the new pull waits, and says so', async (t) => {
  const h = harness(t, { windows: ['01:00-02:00'] })
  h.setDesired([workload('api', 'r/base:1')])
  await h.pass()
  t.same(await h.running(), ['api'])
  h.setDesired([workload('api', 'r/api:2', { revision: 2 })])
  await h.pass()
  t.same(await h.running(), ['api'], 'still running')
  const status = h.statuses().at(-1)?.workloads[0]
  t.equal(status?.state, 'running')
  t.match(status?.message, /^pull of r\/api:2 deferred: outside the pull windows 01:00-02:00 \(UTC\)/)
})
