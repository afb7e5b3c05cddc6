import t from 'tap'
import { configHash } from '../../agent/reconcile/config-hash.js'
import { planSteps, type DesiredWorkload, type Step, type WorkloadTiming } from '../../agent/reconcile/plan.js'
import type { ContainerWorkload, ContainerRunState, ObservedContainer } from '../../agent/runtime/runtime.js'
import { ContainerTemplate, type ContainerTemplateInput, type RestartPolicy } from '../../protocol/index.js'

const NODE = 'pi-17'
const NOW = 1_750_000_000_000

/** A desired workload; the template defaults to a small always-restarting image. */
function workload(name: string, overrides: Partial<ContainerTemplateInput> & { revision?: number } = {}): ContainerWorkload {
  const { revision = 1, ...template } = overrides
  return { name, deployment: name, revision, template: ContainerTemplate.parse({ image: `registry.example/${name}:1`, ...template }) }
}

/** The hash a container created for `workload(name)` (with no overrides) carries. */
function hashOf(w: ContainerWorkload): string {
  return configHash(w, NODE)
}

/** An observed container of a workload; by default running and matching `workload(name)`. */
function container(name: string, overrides: Partial<ObservedContainer> = {}): ObservedContainer {
  return {
    id: `${name}-c1`,
    name: `shoal-${NODE}-${name}`,
    workload: name,
    deployment: name,
    revision: 1,
    configHash: hashOf(workload(name)),
    state: 'running',
    exitCode: null,
    health: 'none',
    restartCount: 0,
    startedAt: '2025-06-01T10:00:00.000Z',
    finishedAt: null,
    ...overrides,
  }
}

interface Scenario {
  desired?: readonly ContainerWorkload[]
  observed?: readonly ObservedContainer[]
  /** Workload name → backoffUntil. */
  backoff?: Readonly<Record<string, number>>
  /** Images present on the node; by default every desired workload's image. */
  images?: readonly string[]
  keepUnknown?: boolean
  now?: number
}

function plan(scenario: Scenario): Step[] {
  const desired: DesiredWorkload[] = (scenario.desired ?? []).map((w) => ({ workload: w, configHash: hashOf(w) }))
  const timing = new Map<string, WorkloadTiming>(Object.entries(scenario.backoff ?? {}).map(([name, backoffUntil]) => [name, { backoffUntil }]))
  const images = scenario.images ?? desired.map((d) => d.workload.template.image)
  return planSteps({
    desired,
    observed: scenario.observed ?? [],
    timing,
    imagesPresent: new Set(images),
    keepUnknown: scenario.keepUnknown ?? false,
    now: scenario.now ?? NOW,
  })
}

t.test('with no container and the image absent, pulls, then creates and starts', async (t) => {
  t.strictSame(plan({ desired: [workload('ingest')], images: [] }), [
    { kind: 'pull', workload: 'ingest', image: 'registry.example/ingest:1' },
    { kind: 'create', workload: 'ingest' },
    { kind: 'start', workload: 'ingest', containerId: null },
  ])
})

t.test('with no container and the image present, creates and starts without pulling', async (t) => {
  t.strictSame(plan({ desired: [workload('ingest')] }), [
    { kind: 'create', workload: 'ingest' },
    { kind: 'start', workload: 'ingest', containerId: null },
  ])
})

t.test('does nothing when the matching container is running', async (t) => {
  t.strictSame(plan({ desired: [workload('ingest')], observed: [container('ingest')] }), [])
  t.strictSame(
    plan({ desired: [workload('ingest')], observed: [container('ingest')], images: [] }),
    [],
    'a running match needs no image, even if it was pruned',
  )
})

t.test('recreates a container whose config hash differs', async (t) => {
  const changed = workload('ingest', { env: { LEVEL: 'debug' } })
  t.strictSame(plan({ desired: [changed], observed: [container('ingest')] }), [{ kind: 'recreate', workload: 'ingest', containerId: 'ingest-c1' }])
})

