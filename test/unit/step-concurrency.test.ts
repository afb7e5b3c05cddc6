import t from 'tap'
import type { Step } from '../../agent/reconcile/plan.js'
import { readySteps, stepDependencies, type StepLimits, type StepState } from '../../agent/reconcile/step-concurrency.js'

const create = (workload: string): Step => ({ kind: 'create', workload })
const start = (workload: string, containerId: string | null = null): Step => ({ kind: 'start', workload, containerId })
const pull = (workload: string, image = `registry.example/${workload}:1`): Step => ({ kind: 'pull', workload, image })
const stop = (workload: string): Step => ({ kind: 'stop', workload, containerId: `${workload}-c1` })
const remove = (workload: string, reason: 'not-desired' | 'duplicate' | 'refused' = 'not-desired'): Step => ({
  kind: 'remove',
  workload,
  containerId: `${workload}-c1`,
  reason,
})
const recreate = (workload: string): Step => ({ kind: 'recreate', workload, containerId: `${workload}-c1` })
const wait = (workload: string): Step => ({ kind: 'wait', workload, until: 0, reason: 'restart-backoff' })

/**
 * Runs a plan to the end, every running step ending together: the waves of indices that ran
 * side by side. Steps named in `failing` are not special here (skipping is the executor's).
 */
function waves(steps: readonly Step[], limits: StepLimits): number[][] {
  const deps = stepDependencies(steps)
  const state: StepState[] = steps.map((s) => (s.kind === 'wait' ? 'done' : 'waiting'))
  const out: number[][] = []
  while (state.some((s) => s !== 'done')) {
    const ready = readySteps(steps, deps, state, limits)
    if (ready.length === 0) throw new Error(`stuck at ${JSON.stringify(state)}`)
    for (const i of ready) state[i] = 'done'
    out.push(ready)
  }
  return out
}

const WIDE: StepLimits = { steps: 64, pulls: 64 }

t.test('independent workloads: each keeps its own order, and the workloads run side by side', async (t) => {
  const steps = [create('a'), start('a'), create('b'), start('b'), create('c'), start('c')]
  t.same(stepDependencies(steps), [[], [0], [], [2], [], [4]])
  t.same(waves(steps, WIDE), [
    [0, 2, 4],
    [1, 3, 5],
  ])
})

t.test('pull, create, start of one workload go in order; a different image is pulled alongside', async (t) => {
  const steps = [pull('a'), create('a'), start('a'), pull('b'), recreate('b')]
  t.same(stepDependencies(steps), [[], [0], [1], [], [3]])
  t.same(waves(steps, WIDE), [[0, 3], [1, 4], [2]])
})

t.test('a pull waits for an earlier pull of the same image, then both workloads go on', async (t) => {
  const image = 'registry.example/shared:1'
  const steps = [pull('a', image), create('a'), pull('b', image), create('b'), pull('c', 'registry.example/other:1')]
  t.same(stepDependencies(steps), [[], [0], [0], [2], []])
  t.same(waves(steps, WIDE), [[0, 4], [1, 2], [3]])
})

t.test("a several-container copy is one lane: init containers, the namespace holder and its joiners keep the plan's order", async (t) => {
  const steps = [create('web.init'), start('web.init'), create('web.app'), start('web.app'), create('web.sidecar'), create('db'), start('db')]
  t.same(stepDependencies(steps), [[], [0], [1], [2], [3], [], [5]])
  t.same(waves(steps, WIDE), [[0, 5], [1, 6], [2], [3], [4]])
})

t.test('two copies with several containers each run side by side, each in its own order', async (t) => {
  const steps = [create('a.one'), create('a.two'), create('b.one'), create('b.two')]
  t.same(stepDependencies(steps), [[], [0], [], [2]])
})

t.test('what takes resources waits for every earlier stop and remove of other workloads', async (t) => {
  // The plan puts removals of workloads no longer desired first: a renamed workload's host port or device is free before its successor starts.
  const steps = [remove('old'), remove('older'), create('new'), start('new'), start('idle', 'idle-c1'), recreate('changed'), pull('later')]
  t.same(stepDependencies(steps), [[], [], [0, 1], [0, 1, 2], [0, 1], [0, 1], []])
  t.same(waves(steps, WIDE), [[0, 1, 6], [2, 4, 5], [3]])
})

