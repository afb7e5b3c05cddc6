// The reconciler shell (plan, execute, record, report) over an in-memory engine that obeys the
// ContainerRuntime interface (HollowRuntime, SIMULATED), with a real SQLite store and a clock the
// test moves. What Docker itself does is tested against the real engine (docker-runtime,
// agent-* integration tests); here the subject is the loop's bookkeeping: what it creates,
// replaces, restarts and removes, what it stores and what it reports.
import path from 'node:path'
import { pino } from 'pino'
import t from 'tap'
import { executeSteps } from '../../agent/reconcile/executor.js'
import { Reconciler, type DesiredView } from '../../agent/reconcile/reconciler.js'
import { HollowRuntime } from '../../agent/runtime/hollow-runtime.js'
import type { ContainerWorkload } from '../../agent/runtime/runtime.js'
import { AgentStore } from '../../agent/store/agent-store.js'
import { openAgentDatabase } from '../../agent/store/open-agent-database.js'
import type { ContainerTemplate, NodeEvent, NodeStatus, Workload } from '../../protocol/index.js'
import { tempDir } from '../support/tmp.js'
import { HandClock } from '../support/hand-clock.js'

const IMAGE = 'shoal-test/busybox:1'
const NODE = 'pi-1'
const silent = pino({ level: 'silent' })

function workload(name: string, extra: Partial<ContainerTemplate> = {}, revision = 1): ContainerWorkload {
  return {
    name,
    deployment: name,
    revision,
    template: { image: IMAGE, command: ['sleep', '3600'], restartPolicy: 'always', network: 'host', ...extra } as ContainerTemplate,
  }
}

interface Harness {
  readonly runtime: HollowRuntime
  readonly store: AgentStore
  readonly clock: HandClock
  readonly reconciler: Reconciler
  setDesired(workloads: readonly Workload[], keepUnknown?: boolean): void
  /** Asks for a pass and waits until no pass runs or is queued. */
  pass(reason?: string): Promise<void>
  running(): Promise<Array<{ workload: string; id: string; revision: number }>>
  events(): NodeEvent[]
  lastStatus(): NodeStatus | undefined
  mutations(): number
}

function harness(t: Parameters<typeof tempDir>[0], options: { images?: readonly string[] } = {}): Harness {
  const dir = tempDir(t, 'reconciler')
  const clock = new HandClock()
  const { db } = openAgentDatabase(path.join(dir, 'agent.db'), silent, { now: () => clock.now() })
  const store = new AgentStore(db, clock, { maxRecords: 10_000, maxBytes: 64 * 1024 * 1024 })
  let mutations = 0
  const runtime = new HollowRuntime({ images: options.images ?? [IMAGE], onEvent: () => mutations++ })
  let desired: DesiredView = { workloads: [], generation: 0, keepUnknown: true }
  const reconciler = new Reconciler({
    nodeId: NODE,
    runtime,
    store,
    clock,
    logger: silent,
    desired: () => desired,
    hubReachable: () => true,
    resyncIntervalMs: 3_600_000,
  })
  t.teardown(async () => {
    await reconciler.stop()
    store.close()
  })
  return {
    runtime,
    store,
    clock,
    reconciler,
    setDesired(workloads, keepUnknown = false) {
      desired = { workloads, generation: desired.generation + 1, keepUnknown }
    },
    async pass(reason = 'test') {
      reconciler.request(reason)
      await reconciler.settled()
    },
    async running() {
      return (await runtime.list(NODE)).filter((c) => c.state === 'running').map((c) => ({ workload: c.workload, id: c.id, revision: c.revision }))
    },
    events() {
      return store
        .pendingOutbox(0, 10_000, 64 * 1024 * 1024)
        .filter((row) => row.kind === 'event')
        .map((row) => row.body as NodeEvent)
    },
    lastStatus() {
      const statuses = store.pendingOutbox(0, 10_000, 64 * 1024 * 1024).filter((row) => row.kind === 'status')
      return statuses.at(-1)?.body as NodeStatus | undefined
    },
    mutations: () => mutations,
  }
}

