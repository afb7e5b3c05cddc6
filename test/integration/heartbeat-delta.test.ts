// Heartbeat deltas on real parts: a real hub process on a real Mosquitto (the users and rights it
// generates) and a real enrolled agent process. Watched on the broker with the hub's own user:
// once the hub has confirmed a full heartbeat, the idle agent's heartbeats are deltas, and the
// hub's view of the node (the API behind `shoal get nodes`) stays whole: CPU, memory and disk
// taken from the full heartbeat, time from the delta. A hub restarted while the agent stays
// connected (an external broker keeps the connection) holds no base: it asks, and the agent's next
// heartbeat is a full one, after which deltas resume.
import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, renameSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import type { NodeView } from '../../protocol/api/index.js'
import { mqttTopic } from '../../protocol/index.js'
import { startAgentProcess, uniqueNodeId } from '../support/agent-process.js'
import { startHubProcess, writeBrokerConfig, type HubProcess } from '../support/broker-fleet.js'
import { connectRawMqtt, subscribeRaw } from '../support/hub-process.js'
import { startMosquitto, tempDir, waitFor } from '../support/index.js'

t.setTimeout(240_000)

// The shortest heartbeat of the shipped profiles (10 s), so the test waits least.
const PROFILE = 'x86-datacenter-gpu'

interface Beat {
  readonly nodeId: string
  readonly at: string
  readonly base?: string
  readonly set?: Record<string, unknown>
}

t.test('an idle agent sends deltas, the hub view stays whole, and a restarted hub gets a full heartbeat', async (t) => {
  const dir = tempDir(t, 'heartbeat-delta')
  const dataDir = path.join(dir, 'hub')
  const authDir = path.join(dir, 'broker-auth')
  await writeBrokerConfig(dataDir, 'mosquitto', authDir)
  // No use_username_as_clientid: the observer below logs in as the hub under its own client id.
  const broker = await startMosquitto(t, {
    configLines: ['allow_anonymous false', 'max_packet_size 1100000', `password_file ${authDir}/mosquitto.passwd`, `acl_file ${authDir}/mosquitto.acl`],
  })
  const hubArgs = ['--mqtt-url', broker.url, '--broker-auth-dir', authDir, '--broker-reload-pid', String(broker.pid)]
  let hub: HubProcess = await startHubProcess(t, { dataDir, args: hubArgs })
  const { token } = await hub.api<{ token: string }>('POST', '/api/v1/tokens', { maxUses: 1 })
  const nodeId = uniqueNodeId('delta')

  const observer = await connectRawMqtt(t, broker.url, {
    clientId: `observer-${randomBytes(3).toString('hex')}`,
    username: 'shoal_hub',
    password: readFileSync(path.join(dataDir, 'broker-hub-password'), 'utf8').trim(),
  })
  await subscribeRaw(observer, [mqttTopic(nodeId, 'heartbeat')])
  const beats = (): Beat[] => observer.messages.map((m) => JSON.parse(m.payload.toString()) as Beat)

  mkdirSync(path.join(dir, 'agent')) // the agent's log goes beside its data dir
  const agent = await startAgentProcess(t, {
    nodeId,
    dataDir: path.join(dir, 'agent', 'data'),
    hubUrl: hub.apiUrl,
    logLevel: 'debug',
    extraArgs: ['--token', token, '--profile', PROFILE],
  })
  const node = async (): Promise<NodeView | undefined> => (await hub.api<{ items: NodeView[] }>('GET', '/api/v1/nodes')).items.find((n) => n.id === nodeId)

  await t.test('after the first full heartbeat is confirmed, the idle agent sends deltas', async (t) => {
    const delta = await waitFor(() => beats().find((b) => b.base !== undefined), { what: 'a heartbeat delta', timeoutMs: 90_000, intervalMs: 200 })
    const full = beats().find((b) => b.at === delta.base)
    t.ok(full, 'its base is a full heartbeat the agent sent')
    t.notOk(beats()[0]?.base, 'the first heartbeat of the connection was full')
    // Which figures a delta carries depends on how busy this shared machine is; what holds always
    // is that it carries only fields whose value differs from its base's.
    const base = full as unknown as Record<string, unknown>
    for (const [field, value] of Object.entries(delta.set ?? {}))
      t.not(JSON.stringify(value), JSON.stringify(base[field]), `${field} is in the delta: it changed`)
    const sizes = observer.messages.map((m) => `${JSON.parse(m.payload.toString()).base === undefined ? 'full' : 'delta'} ${m.payload.length} B`)
    t.comment(`heartbeats so far: ${sizes.join(', ')}`)
  })

  await t.test("the hub's view of the node is whole after a delta: CPU, memory, disk, workloads", async (t) => {
    const latestDelta = await waitFor(
      async () => {
        const last = beats().at(-1)
        const view = await node()
        return last?.base !== undefined && view?.usage?.at === last.at ? { last, view } : undefined
      },
      { what: 'the hub to show a delta as the latest heartbeat', timeoutMs: 60_000, intervalMs: 500 },
    )
    const usage = latestDelta.view.usage
    t.type(usage?.cpuPercent, 'number', 'cpu')
    t.ok((usage?.memory.totalBytes ?? 0) > 0, 'memory')
    t.ok((usage?.disk?.totalBytes ?? 0) > 0, 'disk')
    t.equal(usage?.at, latestDelta.last.at, "the heartbeat time is the delta's own")
    t.equal(latestDelta.view.online, true)
  })

  await t.test('a hub restarted under a connected agent asks for a full heartbeat and gets one; deltas resume', async (t) => {
    const connects = agent.logLines('connected to broker').length
    await hub.stop()
    // The new hub appends to the same log file; its address is read from the file's first match.
    renameSync(hub.logFile, `${hub.logFile}.1`)
    const before = observer.messages.length
    hub = await startHubProcess(t, { dataDir, args: hubArgs })
    const full = await waitFor(
      async () => {
        const after = beats().slice(before)
        const view = await node()
        const latestFull = after.filter((b) => b.base === undefined).at(-1)
        return latestFull && after.some((b) => b.base !== undefined) && view?.usage ? latestFull : undefined
      },
      { what: 'a delta refused by the new hub, then a full heartbeat', timeoutMs: 90_000, intervalMs: 500 },
    )
    t.match(hub.log(), /a heartbeat delta without its base; asked the node for a full heartbeat/, 'the new hub asked')
    const resumed = await waitFor(() => beats().find((b) => b.base === full.at), {
      what: 'deltas against the new full heartbeat',
      timeoutMs: 60_000,
      intervalMs: 200,
    })
    t.ok(resumed, 'deltas resume against the full heartbeat the new hub holds')
    t.equal(agent.logLines('connected to broker').length, connects, 'the agent stayed connected throughout (the broker kept its connection)')
  })
})
