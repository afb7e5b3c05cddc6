// Desired documents gzipped on the wire (protocol/desired-compression.ts), on real parts: a real
// hub and a real agent, which says in its heartbeats that it reads gzip. A document of more than
// 1 KiB (one deployment with a realistic env) is published gzipped and applied by the agent; the
// retained message (embedded broker, read with the node's own credentials once its agent has
// stepped aside; Mosquitto, read as the hub) and the KV entry (NATS, read as the hub) hold the gzip bytes, which inflate to
// the generation the agent applied. A node that does not say it reads gzip (a raw MQTT client
// standing in for an agent from before compression) gets plain JSON, gets gzip once it says so,
// and gets the same document again as plain JSON when it stops saying so.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { connect } from 'nats'
import t from 'tap'
import { COMPRESS_DESIRED_FROM_BYTES, inflateDesired, isGzipped } from '../../protocol/desired-compression.js'
import { type DesiredDocument, type EnrollmentResponse, type Heartbeat, NATS_DESIRED_BUCKET, mqttTopic, natsDesiredKey } from '../../protocol/index.js'
import { uniqueNodeId, waitForRunning, type AgentProcess, type AgentTestLike } from '../support/agent-process.js'
import { enrollAgent, startHubProcess as startBrokerHub, writeBrokerConfig, type HubProcess as BrokerHub, startNatsWithHub } from '../support/broker-fleet.js'
import {
  connectRawMqtt,
  deploymentYaml,
  publishRaw,
  readAgentIdentity,
  sleepTemplate,
  startHubAgent,
  startHubProcess,
  subscribeRaw,
  type HubProcess,
  type RawMessage,
} from '../support/hub-process.js'
import { startMosquitto, tempDir, testImage, waitFor } from '../support/index.js'

t.setTimeout(240_000)

/** A deployment whose document for a node is well over 1 KiB: one sleeper with 40 settings. */
function largeDeployment(name: string, fleet: string, round: number): string {
  const env = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`SETTING_${i}`, `value-${round}-${i}-of-a-plausible-length`]))
  return deploymentYaml(name, {
    mode: 'every-node',
    selector: { matchLabels: { fleet } },
    strategy: { maxUnavailable: '100%', minReadySeconds: 0 },
    template: sleepTemplate(testImage(), { env }),
  })
}

function documentOf(payload: Buffer | Uint8Array): DesiredDocument {
  return JSON.parse(Buffer.from(inflateDesired(payload)).toString('utf8')) as DesiredDocument
}

/** Resolves to the generation once the agent has accepted the latest document the hub holds for it. */
async function applied(latest: () => Promise<number>, agent: AgentProcess): Promise<number> {
  return waitFor(
    async () => {
      const generation = await latest()
      return generation > 0 && (await agent.status()).generation === generation ? generation : undefined
    },
    { what: `agent ${agent.nodeId} to accept its latest generation`, timeoutMs: 90_000, intervalMs: 250 },
  )
}

/**
 * One agent enrolled on a hub that uses an external broker, with the large deployment applied to
 * it: its node id and the generation it accepted (once the hub holds a heartbeat saying it reads gzip).
 */
async function enrollAndApplyLarge(t: AgentTestLike, hub: BrokerHub, dir: string, prefix: string): Promise<{ nodeId: string; generation: number }> {
  const fleet = uniqueNodeId(prefix)
  const { token } = await hub.api<{ token: string }>('POST', '/api/v1/tokens', { maxUses: 1 })
  const nodeId = uniqueNodeId(prefix)
  const agent = await enrollAgent(t, hub, { nodeId, dataDir: path.join(dir, 'a', 'data'), token, labels: { fleet } })
  const node = async (): Promise<{ usage: unknown; generation: { latest: number } }> => hub.api('GET', `/api/v1/nodes/${nodeId}`)
  await waitFor(async () => (await node()).usage !== null, { what: "the hub to hold the agent's heartbeat", timeoutMs: 60_000 })
  await hub.api('POST', '/api/v1/manifests', largeDeployment('big', fleet, 1), 'application/yaml')
  await waitForRunning(nodeId, ['big'], 90_000)
  return { nodeId, generation: await applied(async () => (await node()).generation.latest, agent) }
}