t.test('pulls before recreating when the new config needs an image that is absent', async (t) => {
  const upgraded = workload('ingest', { image: 'registry.example/ingest:2' })
  t.strictSame(plan({ desired: [upgraded], observed: [container('ingest')], images: ['registry.example/ingest:1'] }), [
    { kind: 'pull', workload: 'ingest', image: 'registry.example/ingest:2' },
    { kind: 'recreate', workload: 'ingest', containerId: 'ingest-c1' },
  ])
})

t.test('a new config is applied at once, even while a crash backoff is running', async (t) => {
  const changed = workload('ingest', { env: { LEVEL: 'debug' } })
  const steps = plan({ desired: [changed], observed: [container('ingest', { state: 'exited', exitCode: 1 })], backoff: { ingest: NOW + 60_000 } })
  t.strictSame(steps, [{ kind: 'recreate', workload: 'ingest', containerId: 'ingest-c1' }])
})

t.test('starts a container that was created but never started', async (t) => {
  t.strictSame(plan({ desired: [workload('ingest')], observed: [container('ingest', { state: 'created', startedAt: null })] }), [
    { kind: 'start', workload: 'ingest', containerId: 'ingest-c1' },
  ])
})

t.test('an exited container is started again or left alone as its restart policy says', async (t) => {
  const cases: readonly { policy: RestartPolicy; exitCode: number | null; restart: boolean }[] = [
    { policy: 'always', exitCode: 0, restart: true },
    { policy: 'always', exitCode: 1, restart: true },
    { policy: 'always', exitCode: 137, restart: true },
    { policy: 'on-failure', exitCode: 0, restart: false },
    { policy: 'on-failure', exitCode: 1, restart: true },
    { policy: 'on-failure', exitCode: 137, restart: true },
    { policy: 'on-failure', exitCode: null, restart: true },
    { policy: 'never', exitCode: 0, restart: false },
    { policy: 'never', exitCode: 1, restart: false },
    { policy: 'never', exitCode: null, restart: false },
  ]
  for (const { policy, exitCode, restart } of cases) {
    const desired = workload('job', { restartPolicy: policy })
    const steps = plan({ desired: [desired], observed: [container('job', { state: 'exited', exitCode, configHash: hashOf(desired) })] })
    t.strictSame(
      steps,
      restart ? [{ kind: 'start', workload: 'job', containerId: 'job-c1' }] : [],
      `${policy}, exit code ${String(exitCode)}: ${restart ? 'start' : 'nothing'}`,
    )
  }
})

t.test('waits, with the time to wake, while the restart backoff is in the future', async (t) => {
  const observed = [container('ingest', { state: 'exited', exitCode: 1 })]
  t.strictSame(plan({ desired: [workload('ingest')], observed, backoff: { ingest: NOW + 20_000 } }), [
    { kind: 'wait', workload: 'ingest', until: NOW + 20_000, reason: 'restart-backoff' },
  ])
  t.strictSame(
    plan({ desired: [workload('ingest')], observed, backoff: { ingest: NOW } }),
    [{ kind: 'start', workload: 'ingest', containerId: 'ingest-c1' }],
    'backoff ending now: start',
  )
  t.strictSame(
    plan({ desired: [workload('ingest')], observed, backoff: { ingest: NOW - 1 } }),
    [{ kind: 'start', workload: 'ingest', containerId: 'ingest-c1' }],
    'backoff elapsed: start',
  )
})

t.test('a backoff does not hold back a container that needs no restart', async (t) => {
  const job = workload('job', { restartPolicy: 'never' })
  t.strictSame(
    plan({ desired: [job], observed: [container('job', { state: 'exited', exitCode: 1, configHash: hashOf(job) })], backoff: { job: NOW + 10_000 } }),
    [],
  )
  t.strictSame(plan({ desired: [workload('ingest')], observed: [container('ingest')], backoff: { ingest: NOW + 10_000 } }), [])
})

