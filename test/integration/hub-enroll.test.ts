// Enrollment of real agent processes with a real hub: a refused token stops the agent with a
// clear error and no identity; an enrolled agent restarts without its token; and a second
// node asking for a name that is taken gets its own id and keeps working across restarts.
import { execFile } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { tempDir, testImage, testRunId, TEST_RUN_LABEL, waitFor } from '../support/index.js'
import { CLI, uniqueNodeId, waitForRunning } from '../support/agent-process.js'
import { ROOT } from '../support/cli-process.js'
import { deploymentYaml, readAgentIdentity, sleepTemplate, startHubAgent, startHubProcess } from '../support/hub-process.js'

const execFileAsync = promisify(execFile)

t.setTimeout(120_000)

t.test('enrollment with join tokens', async (t) => {
  const image = testImage()
  const hub = await startHubProcess(t)
  const fleet = uniqueNodeId('enroll')

  await t.test('a used-up or unknown token is refused: the agent exits non-zero, saying why, and stores no identity', async (t) => {
    const token = await hub.createJoinToken({ maxUses: 1 })
    await hub.ok('POST', '/api/v1/enroll', { token, name: uniqueNodeId('first'), labels: {}, inventory: await sampleInventory(), agentVersion: '0.1.0' })
    for (const [what, offered] of [
      ['used up', token],
      ['unknown', 'shoal_unknown_000000000000000000'],
    ] as const) {
      const dir = tempDir(t, 'agent-refused')
      const result = await execFileAsync(
        process.execPath,
        [
          CLI,
          'agent',
          'run',
          '--data-dir',
          path.join(dir, 'data'),
          '--name',
          uniqueNodeId('refused'),
          '--hub',
          hub.apiUrl,
          '--token',
          offered,
          '--container-labels',
          `${TEST_RUN_LABEL}=${testRunId()}`,
        ],
        { timeout: 30_000 },
      ).then(
        () => null,
        (error: { code: number; stderr: string }) => error,
      )
      t.ok(result, `${what}: the agent exited with an error`)
      t.not(result?.code, 0)
      t.match(
        result?.stderr,
        what === 'used up' ? /refused enrollment \(403\).*used 1 of 1 times/ : /refused enrollment \(403\).*unknown join token/,
        `${what}: says why`,
      )
      t.notOk(existsSync(path.join(dir, 'data', 'identity.json')), `${what}: no identity stored`)
    }
  })

  const token = await hub.createJoinToken({ maxUses: 2, labels: { fleet } })
  const name = uniqueNodeId('same')
  const first = await startHubAgent(t, hub, { name, token })

  await t.test('a second node asking for a taken name gets its own id, and restarts with the same arguments', async (t) => {
    const second = await startHubAgent(t, hub, { name, token })
    const id = readAgentIdentity(second)
    t.not(id.nodeId, name, 'the hub chose another id')
    t.match(id.nodeId, new RegExp(`^${name}-[0-9a-f]{6}$`))
    t.equal(readAgentIdentity(first).nodeId, name)
    await hub.apply(deploymentYaml('both', { mode: 'every-node', selector: { matchLabels: { fleet } }, template: sleepTemplate(image) }))
    const before = await waitForRunning(id.nodeId, ['both'])
    await waitForRunning(name, ['both'])
    await second.stop()
    // The same command line as before (`--name <taken name> --token ...`), as systemd would run it.
    await second.start()
    await waitFor(async () => (await hub.node(id.nodeId)).online, { what: 'the second node online again', timeoutMs: 30_000 })
    const after = await waitForRunning(id.nodeId, ['both'])
    t.equal(after.get('both')?.id, before.get('both')?.id, 'it runs on, same container')
    t.match(second.logLines('already enrolled; ignoring --token'), [{ nodeId: id.nodeId }], 'no second enrollment')
    t.equal((await hub.nodes()).length, 3, 'still three nodes at the hub (the first test enrolled one without an agent)')
  })

  await t.test('an enrolled agent restarts without its token and keeps its pinned key', async (t) => {
    await first.stop()
    const pinned = readAgentIdentity(first).hubPublicKey
    t.equal(pinned, hub.publicKey)
    await first.start({ extraArgs: [] })
    await waitFor(async () => (await hub.node(name)).online, { what: 'the first node online again', timeoutMs: 30_000 })
    t.equal(readAgentIdentity(first).hubPublicKey, pinned)
  })

  await t.test("a data directory is refused under another node's name", async (t) => {
    const result = await execFileAsync(process.execPath, [CLI, 'agent', 'run', '--data-dir', first.dataDir, '--name', uniqueNodeId('other')], {
      timeout: 30_000,
    }).then(
      () => null,
      (error: { code: number; stderr: string }) => error,
    )
    t.match(result?.stderr, new RegExp(`belongs to node ${name}`), 'refused, naming the owner')
  })
})

t.test("a site's own profile directory on the hub and its agents: a new device class enrolls by name", async (t) => {
  const dir = tempDir(t, 'site-profiles')
  const shipped = readFileSync(path.join(ROOT, 'firmware-profiles', 'generic-amd64.yaml'), 'utf8')
  writeFileSync(path.join(dir, 'generic-amd64.yaml'), shipped)
  // A class of the site's own: the generic profile under another name, with its own label and capability.
  writeFileSync(
    path.join(dir, 'acme-gateway.yaml'),
    shipped
      .replace(/^name: .*$/m, 'name: acme-gateway')
      .replace(/^description: .*$/m, 'description: ACME field gateway')
      .replace(/^labels:$/m, 'labels:\n  vendor: acme')
      .replace(/^agent:$/m, 'capabilities: [acme-bus]\nagent:'),
  )

  await t.test('a hub whose profile directory cannot be loaded does not start, and names the problem', async (t) => {
    const missing = path.join(dir, 'missing')
    const result = await execFileAsync(
      process.execPath,
      [CLI, 'hub', 'serve', '--data-dir', tempDir(t, 'hub-bad-profiles'), '--listen', '127.0.0.1:0', '--mqtt-listen', '127.0.0.1:0', '--profiles-dir', missing],
      {
        timeout: 30_000,
      },
    ).then(
      () => null,
      (error: { code: number; stderr: string }) => error,
    )
    t.equal(result?.code, 2, 'exit code 2 (usage)')
    t.match(result?.stderr, `cannot load firmware profiles from ${missing}`, 'says which directory and why')
  })

  const hub = await startHubProcess(t, { extraArgs: ['--profiles-dir', dir] })
  const agent = await startHubAgent(t, hub, { name: uniqueNodeId('acme'), profile: 'acme-gateway', extraArgs: ['--profiles-dir', dir] })
  const node = (await hub.nodes()).find((n) => n.id === agent.nodeId)
  t.equal(node?.profile, 'acme-gateway', "the node enrolled as the site's own class")
  t.equal(node?.labels?.vendor, 'acme', "with that class's labels")
  t.ok(node?.capabilities?.includes('acme-bus'), 'and its capabilities')
})

/** The inventory this machine reports, as the agent would send it. */
async function sampleInventory(): Promise<unknown> {
  const { collectInventory } = await import('../../agent/inventory.js')
  return collectInventory({ onProbeFailed: () => undefined })
}
