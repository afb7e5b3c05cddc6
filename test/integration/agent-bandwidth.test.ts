// Bandwidth budgets and pull windows end to end: a real hub (aedes), a real agent enrolled with
// shoal.io/* node labels, real Docker and the run's loopback registry. The image pushed carries a
// layer of its own (random bytes), so its pull downloads that layer and the byte counter can be
// checked against the registry's manifest. The window test fakes the agent's wall clock with
// libfaketime (the time rewritten through FAKETIME_TIMESTAMP_FILE, the monotonic clock real): no
// test waits for real time to pass.
import { existsSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { deploymentYaml, sleepTemplate, startHubAgent, startHubProcess, type HubProcess } from '../support/hub-process.js'
import { uniqueNodeId } from '../support/agent-process.js'
import { tempDir, waitFor } from '../support/index.js'
import { imagePresent, pushUniqueImage } from '../support/unique-image.js'
import { cli } from './cli-harness.js'

const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1'

type Status = { state: string; message?: string } | null

async function copyStatus(hub: HubProcess, deployment: string): Promise<Status> {
  const detail = await hub.deployment(deployment)
  return (detail.placements?.[0]?.status as Status) ?? null
}

t.test('over its budget a pull stays PullDeferred with its reason; --pull-now pulls it, and the counter moves by the layer', async (t) => {
  const { ref, layerBytes } = await pushUniqueImage(t, 'budget')
  const hub = await startHubProcess(t)
  const fleet = uniqueNodeId('bw')
  // A budget of one byte: the desired document alone spends it.
  const token = await hub.createJoinToken({ maxUses: 1, labels: { fleet, 'shoal.io/monthly-budget': '1' } })
  const agent = await startHubAgent(t, hub, { name: uniqueNodeId('bw'), token })
  const dir = tempDir(t, 'bandwidth')
  const file = path.join(dir, 'web.yaml')
  writeFileSync(file, deploymentYaml('metered', { mode: 'every-node', selector: { matchLabels: { fleet } }, template: sleepTemplate(ref) }))
  const connection = ['--hub', hub.apiUrl, '--token', hub.adminToken]

  const applied = await cli(['apply', '-f', file, ...connection])
  t.equal(applied.code, 0, applied.err)
  const deferred = await waitFor(
    async () => {
      const status = await copyStatus(hub, 'metered')
      return status?.state === 'pull-deferred' ? status : undefined
    },
    { what: 'the copy to show pull-deferred', timeoutMs: 60_000, intervalMs: 250 },
  )
  t.match(deferred.message, /^pull of .* deferred: monthly budget: [\d.]+ (B|KiB) of 1 B used; next attempt at \d{4}-\d\d-\d\dT/, String(deferred.message))
  const event = await waitFor(async () => (await hub.events(agent.nodeId)).find((e) => e.type === 'PullDeferred'), {
    what: 'a PullDeferred event',
    timeoutMs: 30_000,
    intervalMs: 250,
  })
  t.match(event.data, { image: ref, causes: 'budget', nextAttemptAt: /^\d{4}-\d\d-\d\dT/ })
  const described = await cli(['describe', 'deployment', 'metered', ...connection])
  t.match(described.out, /pull-deferred/, 'describe deployment shows it')
  const listed = await cli(['get', 'deployments', ...connection])
  t.equal(listed.code, 0, listed.err)
  t.notOk(await imagePresent(ref), 'nothing was pulled')
  t.ok(
    (await hub.events(agent.nodeId)).every((e) => e.type !== 'ImagePulling'),
    'no pull started',
  )

  const dryRun = await cli(['apply', '-f', file, '--pull-now', '--dry-run', ...connection])
  t.equal(dryRun.code, 2, '--pull-now with --dry-run is a usage error')
  const now = await cli(['apply', '-f', file, '--pull-now', ...connection])
  t.equal(now.code, 0, now.err)
  t.match(now.out, /deployment\/metered unchanged \(revision 1\)/, 'same manifest: the current revision is marked')
  await waitFor(async () => ((await copyStatus(hub, 'metered'))?.state === 'running' ? true : undefined), {
    what: 'the copy to run after --pull-now',
    timeoutMs: 90_000,
    intervalMs: 250,
  })
  t.ok(await imagePresent(ref), 'the image was pulled from the loopback registry')
  const pulled = (await hub.events(agent.nodeId)).find((e) => e.type === 'ImagePulled')
  t.equal(pulled?.data?.bytes, layerBytes, 'ImagePulled counts the one new layer at its compressed size')
  const traffic = await waitFor(
    async () => {
      const node = await hub.node(agent.nodeId)
      const usage = node.usage?.traffic
      return usage && usage.bytes.images > 0 ? usage : undefined
    },
    { what: 'a heartbeat with the pull counted', timeoutMs: 60_000, intervalMs: 500 },
  )
  t.equal(traffic.bytes.images, layerBytes, 'the month counter moved by the layer the registry stores')
  t.equal(traffic.budgetBytes, 1)
  t.ok(traffic.bytes.control > 0 && traffic.bytes.status > 0, 'control and status bytes are counted too')
  t.equal(traffic.bytes.sessions, 0)
  const top = await cli(['top', 'nodes', ...connection])
  t.match(top.out, /TRAFFIC/)
})

t.test('outside its pull window a pull waits until the window opens on the agent clock', async (t) => {
  t.ok(existsSync(LIBFAKETIME), `libfaketime is installed (${LIBFAKETIME}; Debian package faketime)`)
  const { ref } = await pushUniqueImage(t, 'window')
  const hub = await startHubProcess(t)
  const fleet = uniqueNodeId('win')
  const token = await hub.createJoinToken({ maxUses: 1, labels: { fleet, 'shoal.io/pull-windows': '0100-0500' } })
  const agent = await startHubAgent(t, hub, { name: uniqueNodeId('win'), token })
  t.same(await agent.stop(), { code: 0, signal: null }, 'enrolled; stopped to start again under libfaketime')
  const timeFile = path.join(tempDir(t, 'window'), 'faketime')
  // Noon tomorrow, UTC: outside 01:00-05:00; ahead of the hub, so no document looks newer than the clock.
  const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10)
  writeFileSync(timeFile, `@${tomorrow} 12:00:00\n`)
  await agent.start({
    env: {
      TZ: 'UTC',
      LD_PRELOAD: LIBFAKETIME,
      FAKETIME_TIMESTAMP_FILE: timeFile,
      FAKETIME_NO_CACHE: '1',
      DONT_FAKE_MONOTONIC: '1',
      FAKETIME_DONT_FAKE_MONOTONIC: '1',
    },
  })
  await hub.apply(deploymentYaml('nightly', { mode: 'every-node', selector: { matchLabels: { fleet } }, template: sleepTemplate(ref) }))
  const deferred = await waitFor(
    async () => {
      const status = await copyStatus(hub, 'nightly')
      return status?.state === 'pull-deferred' ? status : undefined
    },
    { what: 'the copy to show pull-deferred', timeoutMs: 60_000, intervalMs: 250 },
  )
  const dayAfter = new Date(Date.parse(`${tomorrow}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10)
  t.equal(deferred.message, `pull of ${ref} deferred: outside the pull windows 01:00-05:00 (UTC); next attempt at ${dayAfter}T01:00:00.000Z`)
  t.notOk(await imagePresent(ref), 'nothing was pulled')

  // The agent's clock reaches the window: it pulls on its own, nothing else changed.
  writeFileSync(timeFile, `@${dayAfter} 01:00:30\n`)
  await waitFor(async () => ((await copyStatus(hub, 'nightly'))?.state === 'running' ? true : undefined), {
    what: 'the copy to run once the window opened',
    timeoutMs: 90_000,
    intervalMs: 250,
  })
  t.ok(await imagePresent(ref), 'pulled inside the window')
})