t.test('creates and starts what is desired, stores it and reports it', async (t) => {
  const h = harness(t)
  h.reconciler.start()
  await h.reconciler.settled()
  h.setDesired([workload('web'), workload('db')])
  await h.pass()
  const running = await h.running()
  t.same(running.map((c) => c.workload).sort(), ['db', 'web'], 'one running container per workload')
  t.same(
    h.store
      .workloads()
      .map((w) => [w.name, w.state, w.containerId])
      .sort(),
    running.map((c) => [c.workload, 'running', c.id]).sort(),
    'the store records each as running with its container',
  )
  const status = h.lastStatus()
  t.same(
    status?.workloads.map((w) => [w.name, w.state]).sort(),
    [
      ['db', 'running'],
      ['web', 'running'],
    ],
    'the last status reports both running',
  )
  t.ok(
    h.events().some((e) => e.type === 'WorkloadStateChanged' && e.workload === 'web'),
    'a state change event for each',
  )
})

t.test('a pass with nothing to do touches nothing and reports nothing new', async (t) => {
  const h = harness(t)
  h.reconciler.start()
  h.setDesired([workload('web')])
  await h.pass()
  const mutations = h.mutations()
  const outbox = h.store.outboxDepth().records
  await h.pass()
  await h.pass()
  t.equal(h.mutations(), mutations, 'no engine call that changes anything')
  t.equal(h.store.outboxDepth().records, outbox, 'no new outbox record')
})

t.test('a template change replaces the container; a removed workload is removed', async (t) => {
  const h = harness(t)
  h.reconciler.start()
  h.setDesired([workload('web'), workload('db')])
  await h.pass()
  const before = new Map((await h.running()).map((c) => [c.workload, c.id]))
  h.setDesired([workload('web', { env: { MODE: 'new' } }, 2)])
  await h.pass()
  const after = await h.running()
  t.equal(after.length, 1, 'only web runs')
  t.equal(after[0]?.workload, 'web')
  t.not(after[0]?.id, before.get('web'), 'web runs in a new container')
  t.equal(after[0]?.revision, 2, 'of the new revision')
  t.same(
    await h.runtime.list(NODE).then((all) => all.map((c) => c.id).filter((id) => id === before.get('web') || id === before.get('db'))),
    [],
    'the old containers are gone',
  )
  t.same(
    h.store.workloads().map((w) => w.name),
    ['web'],
    'the store forgets db',
  )
  t.ok(
    h.events().some((e) => e.type === 'WorkloadRemoved' && e.workload === 'db'),
    'db removal reported',
  )
})

t.test("containers it cannot account for stay until the hub's document is known, then go", async (t) => {
  const h = harness(t)
  const stray = await h.runtime.create({ nodeId: NODE, name: `shoal-${NODE}-stray`, workload: workload('stray'), configHash: 'x', extraLabels: {} })
  await h.runtime.start(stray)
  h.reconciler.start()
  await h.reconciler.settled()
  t.equal((await h.running()).length, 1, 'kept while the desired document is unknown')
  h.setDesired([workload('web')])
  await h.pass()
  t.same(
    (await h.running()).map((c) => c.workload),
    ['web'],
    'removed once the document says what belongs',
  )
})

