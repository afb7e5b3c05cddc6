// Readiness through the whole chain (issue 19, item 5): a real hub, a real agent, real Docker.
// A new revision whose readiness check fails runs but is not ready: the agent says so, the hub
// stores it, the deployment counts it as not ready and the rollout holds it as progressing, with
// the check's reason. Once the check passes, the rollout completes.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import t from 'tap'
import type { RolloutStatus } from '../../protocol/api/index.js'
import { freePort, testImage, waitFor } from '../support/index.js'
import { deploymentYaml, httpdTemplate, startHubAgent, startHubProcess } from '../support/hub-process.js'

t.setTimeout(240_000)
const execFileAsync = promisify(execFile)

t.test('a rollout waits for the new revision to be ready', async (t) => {
  const image = testImage()
  const hub = await startHubProcess(t)
  const suffix = Math.random().toString(16).slice(2, 8)
  const agent = await startHubAgent(t, hub, { name: `t-ready-${suffix}`, labels: { fleet: `ready-${suffix}` } })
  const port = await freePort()
  const name = `ready-web-${suffix}`
  const manifest = (text: string, extra: Record<string, unknown>) =>
    deploymentYaml(name, {
      replicas: 1,
      selector: { matchLabels: { fleet: `ready-${suffix}` } },
      strategy: { minReadySeconds: 0, progressDeadline: '5m' },
      template: { ...httpdTemplate(image, port, text), ...extra },
    })
  const rollout = (): Promise<RolloutStatus> => hub.ok<RolloutStatus>('GET', `/api/v1/deployments/${name}/rollout`)

  await hub.apply(manifest('v1', {}))
  await waitFor(
    async () => {
      const status = await rollout()
      return status.revision === 1 && status.phase === 'complete'
    },
    { what: 'revision 1 complete', timeoutMs: 90_000, intervalMs: 250 },
  )

  await hub.apply(manifest('v2', { readiness: { http: { port, path: '/ready.html' }, interval: '1s', timeout: '2s', retries: 1 } }))

  await t.test('running but not ready: the rollout holds the copy, with the reason', async (t) => {
    const held = await waitFor(
      async () => {
        const status = await rollout()
        const copy = status.copies.find((c) => c.nodeId === agent.nodeId)
        return status.revision === 2 && copy?.revision === 2 && /not ready: GET .* answered 404/.test(copy.reason ?? '') ? { status, copy } : undefined
      },
      { what: 'revision 2 running but held as not ready', timeoutMs: 90_000, intervalMs: 250 },
    )
    t.equal(held.status.phase, 'progressing', 'not ready is not a failure')
    t.equal(held.copy.gate, 'progressing')
    t.match(held.copy.reason, /not ready: GET http:\/\/127\.0\.0\.1:\d+\/ready\.html answered 404/)
    const node = await hub.node(agent.nodeId)
    const copy = node.workloadStatus.find((w: { deployment: string }) => w.deployment === name)
    t.match(copy, { state: 'running', revision: 2, ready: false }, 'the hub stores what the agent reported')
    t.equal((await hub.deployment(name)).ready, 0, 'the deployment counts no ready copy')
  })

  await t.test('the check passes: the copy is ready and the rollout completes', async (t) => {
    const node = await hub.node(agent.nodeId)
    const containerId = node.workloadStatus.find((w: { deployment: string }) => w.deployment === name)?.containerId
    t.ok(containerId, 'the copy reports its container')
    await execFileAsync('docker', ['exec', containerId, 'sh', '-c', 'echo ok > /www/ready.html'], { timeout: 20_000 })
    await waitFor(
      async () => {
        const status = await rollout()
        return status.revision === 2 && status.phase === 'complete'
      },
      { what: 'revision 2 complete once ready', timeoutMs: 60_000, intervalMs: 250 },
    )
    t.equal((await hub.deployment(name)).ready, 1, 'one ready copy')
  })
})
