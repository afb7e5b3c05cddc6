// The hub on an external Mosquitto 2 whose password and ACL files the hub itself generates
// (`--broker-auth-dir`) and reloads (SIGHUP): real hub and agent processes, real Docker.
// Workloads land exactly where the selectors say; node A's own credentials, used by a real
// MQTT client, can neither read node B's desired document nor publish as B; a revoked node's
// live connection is cut by the reload and its credentials are refused from then on.
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import mqtt, { type MqttClient } from 'mqtt'
import t from 'tap'
import { agentCredentials, enrollAgent, sleeperManifest, startHubProcess, writeBrokerConfig } from '../support/broker-fleet.js'
import { uniqueNodeId, waitForRunning } from '../support/agent-process.js'
import { startMosquitto, tempDir, testImage, waitFor } from '../support/index.js'

t.setTimeout(150_000)

function connectAs(url: string, username: string, password: string, clientId: string): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { username, password, clientId, protocolVersion: 4, clean: true, reconnectPeriod: 0, connectTimeout: 5_000 })
    client.once('connect', () => resolve(client))
    client.once('error', (error) => {
      client.end(true)
      reject(error)
    })
  })
}

t.test('Mosquitto with hub-generated users and ACLs: placement, isolation, revocation', async (t) => {
  const image = testImage()
  const dir = tempDir(t, 'transport-mosquitto')
  const dataDir = path.join(dir, 'hub')
  const authDir = path.join(dir, 'broker-auth')

  // The operator's part: generate the files once, point mosquitto.conf at them, start it.
  await writeBrokerConfig(dataDir, 'mosquitto', authDir)
  const broker = await startMosquitto(t, {
    configLines: [
      'allow_anonymous false',
      'use_username_as_clientid true',
      'max_packet_size 1100000',
      `password_file ${authDir}/mosquitto.passwd`,
      `acl_file ${authDir}/mosquitto.acl`,
      'log_type all',
    ],
  })
  const hub = await startHubProcess(t, { dataDir, args: ['--mqtt-url', broker.url, '--broker-auth-dir', authDir, '--broker-reload-pid', String(broker.pid)] })
  t.match(
    hub.log(),
    /"confirmed":true[^\n]*broker configuration written and reloaded/,
    'the hub rewrote the files, signalled Mosquitto and saw the reload take effect',
  )

  const { token } = await hub.api<{ token: string }>('POST', '/api/v1/tokens', { maxUses: 3 })
  const nodeA = uniqueNodeId('a')
  const nodeB = uniqueNodeId('b')
  const nodeC = uniqueNodeId('c')
  // One after another: each agent's start-up inventory is CPU-heavy on a small machine.
  const a = await enrollAgent(t, hub, { nodeId: nodeA, dataDir: path.join(dir, 'a', 'data'), token, labels: { site: 'east', role: 'web' } })
  const b = await enrollAgent(t, hub, { nodeId: nodeB, dataDir: path.join(dir, 'b', 'data'), token, labels: { site: 'east' } })
  const c = await enrollAgent(t, hub, { nodeId: nodeC, dataDir: path.join(dir, 'c', 'data'), token, labels: { site: 'west', role: 'web' } })

  await t.test('workloads run exactly where the selectors say', async (t) => {
    const manifests = [
      sleeperManifest('web', image, { replicas: 2, selector: { matchLabels: { role: 'web' } }, spread: { topologyKey: 'site' } }),
      sleeperManifest('everywhere', image, { mode: 'every-node' }),
    ]
    await hub.api('POST', '/api/v1/manifests', manifests.map((m) => JSON.stringify(m)).join('\n---\n'), 'application/yaml')
    await Promise.all([waitForRunning(nodeA, ['everywhere', 'web']), waitForRunning(nodeB, ['everywhere']), waitForRunning(nodeC, ['everywhere', 'web'])])
    t.pass('a and c run web and everywhere; b runs everywhere only')
  })

  await t.test("node A's credentials cannot read B's desired document nor publish as B", async (t) => {
    const credsA = agentCredentials(a)
    t.equal(credsA.username, nodeA, 'each node has its own broker user')
    // use_username_as_clientid binds the session to the user, so these credentials cannot share
    // a session with the running agent A: stop it first (its containers keep running).
    await a.stop()
    const linkDownB = b.logLines('hub link down; working from the local store').length
    // B's client id, to try to take B's session: use_username_as_clientid makes it A's own.
    const client = await connectAs(broker.url, credsA.username, credsA.password, `shoal-agent-${nodeB}`)
    t.teardown(() => void client.end(true))
    const received: string[] = []
    client.on('message', (topic, payload) => received.push(`${topic} ${payload.toString().slice(0, 60)}`))
    await client.subscribeAsync(`shoal/v1/nodes/${nodeB}/desired`, { qos: 1 })
    await client.subscribeAsync(`shoal/v1/nodes/${nodeB}/ack`, { qos: 1 })
    await client.subscribeAsync('shoal/v1/#', { qos: 1 })
    // Mosquitto sends retained messages as each SUBSCRIBE is handled, in order: once A's own
    // document arrives for this last subscription, B's would have arrived before it.
    await client.subscribeAsync(`shoal/v1/nodes/${nodeA}/desired`, { qos: 1 })
    const ownTopic = `shoal/v1/nodes/${nodeA}/desired`
    await waitFor(() => received.filter((r) => r.startsWith(`${ownTopic} `)).length >= 2, {
      what: "A's own retained document on both of its matching subscriptions",
      timeoutMs: 10_000,
    })
    t.same(
      received.filter((r) => !r.startsWith(`${ownTopic} `)),
      [],
      "nothing but A's own document arrived, though A subscribed to B's topics and to shoal/v1/#",
    )

    // Forged records as B: a valid event batch and an "offline" presence. Then a sentinel on
    // A's own outbox: once the hub has stored it, whatever A sent before has been handled.
    const at = new Date().toISOString()
    const mark = randomBytes(4).toString('hex')
    const forged = {
      nodeId: nodeB,
      records: [
        {
          nodeId: nodeB,
          seq: Number.MAX_SAFE_INTEGER - 1,
          kind: 'event',
          body: { nodeId: nodeB, type: 'Forged', severity: 'error', message: `forged-${mark}`, at },
        },
      ],
    }
    await client.publishAsync(`shoal/v1/nodes/${nodeB}/outbox`, JSON.stringify(forged), { qos: 1 })
    await client.publishAsync(`shoal/v1/nodes/${nodeB}/presence`, JSON.stringify({ nodeId: nodeB, state: 'offline', at }), { qos: 1, retain: true })
    await client.publishAsync(`shoal/v1/nodes/${nodeB}/desired`, 'forged desired document', { qos: 1, retain: true })
    const sentinel = {
      nodeId: nodeA,
      records: [
        {
          nodeId: nodeA,
          seq: Number.MAX_SAFE_INTEGER - 1,
          kind: 'event',
          body: { nodeId: nodeA, type: 'Sentinel', severity: 'info', message: `sentinel-${mark}`, at },
        },
      ],
    }
    await client.publishAsync(`shoal/v1/nodes/${nodeA}/outbox`, JSON.stringify(sentinel), { qos: 1 })
    await waitFor(
      async () =>
        (await hub.api<{ items: { message: string }[] }>('GET', `/api/v1/events?node=${nodeA}&limit=1000`)).items.some((e) => e.message === `sentinel-${mark}`),
      {
        what: "the hub to store A's sentinel event",
        timeoutMs: 15_000,
      },
    )
    const eventsB = await hub.api<{ items: { message: string }[] }>('GET', `/api/v1/events?node=${nodeB}&limit=1000`)
    t.notOk(
      eventsB.items.some((e) => e.message === `forged-${mark}`),
      'the hub never got the event A forged as B',
    )
    const nodeBView = await hub.api<{ online: boolean }>('GET', `/api/v1/nodes/${nodeB}`)
    t.equal(nodeBView.online, true, "B's forged offline presence did not reach the hub")
    const log = broker.log()
    t.match(log, new RegExp(`Denied PUBLISH from ${nodeA} .*'shoal/v1/nodes/${nodeB}/outbox'`), 'Mosquitto denied the forged outbox publish')
    t.match(log, new RegExp(`Denied PUBLISH from ${nodeA} .*'shoal/v1/nodes/${nodeB}/desired'`), 'and the forged desired document')
    t.equal(b.logLines('hub link down; working from the local store').length, linkDownB, "connecting with B's client id did not kick B off")
    // B still runs only what the hub signed for it.
    await waitForRunning(nodeB, ['everywhere'], 10_000)
  })

  await t.test("a revoked node's connection is cut by the reload and its credentials refused", async (t) => {
    const credsB = agentCredentials(b)
    const linkDownBefore = b.logLines('hub link down; working from the local store').length
    const linkDownC = c.logLines('hub link down; working from the local store').length
    const revoked = await hub.api<{ revoked: string; broker?: { confirmed: boolean | null } }>('DELETE', `/api/v1/nodes/${nodeB}`)
    t.equal(revoked.revoked, nodeB, 'the API revoked B')
    t.equal(revoked.broker?.confirmed, true, 'the API answers after Mosquitto has loaded the rewritten files')
    await waitFor(() => b.logLines('hub link down; working from the local store').length > linkDownBefore, {
      what: "agent B's broker connection to drop",
      timeoutMs: 15_000,
    })
    await waitFor(() => b.logLines('broker connection error').some((l) => /Not authorized/i.test(JSON.stringify(l))), {
      what: "agent B's reconnects to be refused",
      timeoutMs: 20_000,
    })
    await t.rejects(connectAs(broker.url, credsB.username, credsB.password, `check-${nodeB}`), /Not authorized/, "B's credentials are refused")
    t.notMatch(readFileSync(path.join(authDir, 'mosquitto.acl'), 'utf8'), new RegExp(`^user ${nodeB}$`, 'm'), 'B is gone from the ACL file')
    t.equal(c.logLines('hub link down; working from the local store').length, linkDownC, "the reload left C's connection alone")
    t.ok(b.alive, 'the agent itself keeps running (its containers too) without a hub link')
  })
})