t.test("a workload's own removal of a duplicate comes before its start, and a stop before what follows it", async (t) => {
  const steps = [remove('a', 'duplicate'), start('a', 'a-c2'), stop('b'), remove('b', 'refused'), create('c')]
  t.same(stepDependencies(steps), [[], [0], [], [2], [0, 2, 3]])
})

t.test('a removal never waits for a create: removals run as soon as their lane lets them', async (t) => {
  const steps = [create('a'), remove('b'), remove('a', 'duplicate')]
  t.same(stepDependencies(steps), [[], [], [0]])
})

t.test('wait steps neither wait nor are waited for', async (t) => {
  const steps = [wait('a'), create('b'), wait('b'), start('b')]
  t.same(stepDependencies(steps), [[], [], [], [1]])
})

t.test('one step at a time runs the plan exactly in its order', async (t) => {
  const image = 'registry.example/shared:1'
  const steps = [
    remove('gone'),
    pull('a', image),
    create('a'),
    start('a'),
    wait('b'),
    create('c.init'),
    start('c.init'),
    pull('d', image),
    recreate('d'),
    stop('e'),
    start('f', 'f-c1'),
  ]
  const order = waves(steps, { steps: 1, pulls: 1 }).flat()
  t.same(
    order,
    steps.flatMap((s, i) => (s.kind === 'wait' ? [] : [i])),
  )
})

t.test('every dependency points to an earlier step, so the plan order is always a valid order', async (t) => {
  const steps = [remove('x'), pull('a'), create('a'), start('a'), stop('b'), recreate('c'), create('a.x'), create('a.y'), pull('z', 'registry.example/a:1')]
  stepDependencies(steps).forEach((deps, i) => {
    for (const d of deps) t.ok(d < i, `step ${i} depends on ${d}`)
  })
})

t.test('readySteps keeps within the step limit, lowest index first', async (t) => {
  const steps = [create('a'), create('b'), create('c'), create('d')]
  const deps = stepDependencies(steps)
  t.same(readySteps(steps, deps, ['waiting', 'waiting', 'waiting', 'waiting'], { steps: 2, pulls: 2 }), [0, 1])
  t.same(readySteps(steps, deps, ['running', 'waiting', 'waiting', 'waiting'], { steps: 2, pulls: 2 }), [1], 'a running step takes a slot')
  t.same(readySteps(steps, deps, ['running', 'running', 'waiting', 'waiting'], { steps: 2, pulls: 2 }), [], 'full')
  t.same(readySteps(steps, deps, ['done', 'running', 'waiting', 'waiting'], { steps: 2, pulls: 2 }), [2])
  t.same(readySteps(steps, deps, ['done', 'done', 'done', 'done'], { steps: 2, pulls: 2 }), [], 'nothing left')
})

t.test('readySteps keeps pulls within the pull limit and lets other steps past a pull that must wait', async (t) => {
  const steps = [pull('a'), pull('b'), pull('c'), create('d'), create('e')]
  const deps = stepDependencies(steps)
  t.same(readySteps(steps, deps, ['waiting', 'waiting', 'waiting', 'waiting', 'waiting'], { steps: 4, pulls: 1 }), [0, 3, 4])
  t.same(readySteps(steps, deps, ['running', 'waiting', 'waiting', 'done', 'done'], { steps: 4, pulls: 2 }), [1], 'a running pull counts')
  t.same(readySteps(steps, deps, ['done', 'waiting', 'waiting', 'waiting', 'waiting'], { steps: 4, pulls: 4 }), [1, 2, 3, 4])
})

t.test('readySteps starts nothing whose dependencies are not all done', async (t) => {
  const steps = [remove('old'), create('new'), start('new')]
  const deps = stepDependencies(steps)
  t.same(readySteps(steps, deps, ['running', 'waiting', 'waiting'], WIDE), [])
  t.same(readySteps(steps, deps, ['done', 'waiting', 'waiting'], WIDE), [1])
  t.same(readySteps(steps, deps, ['done', 'running', 'waiting'], WIDE), [])
})
