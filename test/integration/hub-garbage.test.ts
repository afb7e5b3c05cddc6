// Garbage on every topic the hub listens to (outbox, heartbeat, presence, logs-chunk),
// published with a real node's own credentials through the embedded broker: malformed JSON,
// oversize payloads, schema-invalid messages and messages claiming another node. Each is
// counted in /metrics by channel and reason and logged; the hub stays healthy; nothing stored
// changes; and the node's real agent carries on afterwards with its report stream intact.
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { mqttTopic, type Channel } from '../../protocol/index.js'
import { testImage, waitFor } from '../support/index.js'
import { nodeContainers, uniqueNodeId, waitForRunning } from '../support/agent-process.js'
import {
  connectRawMqtt,
  deploymentYaml,
  metricValue,
  publishRaw,
  readAgentIdentity,
  sleepTemplate,
  startHubAgent,
  startHubProcess,
} from '../support/hub-process.js'

t.setTimeout(150_000)

type HubChannel = Extract<Channel, 'outbox' | 'heartbeat' | 'presence' | 'logs-chunk'>

interface GarbageCase {
  readonly channel: HubChannel
  readonly reason: 'malformed-json' | 'oversize' | 'invalid' | 'wrong-node'
  readonly what: string
  readonly payload: Buffer | string
}

const json = (value: unknown): string => JSON.stringify(value)
/** Valid JSON of about `bytes` bytes: an object with one long string. */
const padded = (value: Record<string, unknown>, bytes: number): string => json({ ...value, pad: 'x'.repeat(bytes) })

