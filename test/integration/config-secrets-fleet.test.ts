// Configs and Secrets across a fleet of real parts: a real hub process, real agent processes,
// real Docker (host-network workloads), real SQLite files, real brokers.
// - Embedded broker: per-site overrides give each node its own value; relabelling a node rolls
//   its copy to the other site's value; a Secret's registry credentials pull a private image
//   from a loopback registry that wants a password; with the hub down, an agent restarted after
//   its container and Secret files were lost brings the workload back from SQLite alone.
// - Mosquitto (hub-generated users): a Secret's marker value reaches the container, and is in
//   no database or WAL file, log, API answer or retained broker message (read with the hub's own
//   broker credentials); node A's sealed box does not open with node B's key.
// - NATS: the same Secret reaches the container; the desired-state bucket holds only ciphertext.
import { randomBytes } from 'node:crypto'
import { readFileSync, rmSync } from 'node:fs'
import path from 'node:path'
import { connect, StringCodec } from 'nats'
import t, { type Test } from 'tap'
import { inflateDesired } from '../../protocol/desired-compression.js'
import { type DesiredDocument, mqttTopic, NATS_DESIRED_BUCKET, natsDesiredKey, sealContext, UnsealError, unseal } from '../../protocol/index.js'
import { uniqueNodeId, waitForRunning, type AgentProcess } from '../support/agent-process.js'
import { enrollAgent, startHubProcess as startBrokerHub, writeBrokerConfig, startNatsWithHub } from '../support/broker-fleet.js'
import { configObjectYaml, inContainer, scanFiles, startAuthRegistry } from '../support/config-objects.js'
import {
  connectRawMqtt,
  deploymentContainers,
  deploymentYaml,
  manifestsYaml,
  sleepTemplate,
  startHubAgent,
  startHubProcess,
  subscribeRaw,
} from '../support/hub-process.js'
import { dockerClient, pushImage, pullImage, removeContainersByLabel, startMosquitto, tempDir, testImage, waitFor } from '../support/index.js'

t.setTimeout(230_000)

const HUB_BROKER_USER = 'shoal_hub'
const sc = StringCodec()