t.test('a crash is restarted only after the backoff, measured on the monotonic clock', async (t) => {
  const h = harness(t)
  h.reconciler.start()
  h.setDesired([workload('web')])
  await h.pass()
  const [first] = await h.running()
  h.runtime.crash(first?.id ?? '', 3)
  await h.reconciler.settled()
  await h.pass('after-crash')
  t.same(await h.running(), [], 'not restarted at once (10 s backoff for a first crash)')
  const record = h.store.workload('web')
  t.equal(record?.exitCode, 3, 'the exit code is stored')
  t.equal(record?.recentCrashes.length, 1, 'one crash counted')

  // The wall clock steps back a year: the backoff is measured on the monotonic clock, so nothing changes.
  h.clock.wall -= 365 * 24 * 3600 * 1000
  h.clock.mono += 5_000
  await h.pass('stepped')
  t.same(await h.running(), [], 'still waiting halfway through the backoff, whatever the wall clock says')
  h.clock.mono += 5_100
  await h.pass('backoff-elapsed')
  const restarted = await h.running()
  t.equal(restarted.length, 1, 'restarted once the backoff elapsed')
  t.equal(h.store.workload('web')?.restarts, 1, 'one restart recorded')
})

t.test('a crash under restartPolicy never stays down', async (t) => {
  const h = harness(t)
  h.reconciler.start()
  h.setDesired([workload('job', { restartPolicy: 'never' })])
  await h.pass()
  const [first] = await h.running()
  h.runtime.crash(first?.id ?? '', 1)
  await h.reconciler.settled()
  h.clock.advance(600_000)
  await h.pass()
  t.same(await h.running(), [], 'not restarted')
  t.equal(h.store.workload('job')?.state, 'exited', 'stored as exited')
  t.equal(h.lastStatus()?.workloads[0]?.exitCode, 1, 'reported with its exit code')
})

t.test("an exit under restartPolicy never is reported with the container's last lines (a job copy's output)", async (t) => {
  const h = harness(t)
  h.reconciler.start()
  h.setDesired([workload('job', { restartPolicy: 'never' }), workload('web')])
  await h.pass()
  t.notOk(
    h.lastStatus()?.workloads.some((w) => w.lastLogLines),
    'no lines while it runs',
  )
  const job = (await h.running()).find((c) => c.workload === 'job')
  h.runtime.crash(job?.id ?? '', 0)
  await h.reconciler.settled()
  await h.pass()
  const reported = h.lastStatus()?.workloads.find((w) => w.name === 'job')
  t.match(reported, { state: 'exited', exitCode: 0 })
  // Hollow containers print nothing: the lines are there, empty.
  t.same(reported?.lastLogLines, [], 'its last lines go with the status that reports the exit')
  t.notOk(h.lastStatus()?.workloads.find((w) => w.name === 'web')?.lastLogLines, 'a running copy sends none')
})

t.test('executeSteps: a failed step skips the rest of its workload, never the others', async (t) => {
  const runtime = new HollowRuntime({ images: [IMAGE] })
  const missing = workload('broken', { image: 'shoal-test/not-pulled:1' })
  const fine = workload('fine')
  const workloads = new Map([
    ['broken', { workload: missing, configHash: 'a' }],
    ['fine', { workload: fine, configHash: 'b' }],
  ])
  const outcomes = await executeSteps(
    [
      { kind: 'create', workload: 'broken' },
      { kind: 'start', workload: 'broken', containerId: null },
      { kind: 'wait', workload: 'fine', until: 0, reason: 'restart-backoff' },
      { kind: 'create', workload: 'fine' },
      { kind: 'start', workload: 'fine', containerId: null },
    ],
    workloads,
    { nodeId: NODE, runtime, logger: silent, extraLabels: {}, stopping: new Set() },
  )
  t.same(
    outcomes.map((o) => [o.workload, o.step, o.ok]),
    [
      ['broken', 'create', false],
      ['fine', 'create', true],
      ['fine', 'start', true],
    ],
    'broken stops at its failed create; wait is no action; fine goes on',
  )
  t.match(outcomes[0]?.error, /image shoal-test\/not-pulled:1 is not present/, 'the failure says why')
  const containers = await runtime.list(NODE)
  t.same(
    containers.map((c) => [c.workload, c.state]),
    [['fine', 'running']],
    'only fine exists, running',
  )
  t.equal(outcomes[2]?.containerId, containers[0]?.id, 'start reports the container it started')
})