t.test('garbage on every hub topic is counted, logged and ignored', async (t) => {
  const image = testImage()
  const hub = await startHubProcess(t)
  const fleet = uniqueNodeId('junk')
  const token = await hub.createJoinToken({ maxUses: 2, labels: { fleet } })
  const [g, h] = await Promise.all([startHubAgent(t, hub, { name: uniqueNodeId('g'), token }), startHubAgent(t, hub, { name: uniqueNodeId('h'), token })])
  await hub.apply(deploymentYaml('base', { mode: 'every-node', selector: { matchLabels: { fleet } }, template: sleepTemplate(image) }))
  const [gBase] = await Promise.all([waitForRunning(g.nodeId, ['base']), waitForRunning(h.nodeId, ['base'])])
  await waitFor(async () => (await hub.deployment('base')).ready === 2, { what: 'base ready on both nodes', timeoutMs: 60_000, intervalMs: 500 })
  await waitFor(async () => (await g.status()).outbox.records === 0, { what: "g's outbox to drain", timeoutMs: 30_000, intervalMs: 250 })

  // g's agent steps aside; the test publishes with g's own credentials and client id.
  await g.stop()
  const id = readAgentIdentity(g)
  const raw = await connectRawMqtt(t, hub.brokerUrl, { clientId: `shoal-agent-${g.nodeId}`, username: id.username, password: id.password })
  await waitFor(async () => (await hub.node(g.nodeId)).online, { what: 'g online through the raw client', timeoutMs: 10_000 })
  // The fleet pass that follows g's return rewrites the deployment's explanation ("1 on an offline
  // node" while g was away): the snapshot is taken once it has run, or it would catch the old one.
  await waitFor(async () => !/offline/.test((await hub.deployment('base')).why ?? ''), {
    what: "base's explanation to stop counting g as offline",
    timeoutMs: 10_000,
    intervalMs: 100,
  })

  const before = {
    deployments: (await hub.ok('GET', '/api/v1/deployments')).items,
    events: await hub.events(),
    g: await hub.node(g.nodeId),
    h: await hub.node(h.nodeId),
  }

  const at = new Date().toISOString()
  const event = (nodeId: string) => ({ nodeId, type: 'Garbage', severity: 'info', message: 'must never be stored', at })
  const batch = (nodeId: string, recordNode = nodeId) => ({
    nodeId,
    records: [{ nodeId: recordNode, seq: 9_000_000_000_000_000, kind: 'event', body: event(recordNode) }],
  })
  const heartbeat = (nodeId: string) => ({
    nodeId,
    at,
    uptimeSeconds: 1,
    observedGeneration: 1,
    outboxDepth: 0,
    cpuPercent: 1,
    memory: { usedBytes: 1, totalBytes: 2 },
    disk: null,
    workloads: { running: 0, total: 0 },
  })
  const chunk = (nodeId: string) => ({ requestId: 'abcdefgh-1234', nodeId, seq: 0, lines: [{ stream: 'stdout', text: 'hi' }], end: true })

  const cases: GarbageCase[] = [
    { channel: 'outbox', reason: 'malformed-json', what: 'truncated JSON', payload: '{"nodeId":"x","records":[' },
    { channel: 'outbox', reason: 'malformed-json', what: 'binary noise', payload: Buffer.concat([Buffer.from([0xff, 0xfe, 0x00]), randomBytes(512)]) },
    { channel: 'outbox', reason: 'malformed-json', what: 'an empty payload', payload: '' },
    // Over the outbox limit yet under the embedded broker's packet cap (512 KiB + 16 KiB), which
    // would cut the connection instead (hub-input-bounds covers that).
    { channel: 'outbox', reason: 'oversize', what: 'a 520 KiB batch (limit 512 KiB)', payload: padded(batch(g.nodeId), 520 * 1024) },
    { channel: 'outbox', reason: 'invalid', what: 'a batch with no records', payload: json({ nodeId: g.nodeId, records: [] }) },
    {
      channel: 'outbox',
      reason: 'invalid',
      what: 'a negative seq',
      payload: json({ nodeId: g.nodeId, records: [{ ...batch(g.nodeId).records[0], seq: -1 }] }),
    },
    { channel: 'outbox', reason: 'invalid', what: 'JSON null', payload: 'null' },
    { channel: 'outbox', reason: 'invalid', what: 'an unknown field', payload: json({ ...batch(g.nodeId), extra: true }) },
    { channel: 'outbox', reason: 'wrong-node', what: 'a batch claiming node h', payload: json(batch(h.nodeId)) },
    { channel: 'outbox', reason: 'wrong-node', what: "a record claiming node h in g's batch", payload: json(batch(g.nodeId, h.nodeId)) },
    { channel: 'heartbeat', reason: 'malformed-json', what: 'truncated JSON', payload: '{"nodeId":' },
    { channel: 'heartbeat', reason: 'oversize', what: 'a 16 KiB heartbeat (limit 8 KiB)', payload: padded(heartbeat(g.nodeId), 16 * 1024) },
    { channel: 'heartbeat', reason: 'invalid', what: 'a heartbeat missing fields', payload: json({ nodeId: g.nodeId, at }) },
    { channel: 'heartbeat', reason: 'wrong-node', what: 'a heartbeat naming h', payload: json(heartbeat(h.nodeId)) },
    { channel: 'presence', reason: 'malformed-json', what: 'plain text', payload: 'offline' },
    { channel: 'presence', reason: 'oversize', what: 'a 2 KiB presence (limit 1 KiB)', payload: padded({ nodeId: g.nodeId, state: 'offline', at }, 2048) },
    { channel: 'presence', reason: 'invalid', what: 'an unknown state', payload: json({ nodeId: g.nodeId, state: 'sleeping', at }) },
    { channel: 'presence', reason: 'wrong-node', what: 'h going offline, said by g', payload: json({ nodeId: h.nodeId, state: 'offline', at }) },
    { channel: 'logs-chunk', reason: 'malformed-json', what: 'truncated JSON', payload: '{"requestId": "abc' },
    { channel: 'logs-chunk', reason: 'oversize', what: 'a 300 KiB chunk (limit 256 KiB)', payload: padded(chunk(g.nodeId), 300 * 1024) },
    { channel: 'logs-chunk', reason: 'invalid', what: 'a chunk with a bad request id', payload: json({ ...chunk(g.nodeId), requestId: '!' }) },
    { channel: 'logs-chunk', reason: 'wrong-node', what: 'a chunk naming h', payload: json(chunk(h.nodeId)) },
  ]

  await t.test('each message is rejected, counted by channel and reason, and logged', async (t) => {
    for (const c of cases) {
      t.equal(
        await publishRaw(raw, mqttTopic(g.nodeId, c.channel), c.payload),
        'acked',
        `${c.channel}: ${c.what} is accepted by the broker (the node may publish there)`,
      )
    }
    const expected = new Map<string, number>()
    for (const c of cases) expected.set(`${c.channel}|${c.reason}`, (expected.get(`${c.channel}|${c.reason}`) ?? 0) + 1)
    await waitFor(
      async () => {
        const text = await hub.metricsText()
        return [...expected].every(([key, count]) => {
          const [channel = '', reason = ''] = key.split('|')
          return metricValue(text, 'shoal_messages_rejected_total', { channel, reason }) === count
        })
      },
      { what: 'every rejection counted in /metrics', timeoutMs: 15_000, intervalMs: 200 },
    )
    for (const [key, count] of expected) {
      const [channel = '', reason = ''] = key.split('|')
      t.equal(
        await hub.metric('shoal_messages_rejected_total', { channel, reason }),
        count,
        `shoal_messages_rejected_total{channel="${channel}",reason="${reason}"} = ${count}`,
      )
    }
    t.equal(await hub.metric('shoal_messages_rejected_total', { channel: 'outbox', reason: 'internal' }), 0, 'nothing fell through as an internal error')
    const logged = await waitFor(
      () => {
        const lines = hub.logLines('rejected a message').filter((l) => l.nodeId === g.nodeId)
        return lines.length === cases.length ? lines : undefined
      },
      { what: 'one log line per rejected message', timeoutMs: 10_000 },
    )
    t.same(
      logged.map((l) => `${String(l.channel)}|${String(l.reason)}`),
      cases.map((c) => `${c.channel}|${c.reason}`),
      'logged in order, with channel and reason',
    )
    t.ok(
      logged.every((l) => String(l.detail ?? '').length <= 500),
      'log details are bounded (no 520 KiB lines)',
    )
  })

  await t.test('the hub stays healthy and nothing stored changed', async (t) => {
    t.ok(hub.alive, 'the hub process is alive')
    t.match((await hub.api('GET', '/healthz', undefined, { token: null })).body, { ok: true })
    t.same((await hub.ok('GET', '/api/v1/deployments')).items, before.deployments, 'deployments and their counts unchanged')
    const events = await hub.events()
    t.same(events, before.events, 'no event stored (not even a hub-made one)')
    const [gNow, hNow] = [await hub.node(g.nodeId), await hub.node(h.nodeId)]
    t.same(gNow.workloadStatus, before.g.workloadStatus, "g's workload status unchanged")
    t.same(hNow.workloadStatus, before.h.workloadStatus, "h's workload status unchanged")
    t.equal(hNow.online, true, "h was not marked offline by g's claim")
    t.same(gNow.usage, before.g.usage, 'no heartbeat recorded for g')
    t.same(hNow.generation, before.h.generation)
    t.equal(gNow.online, true, 'g\'s own presence is untouched by its invalid "offline" messages')
  })

  await t.test("g's real agent carries on: its reports still apply and are acknowledged", async (t) => {
    await raw.end()
    await g.start()
    const lastSeq = Math.max(
      0,
      ...before.events.filter((e: { nodeId: string | null; seq: number | null }) => e.nodeId === g.nodeId).map((e: { seq: number | null }) => e.seq ?? 0),
    )
    await hub.apply(deploymentYaml('after', { mode: 'every-node', selector: { matchLabels: { fleet } }, template: sleepTemplate(image) }))
    const running = await waitForRunning(g.nodeId, ['after', 'base'])
    t.equal(running.get('base')?.id, gBase.get('base')?.id, 'g kept its container across the agent restart')
    const fresh = await waitFor(
      async () => {
        const list = (await hub.events(g.nodeId)).filter((e) => e.workload === 'after' && e.type === 'WorkloadStateChanged')
        return list.length > 0 ? list : undefined
      },
      { what: 'g\'s events about "after" at the hub', timeoutMs: 60_000, intervalMs: 250 },
    )
    t.ok(
      fresh.every((e) => (e.seq ?? 0) > lastSeq),
      "new events continue g's seq, unpoisoned by the 9e15 seq in the garbage",
    )
    await waitFor(async () => (await g.status()).outbox.records === 0, { what: "g's outbox to drain (acks flow)", timeoutMs: 30_000, intervalMs: 250 })
    await waitFor(async () => (await hub.deployment('after')).ready === 2, { what: 'after ready on both nodes', timeoutMs: 60_000, intervalMs: 500 })
    t.ok((await nodeContainers(h.nodeId)).every((c) => c.state === 'running'))
  })
})