/** The default Secret directory of a node (tmpfs), removed when the test ends. */
function cleanSecretsDir(t: Test, nodeId: string): string {
  const dir = `/dev/shm/shoal-${nodeId}`
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** A sleeper that reads a Config and a Secret as env and as files. */
function appYaml(name: string, selector: Record<string, string>, config: string | null, secret: string): string {
  const env: Record<string, unknown> = { TOKEN: { secret, key: 'token' } }
  const volumes: Array<Record<string, string>> = [{ secret, path: '/run/secrets/app' }]
  if (config) {
    env.GREETING = { config, key: 'greeting' }
    volumes.push({ config, path: '/etc/site' })
  }
  return deploymentYaml(name, {
    mode: 'every-node',
    selector: { matchLabels: selector },
    strategy: { maxUnavailable: '100%', minReadySeconds: 0 },
    template: sleepTemplate(testImage(), { env, volumes }),
  })
}

/** What the container sees: env and files. */
const VIEW = 'echo "$GREETING|$TOKEN|$(cat /etc/site/site.conf 2>/dev/null)|$(cat /run/secrets/app/token)"'

/** The node's single running container of a workload. */
async function runningId(nodeId: string, workload: string, others: readonly string[] = []): Promise<string> {
  const running = await waitForRunning(nodeId, [workload, ...others].sort())
  const id = running.get(workload)?.id
  if (!id) throw new Error(`no container for ${workload} on ${nodeId}`)
  return id
}

t.test('embedded broker: overrides by site, relabel rolls, registry credentials by reference, offline reboot', async (t) => {
  const marker = `sealed-embedded-${randomBytes(6).toString('hex')}`
  const hub = await startHubProcess(t, { logLevel: 'debug' })
  const fleet = uniqueNodeId('fleet')
  const token = await hub.createJoinToken({ maxUses: 2, ttl: '10m', labels: { fleet } })
  // One after another: each agent's start-up inventory is CPU-heavy on a small machine.
  const a = await startHubAgent(t, hub, { name: uniqueNodeId('sa'), token, labels: { site: 'a' } })
  const b = await startHubAgent(t, hub, { name: uniqueNodeId('sb'), token, labels: { site: 'b' } })
  const secretsA = cleanSecretsDir(t, a.nodeId)
  cleanSecretsDir(t, b.nodeId)

  await hub.apply(
    manifestsYaml(
      configObjectYaml('Config', 'site', { greeting: 'hello-base', 'site.conf': 'site=base' }, [
        { selector: { matchLabels: { site: 'a' } }, data: { greeting: 'hello-a', 'site.conf': 'site=a' } },
        { selector: { matchLabels: { site: 'b' } }, data: { greeting: 'hello-b', 'site.conf': 'site=b' } },
      ]),
      configObjectYaml('Secret', 'api', { token: marker }),
      appYaml('app', { fleet }, 'site', 'api'),
    ),
  )
  const firstA = await runningId(a.nodeId, 'app')
  const firstB = await runningId(b.nodeId, 'app')

  await t.test("each node's container gets its own site's values", async (t) => {
    t.equal(await inContainer(firstA, VIEW), `hello-a|${marker}|site=a|${marker}\n`, 'site a: env and file from override 0')
    t.equal(await inContainer(firstB, VIEW), `hello-b|${marker}|site=b|${marker}\n`, 'site b: env and file from override 1')
  })

  await t.test("relabelling node a to site=b rolls its copy to b's value and leaves b alone", async (t) => {
    const started = Date.now()
    await hub.ok('PATCH', `/api/v1/nodes/${a.nodeId}`, { labels: { site: 'b' } })
    const rolled = await waitFor(
      async () => {
        const id = await runningId(a.nodeId, 'app')
        return id !== firstA ? id : undefined
      },
      { what: `a new container for app on ${a.nodeId}`, timeoutMs: 60_000, intervalMs: 200 },
    )
    t.comment(`relabel to new container running: ${Date.now() - started} ms`)
    t.equal(await inContainer(rolled, VIEW), `hello-b|${marker}|site=b|${marker}\n`, "a's new container has b's values")
    t.equal(await runningId(b.nodeId, 'app'), firstB, "b's container was not touched (its values did not change)")
    const detail = await hub.ok<{ copies?: Array<{ nodeId: string; desiredVersion: number | null; runningVersion: number | null }> }>(
      'GET',
      '/api/v1/configs/site',
    )
    t.ok(
      detail.copies?.some((c) => c.nodeId === a.nodeId && c.desiredVersion === 1),
      'the config names the copy on a',
    )
  })

  await t.test('registry credentials from a Secret pull a private image from a registry with auth', async (t) => {
    const username = 'puller'
    const password = `pw-${randomBytes(6).toString('hex')}`
    const registry = await startAuthRegistry(t, username, password)
    const docker = dockerClient()
    const repo = `${registry}/shoal-test/private-${randomBytes(3).toString('hex')}`
    const ref = `${repo}:1`
    await docker.getImage(testImage()).tag({ repo, tag: '1' })
    t.teardown(() =>
      docker
        .getImage(ref)
        .remove({ force: true })
        .catch(() => undefined),
    )
    const pushError = await pushImage(ref, registry, { username, password })
    t.notOk(pushError, `the push with credentials worked${pushError ? `: ${pushError}` : ''}`)
    await docker.getImage(ref).remove()
    await t.rejects(pullImage(ref), /no basic auth|unauthorized|authentication required/i, 'the registry refuses a pull without credentials')

    await hub.apply(
      manifestsYaml(
        configObjectYaml('Secret', 'registry', { username, password }),
        deploymentYaml('private', {
          replicas: 1,
          selector: { matchLabels: { fleet } },
          template: { ...sleepTemplate(ref), pullCredentials: { secret: 'registry' } },
        }),
      ),
    )
    const copy = await waitFor(
      async () => {
        const found = await deploymentContainers('private', [a.nodeId, b.nodeId])
        return found.length === 1 && found[0]?.state === 'running' ? found[0] : undefined
      },
      { what: 'the private copy running', timeoutMs: 60_000, intervalMs: 200 },
    )
    t.ok(copy.id, `the copy runs on ${copy.node}, pulled with the Secret's credentials`)
    const inspected = await docker.getContainer(copy.id).inspect()
    t.equal(inspected.Config.Image, ref, 'from the private image')
    const stores = [a, b].flatMap((agent) => [path.join(agent.dataDir, 'agent.db'), path.join(agent.dataDir, 'agent.db-wal'), agent.logFile])
    const scan = scanFiles([path.join(hub.dataDir, 'hub.db'), path.join(hub.dataDir, 'hub.db-wal'), hub.logFile, ...stores], password)
    t.same(scan.holding, [], `the registry password is in no database, WAL or log file (read ${scan.read.length})`)
    await hub.ok('DELETE', '/api/v1/deployments/private')
    await waitFor(async () => (await deploymentContainers('private', [a.nodeId, b.nodeId])).length === 0, {
      what: 'the private copy removed',
      timeoutMs: 60_000,
    })
  })

  await t.test('hub down, agent restarted, container and Secret files gone: the workload comes back with its secret', async (t) => {
    await waitFor(async () => (await a.status()).workloads.some((w) => w.name === 'app' && w.state === 'running'), {
      what: 'agent a to record app running',
      timeoutMs: 30_000,
    })
    await hub.kill('SIGKILL')
    await a.stop()
    const removed = await removeContainersByLabel(`io.shoal.node=${a.nodeId}`)
    t.equal(removed, 1, "a's container removed")
    rmSync(secretsA, { recursive: true, force: true }) // a reboot empties the tmpfs
    const started = Date.now()
    await a.start()
    const back = await runningId(a.nodeId, 'app')
    t.comment(`agent start (hub down) to container running: ${Date.now() - started} ms`)
    t.equal(await inContainer(back, VIEW), `hello-b|${marker}|site=b|${marker}\n`, 'env and files from SQLite alone')
    t.notOk(hub.alive, 'the hub was down throughout')
  })
})

t.test('Mosquitto: a Secret is in the container and nowhere else in clear; another node cannot open it', async (t) => {
  const marker = `sealed-mosquitto-${randomBytes(6).toString('hex')}`
  const dir = tempDir(t, 'secrets-mosquitto')
  const dataDir = path.join(dir, 'hub')
  const authDir = path.join(dir, 'broker-auth')
  await writeBrokerConfig(dataDir, 'mosquitto', authDir)
  // No use_username_as_clientid: the observer below logs in as the hub under its own client id.
  const broker = await startMosquitto(t, {
    configLines: ['allow_anonymous false', 'max_packet_size 1100000', `password_file ${authDir}/mosquitto.passwd`, `acl_file ${authDir}/mosquitto.acl`],
  })
  const hub = await startBrokerHub(t, {
    dataDir,
    args: ['--mqtt-url', broker.url, '--broker-auth-dir', authDir, '--broker-reload-pid', String(broker.pid)],
  })
  const fleet = uniqueNodeId('fleet')
  const { token } = await hub.api<{ token: string }>('POST', '/api/v1/tokens', { maxUses: 2 })
  const nodeA = uniqueNodeId('ma')
  const nodeB = uniqueNodeId('mb')
  const a = await enrollAgent(t, hub, { nodeId: nodeA, dataDir: path.join(dir, 'a', 'data'), token, labels: { fleet } })
  const b = await enrollAgent(t, hub, { nodeId: nodeB, dataDir: path.join(dir, 'b', 'data'), token, labels: { fleet } })
  cleanSecretsDir(t, nodeA)
  cleanSecretsDir(t, nodeB)

  await hub.api(
    'POST',
    '/api/v1/manifests',
    manifestsYaml(configObjectYaml('Secret', 'vault', { token: marker }), appYaml('app', { fleet }, null, 'vault')),
    'application/yaml',
  )
  const idA = await runningId(nodeA, 'app')
  const idB = await runningId(nodeB, 'app')
  t.equal(await inContainer(idA, VIEW), `|${marker}||${marker}\n`, "the marker reaches A's container as env and file")
  t.equal(await inContainer(idB, VIEW), `|${marker}||${marker}\n`, "and B's")

  // The hub's own broker user may read every Shoal topic: what anyone with admin rights on the broker sees.
  const hubPassword = readFileSync(path.join(dataDir, 'broker-hub-password'), 'utf8').trim()
  const observer = await connectRawMqtt(t, broker.url, {
    clientId: `observer-${randomBytes(3).toString('hex')}`,
    username: HUB_BROKER_USER,
    password: hubPassword,
  })
  const granted = await subscribeRaw(observer, ['shoal/v1/#'])
  t.same(
    granted.map((g) => g.qos),
    [1],
    'the hub user may read every Shoal topic',
  )
  const documents = await waitFor(
    () => {
      const docs = new Map<string, DesiredDocument>()
      for (const m of observer.messages) {
        if (!m.retain || (m.topic !== mqttTopic(nodeA, 'desired') && m.topic !== mqttTopic(nodeB, 'desired'))) continue
        const doc = JSON.parse(inflateDesired(m.payload).toString()) as DesiredDocument
        docs.set(doc.nodeId, doc)
      }
      return docs.size === 2 ? docs : undefined
    },
    { what: "A's and B's retained desired documents", timeoutMs: 15_000 },
  )
  const boxOf = (nodeId: string) => {
    const values = documents.get(nodeId)?.workloads.find((w) => w.deployment === 'app')?.values?.secrets?.vault
    if (!values) throw new Error(`no sealed vault secret in ${nodeId}'s document`)
    return values
  }

  await t.test('no file, log, API answer or broker message holds the marker', async (t) => {
    // Let a few statuses and events go through after the containers started.
    await waitFor(async () => (await a.status()).workloads.some((w) => w.name === 'app' && w.state === 'running'), { what: 'a records app running' })
    await waitFor(
      async () =>
        (await hub.api<{ copies: Array<{ nodeId: string; runningVersion: number | null }> }>('GET', '/api/v1/secrets/vault')).copies.filter(
          (c) => c.runningVersion === 1,
        ).length === 2,
      { what: 'both copies to report secret vault version 1', timeoutMs: 30_000, intervalMs: 250 },
    )
    const files = [
      path.join(dataDir, 'hub.db'),
      path.join(dataDir, 'hub.db-wal'),
      hub.logFile,
      ...[a, b].flatMap((agent: AgentProcess) => [path.join(agent.dataDir, 'agent.db'), path.join(agent.dataDir, 'agent.db-wal'), agent.logFile]),
    ]
    const scan = scanFiles(files, marker)
    t.same(scan.holding, [], 'no database, WAL or log file holds the marker')
    t.ok(scan.read.includes('hub.db') && scan.read.includes('agent.db') && scan.read.includes('hub.log'), `files read: ${scan.read.join(', ')}`)
    const store = Buffer.concat(files.slice(0, 2).flatMap((f) => (scan.read.includes(path.basename(f)) ? [readFileSync(f)] : [])))
    t.ok(store.includes('vault'), "the hub's files scanned are its store (they name the Secret)")

    const routes = [
      '/api/v1/secrets',
      '/api/v1/secrets/vault',
      '/api/v1/nodes',
      `/api/v1/nodes/${nodeA}`,
      `/api/v1/nodes/${nodeB}`,
      '/api/v1/deployments',
      '/api/v1/deployments/app',
      '/api/v1/events?limit=1000',
    ]
    for (const route of routes) {
      const answer = JSON.stringify(await hub.api('GET', route))
      t.notOk(answer.includes(marker), `GET ${route} does not hold the marker`)
      if (route === '/api/v1/secrets/vault') t.match(answer, /token/, 'the Secret detail shows its key')
    }
    // Desired documents may be gzipped (protocol/desired-compression.ts): searched inflated.
    const broker = observer.messages.filter((m) => inflateDesired(m.payload).includes(marker))
    t.same(
      broker.map((m) => m.topic),
      [],
      `no broker message holds the marker (${observer.messages.length} read)`,
    )
    t.ok(boxOf(nodeA).sealed.ciphertext.length > 0, "A's document carries the Secret, sealed")
  })

  await t.test("A's sealed box does not open with B's key; it opens with A's", async (t) => {
    const box = boxOf(nodeA)
    const keyA = readFileSync(path.join(a.dataDir, 'sealing-key.pem'), 'utf8')
    const keyB = readFileSync(path.join(b.dataDir, 'sealing-key.pem'), 'utf8')
    t.throws(() => unseal(box.sealed, keyB, sealContext(nodeA, 'vault', box.version)), UnsealError, "B's key cannot open A's box")
    t.throws(() => unseal(box.sealed, keyB, sealContext(nodeB, 'vault', box.version)), UnsealError, "nor under B's own context")
    t.throws(() => unseal(boxOf(nodeB).sealed, keyA, sealContext(nodeB, 'vault', box.version)), UnsealError, "nor A's key B's box")
    const opened = unseal(box.sealed, keyA, sealContext(nodeA, 'vault', box.version))
    t.same(JSON.parse(opened.toString()), { token: marker }, "A's own key opens it: the box is the Secret")
  })
})

t.test('NATS: a Secret reaches the container; the desired-state bucket holds only ciphertext', async (t) => {
  const marker = `sealed-nats-${randomBytes(6).toString('hex')}`
  const dir = tempDir(t, 'secrets-nats')
  const { dataDir, broker, hub } = await startNatsWithHub(t, dir)
  const fleet = uniqueNodeId('fleet')
  const { token } = await hub.api<{ token: string }>('POST', '/api/v1/tokens', { maxUses: 1 })
  const nodeId = uniqueNodeId('na')
  await enrollAgent(t, hub, { nodeId, dataDir: path.join(dir, 'a', 'data'), token, labels: { fleet } })
  cleanSecretsDir(t, nodeId)
  await hub.api(
    'POST',
    '/api/v1/manifests',
    manifestsYaml(configObjectYaml('Secret', 'vault', { token: marker }), appYaml('app', { fleet }, null, 'vault')),
    'application/yaml',
  )
  const id = await runningId(nodeId, 'app')
  t.equal(await inContainer(id, VIEW), `|${marker}||${marker}\n`, 'the marker reaches the container as env and file')

  const nc = await connect({
    servers: new URL(broker.url).host,
    user: HUB_BROKER_USER,
    pass: readFileSync(path.join(dataDir, 'broker-hub-password'), 'utf8').trim(),
    reconnect: false,
  })
  t.teardown(() => nc.close())
  const kv = await nc.jetstream().views.kv(NATS_DESIRED_BUCKET, { bindOnly: true })
  const entry = await kv.get(natsDesiredKey(nodeId))
  const text = entry ? sc.decode(inflateDesired(entry.value)) : ''
  t.match(text, /"ciphertext"/, "the node's desired document carries the sealed Secret")
  t.notOk(text.includes(marker), 'and not the value')
})
