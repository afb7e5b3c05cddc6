import t from 'tap'
import { CRASH_WINDOW_MS } from '../../agent/reconcile/crash-policy.js'
import { deriveWorkloadState, type WorkloadHistory } from '../../agent/reconcile/workload-status.js'
import type { ContainerWorkload, ObservedContainer } from '../../agent/runtime/runtime.js'
import { ContainerTemplate, WorkloadState, type ContainerTemplateInput } from '../../protocol/index.js'

const NOW = 1_750_000_000_000

function workload(name: string, overrides: Partial<ContainerTemplateInput> = {}): ContainerWorkload {
  return { name, deployment: name, revision: 1, template: ContainerTemplate.parse({ image: `registry.example/${name}:1`, ...overrides }) }
}

function container(name: string, overrides: Partial<ObservedContainer> = {}): ObservedContainer {
  return {
    id: `${name}-c1`,
    name: `shoal-pi-17-${name}`,
    workload: name,
    deployment: name,
    revision: 1,
    configHash: '0123456789abcdef',
    state: 'running',
    exitCode: null,
    health: 'none',
    restartCount: 0,
    startedAt: '2025-06-01T10:00:00.000Z',
    finishedAt: null,
    ...overrides,
  }
}

function history(overrides: Partial<WorkloadHistory> = {}): WorkloadHistory {
  return { lastError: null, recentCrashes: [], lastExitCode: null, ...overrides }
}

/** Three crashes within the last minute: a crash loop. */
const LOOPING = [NOW - 50_000, NOW - 30_000, NOW - 10_000]

t.test('without a container: pending, pulling, or failed with the last error', async (t) => {
  const w = workload('ingest')
  t.strictSame(deriveWorkloadState(w, undefined, history(), NOW), { state: 'pending', health: 'none', exitCode: null, message: null })
  t.strictSame(deriveWorkloadState(w, undefined, history({ pulling: true }), NOW), {
    state: 'pulling',
    health: 'none',
    exitCode: null,
    message: 'pulling registry.example/ingest:1',
  })
  t.strictSame(deriveWorkloadState(w, undefined, history({ lastError: 'create failed: no space left on device' }), NOW), {
    state: 'failed',
    health: 'none',
    exitCode: null,
    message: 'create failed: no space left on device',
  })
  t.equal(
    deriveWorkloadState(w, undefined, history({ pulling: true, lastError: 'pull failed' }), NOW).state,
    'pulling',
    'a pull in progress is a retry of the failure: pulling wins',
  )
})

t.test('running: reports health and clears the exit code', async (t) => {
  for (const health of ['none', 'starting', 'healthy', 'unhealthy'] as const) {
    t.strictSame(
      deriveWorkloadState(workload('ingest'), container('ingest', { health }), history({ lastExitCode: 3 }), NOW),
      { state: 'running', health, exitCode: null, message: null },
      health,
    )
  }
})

t.test('running again after three crashes in the window is still a crash loop', async (t) => {
  const derived = deriveWorkloadState(
    workload('ingest'),
    container('ingest', { health: 'starting' }),
    history({ recentCrashes: LOOPING, lastExitCode: 2 }),
    NOW,
  )
  t.equal(derived.state, 'crash-loop')
  t.equal(derived.health, 'starting')
  t.equal(derived.exitCode, 2, 'the exit code of the latest crash, which the engine has reset')
  t.equal(derived.message, 'crashed 3 times in the last 5 minutes (last exit code 2); backing off')
})

t.test('the crash-loop threshold is three crashes, and the window is five minutes', async (t) => {
  const w = workload('ingest')
  const running = container('ingest')
  t.equal(deriveWorkloadState(w, running, history({ recentCrashes: [NOW - 20_000, NOW - 10_000] }), NOW).state, 'running', 'two crashes')
  t.equal(deriveWorkloadState(w, running, history({ recentCrashes: [NOW - 30_000, NOW - 20_000, NOW - 10_000] }), NOW).state, 'crash-loop', 'three crashes')
  t.equal(
    deriveWorkloadState(w, running, history({ recentCrashes: [NOW - CRASH_WINDOW_MS, NOW - 20_000, NOW - 10_000] }), NOW).state,
    'running',
    'oldest one window ago',
  )
  t.equal(
    deriveWorkloadState(w, running, history({ recentCrashes: [NOW - CRASH_WINDOW_MS + 1, NOW - 20_000, NOW - 10_000] }), NOW).state,
    'crash-loop',
    'oldest just inside',
  )
  t.equal(deriveWorkloadState(w, running, history({ recentCrashes: LOOPING }), NOW + CRASH_WINDOW_MS).state, 'running', 'calm for five minutes: healthy again')
})

t.test('restarting: starting, or crash-loop when looping, with the latest crash exit code', async (t) => {
  const w = workload('ingest')
  t.strictSame(deriveWorkloadState(w, container('ingest', { state: 'restarting', exitCode: 1 }), history({ lastExitCode: 1 }), NOW), {
    state: 'starting',
    health: 'none',
    exitCode: 1,
    message: null,
  })
  const looping = deriveWorkloadState(w, container('ingest', { state: 'restarting' }), history({ recentCrashes: LOOPING, lastExitCode: 139 }), NOW)
  t.equal(looping.state, 'crash-loop')
  t.equal(looping.exitCode, 139)
  t.match(looping.message, /crashed 3 times .*last exit code 139/)
})

