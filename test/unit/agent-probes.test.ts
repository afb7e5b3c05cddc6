// The agent's own probes, decided purely: which checks the agent runs and where it sends them,
// how results add up to a status (Docker's counting), and when a copy is ready.
import t from 'tap'
import { ContainerTemplate, HealthCheck } from '../../protocol/index.js'
import { agentRunsLiveness, inContainerProbeScript, probesFor } from '../../agent/probes/probe-plan.js'
import { afterProbe, FIRST_PROBE_STATE, type ProbeState } from '../../agent/probes/probe-state.js'
import { isReady } from '../../agent/reconcile/workload-status.js'

const template = (input: Record<string, unknown>) => ContainerTemplate.parse({ image: 'app:1', ...input })

t.test('http and tcp liveness go to the agent on host and bridge networks; exec and network none stay in the container', async (t) => {
  t.ok(agentRunsLiveness(template({ healthCheck: { http: { port: 8080 } } })), 'http on host')
  t.ok(agentRunsLiveness(template({ network: 'bridge', healthCheck: { tcp: { port: 5432 } } })), 'tcp on bridge')
  t.notOk(agentRunsLiveness(template({ healthCheck: { exec: { command: ['true'] } } })), 'exec runs in the container')
  t.notOk(agentRunsLiveness(template({ network: 'none', healthCheck: { http: { port: 8080 } } })), 'nothing outside reaches network none')
  t.notOk(agentRunsLiveness(template({})), 'no check at all')
})

t.test('where each probe goes', async (t) => {
  const host = probesFor(template({ healthCheck: { http: { port: 8080, path: '/healthz' } }, readiness: { tcp: { port: 9000 }, interval: '2s' } }), null)
  t.same(
    host.map((p) => [p.role, p.action]),
    [
      ['liveness', { kind: 'http', host: '127.0.0.1', port: 8080, path: '/healthz' }],
      ['readiness', { kind: 'tcp', host: '127.0.0.1', port: 9000 }],
    ],
    'host networking: the configured address',
  )
  t.equal(host[1]?.intervalMs, 2000)
  t.equal(host[0]?.timeoutMs, 5000, "the default timeout, Docker's 5 s")

  const bridge = probesFor(
    template({ network: 'bridge', healthCheck: { http: { port: 80 } }, readiness: { tcp: { port: 80, host: '10.9.8.7' } } }),
    '172.17.0.5',
  )
  t.same(bridge[0]?.action, { kind: 'http', host: '172.17.0.5', port: 80, path: '/' }, "bridge: loopback means the container's address")
  t.same(bridge[1]?.action, { kind: 'tcp', host: '10.9.8.7', port: 80 }, 'another host stays as configured')
  t.same(
    probesFor(template({ network: 'bridge', healthCheck: { tcp: { port: 80 } } }), null)[0]?.action,
    { kind: 'tcp', host: '', port: 80 },
    'no address yet: no host',
  )

  const exec = probesFor(template({ healthCheck: { exec: { command: ['pg_isready'] } }, readiness: { exec: { command: ['test', '-f', '/tmp/ready'] } } }), null)
  t.same(
    exec.map((p) => [p.role, p.action]),
    [['readiness', { kind: 'exec', command: ['test', '-f', '/tmp/ready'] }]],
    'exec liveness is the engine’s; exec readiness goes through the engine’s exec',
  )
  const none = probesFor(template({ network: 'none', readiness: { http: { port: 80, path: '/ready' } } }), null)
  t.same(none[0]?.action, { kind: 'exec', command: ['/bin/sh', '-c', inContainerProbeScript(HealthCheck.parse({ http: { port: 80, path: '/ready' } }))] })
  t.same(probesFor(template({}), null), [], 'no checks, no probes')
})

t.test('results add up as Docker counts them', async (t) => {
  const check = HealthCheck.parse({ http: { port: 80 }, retries: 3, startPeriod: '10s' })
  const fail = { ok: false as const, error: 'connection refused' }
  let state: ProbeState = FIRST_PROBE_STATE
  state = afterProbe(state, fail, check, 1_000)
  t.same(state, { status: 'starting', failures: 0, lastError: 'connection refused' }, 'a failure in the start period does not count')
  state = afterProbe(state, { ok: true }, check, 2_000)
  t.same(state, { status: 'healthy', failures: 0, lastError: null }, 'one pass is enough')
  state = afterProbe(state, fail, check, 20_000)
  state = afterProbe(state, fail, check, 30_000)
  t.equal(state.status, 'healthy', 'two failures of three keep it healthy')
  t.equal(state.failures, 2)
  state = afterProbe(state, fail, check, 40_000)
  t.same(state, { status: 'unhealthy', failures: 3, lastError: 'connection refused' }, 'the third makes it unhealthy')
  t.equal(afterProbe(state, { ok: true }, check, 50_000).status, 'healthy', 'and a pass brings it back at once')
  const strict = HealthCheck.parse({ tcp: { port: 80 }, retries: 1 })
  t.equal(afterProbe(FIRST_PROBE_STATE, fail, strict, 0).status, 'unhealthy', 'without a start period, retries 1 fails at once')
})

t.test('ready: running, liveness settled and passing, readiness passing', async (t) => {
  t.ok(isReady('running', 'none', null), 'no checks: running is ready')
  t.ok(isReady('running', 'healthy', 'healthy'))
  t.notOk(isReady('running', 'healthy', 'starting'), 'readiness not yet passed')
  t.notOk(isReady('running', 'healthy', 'unhealthy'), 'readiness failing')
  t.notOk(isReady('running', 'starting', null), 'liveness still starting')
  t.notOk(isReady('running', 'unhealthy', 'healthy'), 'liveness failing')
  t.notOk(isReady('starting', 'none', null), 'not running')
  t.notOk(isReady('crash-loop', 'none', 'healthy'))
})