t.test('embedded broker: a large document is retained gzipped, and the agent applies it', async (t) => {
  const hub = await startHubProcess(t)
  const fleet = uniqueNodeId('gz')
  const agent = await startHubAgent(t, hub, { name: uniqueNodeId('gz'), labels: { fleet } })
  // The hub compresses for a node once a heartbeat has said it reads gzip.
  await waitFor(async () => (await hub.node(agent.nodeId)).usage !== null, { what: "the hub to hold the agent's heartbeat", timeoutMs: 60_000 })
  await hub.apply(largeDeployment('big', fleet, 1))
  await waitForRunning(agent.nodeId, ['big'], 90_000)
  const generation = await applied(async () => (await hub.node(agent.nodeId)).generation.latest as number, agent)
  t.match(agent.log(), /accepted desired document/, 'the agent accepted it')

  // The agent steps aside so the test can hold the node's client id and read the retained copy.
  const identity = readAgentIdentity(agent)
  await agent.stop()
  await waitFor(async () => (await hub.node(agent.nodeId)).online === false, { what: 'the hub to see the node offline', timeoutMs: 20_000 })
  const raw = await connectRawMqtt(t, hub.brokerUrl, { clientId: `shoal-agent-${agent.nodeId}`, username: identity.username, password: identity.password })
  await subscribeRaw(raw, [mqttTopic(agent.nodeId, 'desired')])
  const retained = await waitFor(() => raw.messages.find((m) => m.retain), { what: 'the retained desired document', timeoutMs: 15_000 })
  const inflated = Buffer.from(inflateDesired(retained.payload))
  t.ok(isGzipped(retained.payload), 'the retained message is gzip')
  t.ok(inflated.length >= COMPRESS_DESIRED_FROM_BYTES, `of a document of ${inflated.length} bytes`)
  t.ok(retained.payload.length < inflated.length / 2, `${retained.payload.length} bytes on the wire for ${inflated.length} of JSON`)
  t.equal(documentOf(retained.payload).generation, generation, 'the generation the agent applied')
})

t.test('NATS: the KV entry holds the gzipped document, and the agent applies it', async (t) => {
  const dir = tempDir(t, 'desired-gzip-nats')
  const { dataDir, broker, hub } = await startNatsWithHub(t, dir)
  const { nodeId, generation } = await enrollAndApplyLarge(t, hub, dir, 'gzn')

  const nc = await connect({
    servers: new URL(broker.url).host,
    user: 'shoal_hub',
    pass: readFileSync(path.join(dataDir, 'broker-hub-password'), 'utf8').trim(),
    reconnect: false,
  })
  t.teardown(() => nc.close())
  const kv = await nc.jetstream().views.kv(NATS_DESIRED_BUCKET, { bindOnly: true })
  const entry = await waitFor(
    async () => {
      const found = await kv.get(natsDesiredKey(nodeId))
      return found && documentOf(found.value).generation === generation ? found : undefined
    },
    { what: `generation ${generation} in the KV bucket`, timeoutMs: 15_000 },
  )
  const inflated = Buffer.from(inflateDesired(entry.value))
  t.ok(isGzipped(entry.value), 'the KV entry is gzip')
  t.ok(entry.value.length < inflated.length / 2, `${entry.value.length} bytes stored for ${inflated.length} of JSON`)
})

t.test('Mosquitto: the retained message is the gzipped document, and the agent applies it', async (t) => {
  const dir = tempDir(t, 'desired-gzip-mosquitto')
  const dataDir = path.join(dir, 'hub')
  const authDir = path.join(dir, 'broker-auth')
  await writeBrokerConfig(dataDir, 'mosquitto', authDir)
  // No use_username_as_clientid: the observer below logs in as the hub under its own client id.
  const broker = await startMosquitto(t, {
    configLines: ['allow_anonymous false', 'max_packet_size 1100000', `password_file ${authDir}/mosquitto.passwd`, `acl_file ${authDir}/mosquitto.acl`],
  })
  const hub = await startBrokerHub(t, { dataDir, args: ['--mqtt-url', broker.url, '--broker-auth-dir', authDir, '--broker-reload-pid', String(broker.pid)] })
  const { nodeId, generation } = await enrollAndApplyLarge(t, hub, dir, 'gzm')

  const observer = await connectRawMqtt(t, broker.url, {
    clientId: `observer-${uniqueNodeId('o')}`,
    username: 'shoal_hub',
    password: readFileSync(path.join(dataDir, 'broker-hub-password'), 'utf8').trim(),
  })
  await subscribeRaw(observer, [mqttTopic(nodeId, 'desired')])
  const retained = await waitFor(() => observer.messages.find((m) => m.retain), { what: 'the retained desired document', timeoutMs: 15_000 })
  const inflated = Buffer.from(inflateDesired(retained.payload))
  t.ok(isGzipped(retained.payload), 'the retained message is gzip')
  t.ok(retained.payload.length < inflated.length / 2, `${retained.payload.length} bytes retained for ${inflated.length} of JSON`)
  t.equal(documentOf(retained.payload).generation, generation, 'the generation the agent applied')
})