t.test('created: starting, or failed with the error that stopped its start', async (t) => {
  const w = workload('ingest')
  const created = container('ingest', { state: 'created', startedAt: null })
  t.strictSame(deriveWorkloadState(w, created, history(), NOW), { state: 'starting', health: 'none', exitCode: null, message: null })
  t.strictSame(deriveWorkloadState(w, created, history({ lastError: 'start failed: port 8080 in use' }), NOW), {
    state: 'failed',
    health: 'none',
    exitCode: null,
    message: 'start failed: port 8080 in use',
  })
})

t.test('paused and removing containers are reported stopped', async (t) => {
  const w = workload('ingest')
  t.strictSame(deriveWorkloadState(w, container('ingest', { state: 'paused', health: 'healthy' }), history(), NOW), {
    state: 'stopped',
    health: 'healthy',
    exitCode: null,
    message: 'container is paused',
  })
  t.strictSame(deriveWorkloadState(w, container('ingest', { state: 'removing' }), history({ lastExitCode: 143 }), NOW), {
    state: 'stopped',
    health: 'none',
    exitCode: 143,
    message: 'container is being removed',
  })
})

t.test('exited under never (or on-failure after success) is a final exit, whatever the crash history', async (t) => {
  for (const exitCode of [0, 1]) {
    const derived = deriveWorkloadState(
      workload('job', { restartPolicy: 'never' }),
      container('job', { state: 'exited', exitCode, health: 'healthy' }),
      history({ recentCrashes: LOOPING }),
      NOW,
    )
    t.strictSame(
      derived,
      { state: 'exited', health: 'none', exitCode, message: `exited with code ${exitCode}; restart policy never` },
      `never, exit ${exitCode}`,
    )
  }
  t.strictSame(deriveWorkloadState(workload('job', { restartPolicy: 'on-failure' }), container('job', { state: 'exited', exitCode: 0 }), history(), NOW), {
    state: 'exited',
    health: 'none',
    exitCode: 0,
    message: 'exited with code 0; restart policy on-failure',
  })
  t.equal(
    deriveWorkloadState(workload('job', { restartPolicy: 'never' }), container('job', { state: 'exited', exitCode: null }), history(), NOW).message,
    'exited with code unknown; restart policy never',
  )
})

t.test('exited under a policy that restarts: exited until it loops, then crash-loop', async (t) => {
  const w = workload('ingest', { restartPolicy: 'on-failure' })
  const exited = container('ingest', { state: 'exited', exitCode: 1 })
  t.strictSame(deriveWorkloadState(w, exited, history({ lastError: 'OOM killed' }), NOW), {
    state: 'exited',
    health: 'none',
    exitCode: 1,
    message: 'OOM killed',
  })
  t.strictSame(
    deriveWorkloadState(w, exited, history({ recentCrashes: LOOPING, lastExitCode: 9 }), NOW),
    {
      state: 'crash-loop',
      health: 'none',
      exitCode: 1,
      message: 'crashed 3 times in the last 5 minutes (last exit code 1); backing off',
    },
    "the container's own exit code wins over the remembered one",
  )
})

t.test('dead: failed when it should run, exited when its policy is done with it', async (t) => {
  t.strictSame(
    deriveWorkloadState(workload('ingest'), container('ingest', { state: 'dead', exitCode: 137 }), history({ lastError: 'remove failed: device busy' }), NOW),
    {
      state: 'failed',
      health: 'none',
      exitCode: 137,
      message: 'remove failed: device busy',
    },
  )
  t.equal(
    deriveWorkloadState(workload('ingest'), container('ingest', { state: 'dead', exitCode: 137 }), history({ recentCrashes: LOOPING }), NOW).state,
    'crash-loop',
  )
  t.equal(deriveWorkloadState(workload('job', { restartPolicy: 'never' }), container('job', { state: 'dead', exitCode: 1 }), history(), NOW).state, 'exited')
})

t.test('every container state, policy and history yields a valid reported state', async (t) => {
  const states = ['created', 'running', 'restarting', 'paused', 'exited', 'dead', 'removing'] as const
  let checked = 0
  for (const state of states)
    for (const restartPolicy of ['always', 'on-failure', 'never'] as const)
      for (const exitCode of [0, 1, null])
        for (const recent of [[], LOOPING])
          for (const lastError of [null, 'boom']) {
            const derived = deriveWorkloadState(
              workload('w', { restartPolicy }),
              container('w', { state, exitCode }),
              history({ recentCrashes: recent, lastError, lastExitCode: 5 }),
              NOW,
            )
            const label = `${state}/${restartPolicy}/${String(exitCode)}/${recent.length} crashes/${String(lastError)}`
            t.ok(WorkloadState.safeParse(derived.state).success, label)
            if (derived.state === 'running') t.equal(derived.exitCode, null, `${label}: running has no exit code`)
            if (derived.state === 'crash-loop') t.ok(derived.message?.includes('crashed'), `${label}: crash-loop says why`)
            if (state === 'exited' || state === 'dead') t.equal(derived.health, 'none', `${label}: no health for a stopped container`)
            checked++
          }
  t.equal(checked, 7 * 3 * 3 * 2 * 2)
})

t.test('an unknown container state is a programming error', async (t) => {
  t.throws(() => deriveWorkloadState(workload('w'), container('w', { state: 'zombie' as never }), history(), NOW), /unknown container state zombie/)
})