t.test('a dead container, which the engine cannot start, is replaced when its policy wants it running', async (t) => {
  const dead = container('ingest', { state: 'dead', exitCode: 137 })
  t.strictSame(plan({ desired: [workload('ingest')], observed: [dead] }), [{ kind: 'recreate', workload: 'ingest', containerId: 'ingest-c1' }])
  t.strictSame(plan({ desired: [workload('ingest')], observed: [dead], images: [] }), [
    { kind: 'pull', workload: 'ingest', image: 'registry.example/ingest:1' },
    { kind: 'recreate', workload: 'ingest', containerId: 'ingest-c1' },
  ])
  t.strictSame(plan({ desired: [workload('ingest')], observed: [dead], backoff: { ingest: NOW + 5_000 } }), [
    { kind: 'wait', workload: 'ingest', until: NOW + 5_000, reason: 'restart-backoff' },
  ])
  const once = workload('once', { restartPolicy: 'never' })
  t.strictSame(
    plan({ desired: [once], observed: [container('once', { state: 'dead', exitCode: 1, configHash: hashOf(once) })] }),
    [],
    'never: left for inspection',
  )
})

t.test('leaves restarting, paused and removing containers alone', async (t) => {
  for (const state of ['restarting', 'paused', 'removing'] as const) {
    t.strictSame(plan({ desired: [workload('ingest')], observed: [container('ingest', { state, exitCode: state === 'restarting' ? 1 : null })] }), [], state)
    t.strictSame(
      plan({ desired: [workload('ingest')], observed: [container('ingest', { state })], backoff: { ingest: NOW + 10_000 } }),
      [],
      `${state}, during a backoff`,
    )
  }
})

t.test('keeps the matching running container of a workload and removes its duplicates', async (t) => {
  const observed = [
    container('ingest', { id: 'a-exited-match', state: 'exited', exitCode: 0 }),
    container('ingest', { id: 'b-running-stale', configHash: 'stale0000000000' }),
    container('ingest', { id: 'c-running-match' }),
    container('ingest', { id: 'd-created-match', state: 'created', startedAt: null }),
  ]
  t.strictSame(plan({ desired: [workload('ingest')], observed }), [
    { kind: 'remove', workload: 'ingest', containerId: 'a-exited-match', reason: 'duplicate' },
    { kind: 'remove', workload: 'ingest', containerId: 'd-created-match', reason: 'duplicate' },
    { kind: 'remove', workload: 'ingest', containerId: 'b-running-stale', reason: 'duplicate' },
  ])
})

t.test('among duplicates, a matching config outranks running, and the most recently started wins a tie', async (t) => {
  const steps = plan({
    desired: [workload('ingest')],
    observed: [
      container('ingest', { id: 'running-stale', configHash: 'stale0000000000' }),
      container('ingest', { id: 'exited-old', state: 'exited', exitCode: 1, startedAt: '2025-06-01T09:00:00.000Z' }),
      container('ingest', { id: 'exited-new', state: 'exited', exitCode: 1, startedAt: '2025-06-01T11:00:00.000Z' }),
    ],
  })
  t.strictSame(steps, [
    { kind: 'remove', workload: 'ingest', containerId: 'exited-old', reason: 'duplicate' },
    { kind: 'remove', workload: 'ingest', containerId: 'running-stale', reason: 'duplicate' },
    { kind: 'start', workload: 'ingest', containerId: 'exited-new' },
  ])

  const noneMatch = plan({
    desired: [workload('ingest')],
    observed: [container('ingest', { id: 'x-exited', state: 'exited', configHash: 'old1' }), container('ingest', { id: 'y-running', configHash: 'old2' })],
  })
  t.strictSame(
    noneMatch,
    [
      { kind: 'remove', workload: 'ingest', containerId: 'x-exited', reason: 'duplicate' },
      { kind: 'recreate', workload: 'ingest', containerId: 'y-running' },
    ],
    'with no match, the running one is kept and recreated',
  )
})

