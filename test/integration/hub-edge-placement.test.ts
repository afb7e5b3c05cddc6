// Issue 19 across a fleet, with a real hub, two real agents and Docker: a copy that needs a device
// stays pending with the reasons (one node lacks it, the other's policy does not allow it) until the device appears on one node, and
// then runs there within seconds; a privileged copy is never placed on the node whose policy
// refuses it, and says why; the API shows each node's devices and policy.
import { execFile } from 'node:child_process'
import { rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { waitForRunning } from '../support/agent-process.js'
import { deploymentYaml, manifestsYaml, sleepTemplate, startHubAgent, startHubProcess } from '../support/hub-process.js'
import { tempDir, testImage, waitFor } from '../support/index.js'

t.setTimeout(180_000)
const execFileAsync = promisify(execFile)

interface DeploymentItem {
  readonly name: string
  readonly placed: number
  readonly pending: number
  readonly why: string | null
}

t.test('devices and node policy decide placement', async (t) => {
  const image = testImage()
  const hub = await startHubProcess(t)
  const dir = tempDir(t, 'edge-placement')
  const device = `/dev/shoaltest${process.pid}y${Date.now() % 100_000}`
  const suffix = Math.random().toString(16).slice(2, 8)
  const strict = await startHubAgent(t, hub, { name: `t-strict-${suffix}`, extraArgs: ['--device-pattern', `${device}*`] })
  const other = await startHubAgent(t, hub, { name: `t-other-${suffix}` })
  const deployment = async (name: string): Promise<DeploymentItem | undefined> =>
    ((await hub.ok('GET', '/api/v1/deployments')).items as DeploymentItem[]).find((d) => d.name === name)
  await waitFor(async () => (await hub.nodes()).filter((n: { condition: { type: string } }) => n.condition.type === 'Ready').length === 2, {
    what: 'both nodes Ready',
    timeoutMs: 60_000,
  })

  await hub.apply(
    manifestsYaml(
      deploymentYaml('reader', { replicas: 1, template: sleepTemplate(image, { devices: [{ path: device, containerPath: '/dev/ttyUSB0' }] }) }),
      deploymentYaml('root', { mode: 'every-node', template: sleepTemplate(image, { securityContext: { privileged: true } }) }),
    ),
  )

  await t.test('pending with the reasons while no node has the device or allows privileged', async (t) => {
    let last: DeploymentItem | undefined
    const reader = await waitFor(
      async () => {
        last = await deployment('reader')
        return last?.why?.includes('lacks device') ? last : undefined
      },
      { what: 'the reader to say why it is pending', timeoutMs: 30_000 },
    ).catch((error: Error) => {
      throw new Error(`${error.message}; last: ${JSON.stringify(last)}`)
    })
    t.match(reader, { placed: 0, pending: 1 })
    t.match(reader?.why, `0/2 nodes match: 1 lacks device ${device}, 1 refuses it by node policy (device ${device} not allowed)`)
    const root = await deployment('root')
    t.match(root, { placed: 0 })
    t.match(root?.why, /refuse it by node policy \(privileged not allowed\)/)
    const node = await hub.ok('GET', `/api/v1/nodes/${strict.nodeId}`)
    t.match(node.policy, { privileged: false })
    t.same(node.devices, [], 'the strict node reported no device yet')
  })

  await t.test('the device appears on one node: the copy is placed there and runs', async (t) => {
    const backing = path.join(dir, 'adapter.img')
    writeFileSync(backing, 'frame\n')
    truncateSync(backing, 4096)
    const loop = (await execFileAsync('losetup', ['-f', '--show', backing], { timeout: 20_000 })).stdout.trim()
    t.teardown(async () => {
      rmSync(device, { force: true })
      await execFileAsync('losetup', ['-d', loop], { timeout: 20_000 })
    })
    symlinkSync(loop, device)
    const running = await waitForRunning(strict.nodeId, ['reader'], 60_000)
    t.ok(running.get('reader'), 'runs on the node with the device')
    t.match(await deployment('reader'), { placed: 1, pending: 0 })
    const node = await hub.ok('GET', `/api/v1/nodes/${strict.nodeId}`)
    t.same(node.devices, [device])
    await waitForRunning(other.nodeId, [], 10_000)
    t.pass('nothing of either deployment on the other node')
  })
})