t.test('a node that does not say it reads gzip gets plain JSON; gzip once it says so; plain again when it stops', async (t) => {
  const hub: HubProcess = await startHubProcess(t)
  const fleet = uniqueNodeId('plain')
  const token = await hub.createJoinToken({ maxUses: 1, labels: { fleet } })
  const name = uniqueNodeId('plain')
  const enrollment = (await hub.ok('POST', '/api/v1/enroll', {
    token,
    name,
    labels: {},
    inventory: {
      hostname: name,
      arch: 'amd64',
      cpu: { model: 'raw client', cores: 2 },
      memoryBytes: 4 * 1024 ** 3,
      disks: [],
      os: { platform: 'linux', distro: 'test', release: '1', kernel: '6' },
      hardware: {},
      gpus: [],
      runtime: null,
    },
    agentVersion: 'raw-client',
  })) as EnrollmentResponse
  const nodeId = enrollment.nodeId
  const raw = await connectRawMqtt(t, hub.brokerUrl, { clientId: `shoal-agent-${nodeId}`, username: enrollment.username, password: enrollment.password })
  await subscribeRaw(raw, [mqttTopic(nodeId, 'desired')])
  let beat = 0
  /** Sends a heartbeat (naming these encodings, or none) and resolves once the hub holds it. */
  const heartbeat = async (desiredEncodings?: string[]): Promise<void> => {
    beat++
    const body: Heartbeat = {
      nodeId,
      at: new Date(Date.now() + beat).toISOString(),
      uptimeSeconds: beat,
      observedGeneration: 0,
      outboxDepth: 0,
      cpuPercent: null,
      memory: { usedBytes: 1, totalBytes: 2 },
      disk: null,
      workloads: { running: 0, total: 0 },
      ...(desiredEncodings ? { desiredEncodings } : {}),
    }
    t.equal(await publishRaw(raw, mqttTopic(nodeId, 'heartbeat'), JSON.stringify(body), { qos: 0 }), 'acked')
    await waitFor(async () => (await hub.node(nodeId)).usage?.at === body.at, { what: `heartbeat ${beat} to reach the hub`, timeoutMs: 20_000 })
  }
  const desired = (): RawMessage[] => raw.messages.filter((m) => m.topic === mqttTopic(nodeId, 'desired') && m.payload.length > 0)
  const latest = async (): Promise<number> => (await hub.node(nodeId)).generation.latest as number

  await heartbeat()
  await waitFor(async () => (await hub.node(nodeId)).online === true, { what: 'the hub to see the raw node online', timeoutMs: 20_000 })
  await hub.apply(largeDeployment('big', fleet, 1))
  const first = await waitFor(
    async () => {
      const generation = await latest()
      return desired().find((m) => generation > 0 && documentOf(m.payload).workloads.length === 1 && documentOf(m.payload).generation === generation)
    },
    { what: 'the document with the deployment', timeoutMs: 30_000 },
  )
  t.notOk(isGzipped(first.payload), 'plain JSON for a node that never said it reads gzip')
  t.equal(first.payload[0], '{'.charCodeAt(0))
  t.ok(first.payload.length >= COMPRESS_DESIRED_FROM_BYTES, `although it is ${first.payload.length} bytes`)

  await heartbeat(['gzip'])
  const before = await latest()
  await hub.apply(largeDeployment('big', fleet, 2))
  const second = await waitFor(
    async () => {
      const generation = await latest()
      return generation > before ? desired().find((m) => documentOf(m.payload).generation === generation) : undefined
    },
    { what: 'the next document', timeoutMs: 30_000 },
  )
  t.ok(isGzipped(second.payload), 'gzip once its heartbeat says it reads gzip')
  t.ok(second.payload.length < first.payload.length / 2, `${second.payload.length} bytes where the plain one took ${first.payload.length}`)

  const count = desired().length
  await heartbeat()
  const again = await waitFor(() => desired().slice(count)[0], { what: 'the document published again', timeoutMs: 20_000 })
  t.notOk(isGzipped(again.payload), 'plain JSON again when its heartbeat stops saying so')
  t.equal(documentOf(again.payload).generation, documentOf(second.payload).generation, 'the same generation')
  t.match(readFileSync(hub.logFile, 'utf8'), /the node no longer says it reads gzip; sending its desired document as plain JSON/)
})