t.test('removes containers of workloads that are no longer desired', async (t) => {
  const steps = plan({
    desired: [workload('ingest')],
    observed: [container('ingest'), container('retired'), container('retired', { id: 'retired-c0', state: 'exited' })],
  })
  t.strictSame(steps, [
    { kind: 'remove', workload: 'retired', containerId: 'retired-c0', reason: 'not-desired' },
    { kind: 'remove', workload: 'retired', containerId: 'retired-c1', reason: 'not-desired' },
  ])
  t.strictSame(
    plan({ desired: [], observed: [container('retired')] }),
    [{ kind: 'remove', workload: 'retired', containerId: 'retired-c1', reason: 'not-desired' }],
    'an empty document removes everything',
  )
})

t.test('keepUnknown spares containers it cannot account for, but still tidies desired workloads', async (t) => {
  const steps = plan({
    desired: [workload('ingest')],
    observed: [container('retired'), container('ingest'), container('ingest', { id: 'ingest-c2', state: 'exited' })],
    keepUnknown: true,
  })
  t.strictSame(steps, [{ kind: 'remove', workload: 'ingest', containerId: 'ingest-c2', reason: 'duplicate' }])
  t.strictSame(plan({ desired: [], observed: [container('a'), container('b')], keepUnknown: true }), [])
})

t.test('recreates only the workload whose config changed', async (t) => {
  const names = ['alpha', 'bravo', 'charlie', 'delta']
  const desired = names.map((name) => (name === 'charlie' ? workload(name, { env: { MODE: 'fast' } }) : workload(name)))
  const steps = plan({ desired, observed: names.map((name) => container(name)) })
  t.strictSame(steps, [{ kind: 'recreate', workload: 'charlie', containerId: 'charlie-c1' }])
})

t.test('several workloads changing at once each get their own steps, in name order', async (t) => {
  const desired = [
    workload('delta', { image: 'registry.example/delta:2' }),
    workload('alpha'),
    workload('charlie', { revision: 7 }), // a new revision with the same template needs nothing
    workload('bravo', { command: ['serve', '--fast'] }),
    workload('echo'),
  ]
  const observed = [container('delta'), container('charlie'), container('bravo'), container('zulu'), container('alpha', { state: 'exited', exitCode: 2 })]
  const images = ['registry.example/alpha:1', 'registry.example/bravo:1', 'registry.example/charlie:1', 'registry.example/echo:1']
  t.strictSame(plan({ desired, observed, images }), [
    { kind: 'remove', workload: 'zulu', containerId: 'zulu-c1', reason: 'not-desired' },
    { kind: 'start', workload: 'alpha', containerId: 'alpha-c1' },
    { kind: 'recreate', workload: 'bravo', containerId: 'bravo-c1' },
    { kind: 'pull', workload: 'delta', image: 'registry.example/delta:2' },
    { kind: 'recreate', workload: 'delta', containerId: 'delta-c1' },
    { kind: 'create', workload: 'echo' },
    { kind: 'start', workload: 'echo', containerId: null },
  ])
})

t.test('the plan is the same whatever order the inputs come in, and the inputs are not touched', async (t) => {
  const desired = [workload('web'), workload('db', { env: { X: '1' } }), workload('cache'), workload('api-2'), workload('api-10')]
  const observed = [
    container('web', { state: 'exited', exitCode: 1 }),
    container('db'),
    container('gone-b'),
    container('gone-a', { id: 'gone-a-2' }),
    container('gone-a', { id: 'gone-a-1' }),
    container('cache', { id: 'cache-2', state: 'exited' }),
    container('cache', { id: 'cache-1' }),
  ]
  const reference = plan({ desired, observed, images: [] })
  const frozenDesired = JSON.stringify(desired)
  const frozenObserved = JSON.stringify(observed)
  let seed = 7
  const random = (): number => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31
  const shuffle = <T>(items: readonly T[]): T[] => {
    const copy = [...items]
    for (let i = copy.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1))
      ;[copy[i], copy[j]] = [copy[j] as T, copy[i] as T]
    }
    return copy
  }
  for (let round = 0; round < 25; round++) {
    t.strictSame(plan({ desired: shuffle(desired), observed: shuffle(observed), images: [] }), reference, `shuffle ${round}`)
  }
  t.equal(JSON.stringify(desired), frozenDesired, 'desired list untouched')
  t.equal(JSON.stringify(observed), frozenObserved, 'observed list untouched')
  t.strictSame(
    reference.map((s) => `${s.kind}:${s.workload}`),
    [
      'remove:gone-a',
      'remove:gone-a',
      'remove:gone-b',
      'pull:api-10',
      'create:api-10',
      'start:api-10',
      'pull:api-2',
      'create:api-2',
      'start:api-2',
      'remove:cache',
      'pull:db',
      'recreate:db',
      'start:web',
    ],
    'undesired removals first, then workloads by name (code-unit order)',
  )
})

t.test('pulls again only once the pull backoff has elapsed', async (t) => {
  t.strictSame(plan({ desired: [workload('ingest')], images: [], backoff: { ingest: NOW + 15_000 } }), [
    { kind: 'wait', workload: 'ingest', until: NOW + 15_000, reason: 'pull-backoff' },
  ])
  const upgraded = workload('ingest', { image: 'registry.example/ingest:2' })
  t.strictSame(
    plan({ desired: [upgraded], observed: [container('ingest')], images: [], backoff: { ingest: NOW + 15_000 } }),
    [{ kind: 'wait', workload: 'ingest', until: NOW + 15_000, reason: 'pull-backoff' }],
    'the old container keeps running while the new image cannot be pulled',
  )
  t.strictSame(
    plan({ desired: [workload('ingest')], images: [], backoff: { ingest: NOW } }).map((s) => s.kind),
    ['pull', 'create', 'start'],
  )
  t.strictSame(
    plan({ desired: [workload('ingest')], backoff: { ingest: NOW + 15_000 } }).map((s) => s.kind),
    ['create', 'start'],
    'an image that turned up meanwhile is used at once',
  )
})

t.test('one workload waiting does not hold back another', async (t) => {
  const steps = plan({
    desired: [workload('a'), workload('b')],
    observed: [container('a', { state: 'exited', exitCode: 1 }), container('b', { state: 'exited', exitCode: 1 })],
    backoff: { a: NOW + 1_000 },
  })
  t.strictSame(steps, [
    { kind: 'wait', workload: 'a', until: NOW + 1_000, reason: 'restart-backoff' },
    { kind: 'start', workload: 'b', containerId: 'b-c1' },
  ])
})

t.test('invariants hold over every combination of state, policy, exit code, config, image and backoff', async (t) => {
  const states: readonly ContainerRunState[] = ['created', 'running', 'restarting', 'paused', 'exited', 'dead', 'removing']
  const policies: readonly RestartPolicy[] = ['always', 'on-failure', 'never']
  const exitCodes: readonly (number | null)[] = [0, 1, 137, null]
  const layouts = ['none', 'one', 'duplicate'] as const
  let combinations = 0
  const violations: string[] = []
  for (const layout of layouts)
    for (const state of layout === 'none' ? (['running'] as const) : states)
      for (const policy of policies)
        for (const exitCode of exitCodes)
          for (const hashMatches of [true, false])
            for (const imagePresent of [true, false])
              for (const backoff of [0, NOW + 30_000]) {
                combinations++
                const target = workload('target', { restartPolicy: policy })
                const neighbour = workload('neighbour')
                const hash = hashMatches ? hashOf(target) : 'different0000000'
                const own: ObservedContainer[] =
                  layout === 'none'
                    ? []
                    : layout === 'one'
                      ? [container('target', { state, exitCode, configHash: hash })]
                      : [
                          container('target', { id: 'target-c1', state, exitCode, configHash: hash }),
                          container('target', { id: 'target-c2', state: 'exited', exitCode: 1, configHash: 'other00000000000' }),
                        ]
                const observed = [...own, container('neighbour'), container('stray')]
                const steps = plan({
                  desired: [target, neighbour],
                  observed,
                  images: imagePresent ? [target.template.image, neighbour.template.image] : [neighbour.template.image],
                  backoff: { target: backoff },
                })
                const label = `${layout}/${state}/${policy}/exit ${String(exitCode)}/${hashMatches ? 'match' : 'differs'}/${imagePresent ? 'image' : 'no image'}/${backoff ? 'backoff' : 'no backoff'}`
                const fail = (what: string): void => {
                  violations.push(`${label}: ${what} — ${JSON.stringify(steps)}`)
                }
                const mine = steps.filter((s) => s.workload === 'target')
                const kinds = mine.map((s) => s.kind)
                const byId = new Map(observed.map((c) => [c.id, c]))

                // Steps only name containers of their own workload, and never the healthy neighbour.
                for (const step of steps) {
                  if ('containerId' in step && step.containerId !== null) {
                    const owner = byId.get(step.containerId)
                    if (!owner) fail(`${step.kind} names an unknown container ${step.containerId}`)
                    else if (owner.workload !== step.workload) fail(`${step.kind} for ${step.workload} touches a container of ${owner.workload}`)
                  }
                }
                if (steps.some((s) => s.workload === 'neighbour')) fail('touched the matching, running neighbour')
                if (!steps.some((s) => s.kind === 'remove' && s.containerId === 'stray-c1' && s.reason === 'not-desired')) fail('left the undesired container')

                // Never both create and recreate; a create is always followed by its start.
                if (kinds.includes('create') && kinds.includes('recreate')) fail('both create and recreate')
                if (kinds.filter((k) => k === 'create' || k === 'recreate').length > 1) fail('more than one new container')
                const createAt = kinds.indexOf('create')
                if (createAt >= 0 && !(mine[createAt + 1]?.kind === 'start' && (mine[createAt + 1] as { containerId: string | null }).containerId === null))
                  fail('create without a start of the new container')
                if (createAt >= 0 && own.length > 0) fail('created although a container exists')

                // Never start a container whose config differs, nor a dead one.
                for (const step of mine) {
                  if (step.kind === 'start' && step.containerId !== null) {
                    const started = byId.get(step.containerId)
                    if (started?.configHash !== hashOf(target)) fail('starts a container whose config hash differs')
                    if (started?.state === 'dead') fail('starts a dead container')
                  }
                }
                // A new container needs its image: present, or pulled first; no pull if it is there.
                const makesNew = kinds.includes('create') || kinds.includes('recreate')
                const actions = kinds.filter((k) => k !== 'remove') // duplicate removals come first
                if (makesNew && !imagePresent && actions[0] !== 'pull') fail('new container without pulling the absent image first')
                if (imagePresent && kinds.includes('pull')) fail('pulls an image that is present')
                // A wait is the only step for its workload besides duplicate removal.
                if (kinds.includes('wait') && kinds.some((k) => k !== 'wait' && k !== 'remove')) fail('waits and acts at once')
                if (kinds.filter((k) => k === 'wait').length > 1) fail('more than one wait')
                const wait = mine.find((s): s is Extract<Step, { kind: 'wait' }> => s.kind === 'wait')
                if (wait && wait.until <= NOW) fail('waits for a time already past')
                if (wait && backoff === 0) fail('waits without a backoff')
                // Exactly one container survives: duplicates removed, the kept one never removed.
                const removed = mine.filter((s) => s.kind === 'remove')
                if (layout === 'duplicate' && removed.length !== 1) fail(`removed ${removed.length} duplicates, expected 1`)
                if (layout !== 'duplicate' && removed.length !== 0) fail('removed a lone container of a desired workload')

                // What must happen.
                if (layout === 'none' && !(backoff && !imagePresent) && !makesNew) fail('no container, yet nothing creates one')
                if (layout !== 'none' && !hashMatches && !kinds.includes('recreate') && !(backoff && !imagePresent)) fail('config differs, yet no recreate')
                if (
                  layout !== 'none' &&
                  hashMatches &&
                  (state === 'running' || state === 'restarting' || state === 'paused' || state === 'removing') &&
                  kinds.some((k) => k !== 'remove')
                ) {
                  fail(`acted on a ${state} container whose config matches`)
                }
              }
  t.equal(combinations, (1 + 7 + 7) * 3 * 4 * 2 * 2 * 2)
  t.strictSame(violations, [], `no invariant broken in ${combinations} combinations`)
})
