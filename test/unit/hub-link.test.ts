// The agent's side of the hub link without a broker (agent/hub-link/): what happens as the link
// comes and goes, which part each inbound channel reaches, the heartbeat's figures, and how
// outbox notifications are coalesced. The parts are recording fakes, named as such.
import { pino, type Logger } from 'pino'
import t from 'tap'
import { coalescedKick } from '../../agent/hub-link/coalesced-kick.js'
import { type HeartbeatFigures, HeartbeatSender, heartbeatBeat, heartbeatFigures, type HeartbeatSource } from '../../agent/hub-link/heartbeat-beat.js'
import { dispatchInbound, inboundHandlers, linkHandlers, takeDesired, type LinkParts } from '../../agent/hub-link/link-handlers.js'
import type { OutboxDepth, StoredDesired, WorkloadRecord } from '../../agent/store/agent-store.js'
import { HeartbeatBases } from '../../hub/ingest/heartbeat-bases.js'
import type { Heartbeat, HeartbeatDelta } from '../../protocol/index.js'

function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = []
  return { logger: pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) }), lines }
}

/** Every part of the link as a recording fake: each call is written to `calls` as `part.method(payload)`. */
function recordingParts(): { parts: LinkParts; calls: string[]; lines: Record<string, unknown>[] } {
  const calls: string[] = []
  const record = (what: string) => (payload?: Buffer) => void calls.push(payload ? `${what}(${payload.toString()})` : what)
  const { logger, lines } = capturingLogger()
  const parts: LinkParts = {
    outbox: { onConnected: record('outbox.onConnected'), onAck: record('outbox.onAck'), kick: record('outbox.kick') },
    heartbeats: {
      beat: async () => void calls.push('beat'),
      onConnected: () => void calls.push('heartbeats.onConnected'),
      offer: (payload) => (payload.toString().includes('heartbeat-basis') ? (calls.push(`heartbeats.offer(${payload.toString()})`), true) : false),
    },
    reconciler: { request: (reason) => void calls.push(`reconciler.request(${reason})`) },
    desiredRetry: { offer: record('desiredRetry.offer') },
    logServer: { receive: record('logServer.receive') },
    sessions: { receive: record('sessions.receive'), linkDown: () => void calls.push('sessions.linkDown') },
    logger,
  }
  return { parts, calls, lines }
}

t.test('link up: the outbox goes first, then a heartbeat at once (a full one: the hub confirms its base again)', async (t) => {
  const { parts, calls } = recordingParts()
  linkHandlers(parts).onConnected()
  t.strictSame(calls, ['outbox.onConnected', 'heartbeats.onConnected', 'beat'])
})

t.test('link down: logged, every session ends, and a reconcile pass is asked for (a local revert may now apply)', async (t) => {
  const { parts, calls, lines } = recordingParts()
  linkHandlers(parts).onDisconnected('keepalive timeout')
  t.strictSame(calls, ['sessions.linkDown', 'reconciler.request(hub-unreachable)'])
  t.strictSame(
    lines.map((l) => [l['level'], l['msg'], l['reason']]),
    [[30, 'hub link down; working from the local store', 'keepalive timeout']],
  )
})

t.test('each inbound channel reaches its part', async (t) => {
  const { parts, calls } = recordingParts()
  const { onMessage } = linkHandlers(parts)
  onMessage('desired', Buffer.from('doc'))
  onMessage('ack', Buffer.from('ack'))
  onMessage('logs-request', Buffer.from('req'))
  onMessage('session-in', Buffer.from('frame'))
  onMessage('ack', Buffer.from('{"kind":"heartbeat-basis"}'))
  t.strictSame(
    calls,
    [
      'desiredRetry.offer(doc)',
      'outbox.kick',
      'beat',
      'outbox.onAck(ack)',
      'logServer.receive(req)',
      'sessions.receive(frame)',
      'heartbeats.offer({"kind":"heartbeat-basis"})',
    ],
    'a document is followed by a heartbeat (the generation held); a heartbeat basis on the ack channel goes to the heartbeats, not the outbox',
  )
  t.strictSame(Object.keys(inboundHandlers(parts)).sort(), ['ack', 'desired', 'logs-request', 'session-in'])
})

t.test('a handler that throws drops its message with an error log; the next message is handled', async (t) => {
  const { logger, lines } = capturingLogger()
  const seen: string[] = []
  const dispatch = dispatchInbound(
    {
      desired: () => {
        throw new Error('disk full')
      },
      ack: (payload) => void seen.push(payload.toString()),
      'logs-request': () => undefined,
      'session-in': () => undefined,
    },
    logger,
  )
  t.doesNotThrow(() => dispatch('desired', Buffer.from('doc')))
  dispatch('ack', Buffer.from('a1'))
  t.strictSame(seen, ['a1'])
  t.equal(lines.length, 1)
  t.match(lines[0], {
    level: 50,
    channel: 'desired',
    msg: 'failed to handle a message; it was dropped and nothing stored changed',
    err: { message: 'disk full' },
  })
})

t.test('takeDesired: only an accepted document asks for a pass', async (t) => {
  const requests: string[] = []
  const reconciler = { request: (reason: string) => void requests.push(reason) }
  for (const outcome of ['accepted', 'stale', 'rejected', 'store-failed']) takeDesired({ receive: () => ({ outcome }) }, reconciler)(Buffer.from('x'))
  t.strictSame(requests, ['desired'])
})

const depth = (records: number): OutboxDepth => ({ records, bytes: records * 100, droppedEvents: 0 })
function source(generation: number | null, records: number, states: WorkloadRecord['state'][]): HeartbeatSource {
  return {
    desired: () => (generation === null ? null : ({ generation } as StoredDesired)),
    outboxDepth: () => depth(records),
    workloads: () => states.map((state, i) => ({ name: `w${i}`, state }) as WorkloadRecord),
  }
}

t.test('heartbeatFigures: the generation held, what waits for the hub, and how many run of all', async (t) => {
  t.strictSame(heartbeatFigures(source(12, 3, ['running', 'exited', 'running', 'crash-loop' as WorkloadRecord['state']])), {
    observedGeneration: 12,
    outboxDepth: 3,
    running: 2,
    total: 4,
  })
  t.strictSame(heartbeatFigures(source(null, 0, [])), { observedGeneration: 0, outboxDepth: 0, running: 0, total: 0 }, 'before any document')
})

const sampled = (figures: { observedGeneration: number; outboxDepth: number }): Promise<Heartbeat> =>
  Promise.resolve({
    nodeId: 'n1',
    at: '2030-01-01T00:00:00.000Z',
    uptimeSeconds: 5,
    cpuPercent: null,
    memory: null,
    disk: null,
    ...figures,
  } as unknown as Heartbeat)

t.test('a beat publishes the sampled heartbeat while the link is up, and nothing while it is down', async (t) => {
  const published: Buffer[] = []
  const link = { connected: false, publish: async (_channel: string, payload: Buffer) => void published.push(payload) }
  let samples = 0
  const beat = heartbeatBeat({ link, store: source(4, 1, ['running']), sample: (f) => (samples++, sampled(f)) })
  await beat()
  t.equal(samples, 0, 'offline: not even sampled')
  t.equal(published.length, 0)
  link.connected = true
  await beat()
  t.equal(published.length, 1)
  t.match(JSON.parse(published[0]!.toString()), { nodeId: 'n1', observedGeneration: 4, outboxDepth: 1 })
})

t.test('a beat whose sample throws is logged and let go; the next beat is sent (the chain never stays rejected)', async (t) => {
  const published: Buffer[] = []
  const link = { connected: true, publish: async (_channel: string, payload: Buffer) => void published.push(payload) }
  const warnings: unknown[] = []
  const logger = { warn: (data: unknown) => void warnings.push(data), debug: () => undefined }
  let calls = 0
  const sample = (figures: HeartbeatFigures): Promise<Heartbeat> => {
    calls++
    return calls === 1 ? Promise.reject(new TypeError('The database connection is not open')) : sampled(figures)
  }
  const sender = new HeartbeatSender({ link, store: source(1, 0, []), sample, logger })
  await t.resolves(sender.beat(), 'the failing beat resolves')
  t.match(warnings, [{ err: 'The database connection is not open' }])
  await sender.beat()
  t.equal(published.length, 1, 'the next beat went out')
})

t.test('a failed publish is let go: the next beat replaces it', async (t) => {
  const link = { connected: true, publish: () => Promise.reject(new Error('not connected')) }
  await t.resolves(heartbeatBeat({ link, store: source(1, 0, []), sample: sampled })())
})

t.test('coalescedKick: a burst of notifications kicks once, on the next turn; a later one kicks again', async (t) => {
  const deferred: (() => void)[] = []
  let kicks = 0
  const notify = coalescedKick(
    () => kicks++,
    (run) => void deferred.push(run),
  )
  notify()
  notify()
  notify()
  t.equal(kicks, 0, 'not in the same turn')
  t.equal(deferred.length, 1, 'one kick queued for the burst')
  deferred.shift()?.()
  t.equal(kicks, 1)
  notify()
  t.equal(deferred.length, 1, 'a notification after the kick queues another')
  deferred.shift()?.()
  t.equal(kicks, 2)
})

t.test('coalescedKick defers with setImmediate by default', async (t) => {
  let kicks = 0
  const notify = coalescedKick(() => kicks++)
  notify()
  notify()
  await new Promise<void>((resolve) => setImmediate(resolve))
  t.equal(kicks, 1)
})

t.test('HeartbeatSender: full until the hub confirms its base, then deltas, a full one every N-th and after a reconnect', async (t) => {
  const published: Record<string, unknown>[] = []
  const link = {
    connected: true,
    publish: async (_channel: string, payload: Buffer) => void published.push(JSON.parse(payload.toString()) as Record<string, unknown>),
  }
  let n = 0
  const sample = (): Promise<Heartbeat> =>
    Promise.resolve({
      nodeId: 'n1',
      at: new Date(Date.parse('2030-01-01T00:00:00.000Z') + 30_000 * n++).toISOString(),
      uptimeSeconds: 100 + 30 * (n - 1),
      observedGeneration: 4,
      outboxDepth: 0,
      cpuPercent: 5,
      memory: { usedBytes: 10, totalBytes: 100 },
      disk: null,
      workloads: { running: 1, total: 1 },
    })
  const sender = new HeartbeatSender({ link, store: source(4, 0, ['running']), sample, fullEvery: 3 })
  await sender.beat()
  await sender.beat()
  t.strictSame(
    published.map((m) => 'base' in m),
    [false, false],
    'full heartbeats only while no basis came (a hub from before deltas)',
  )
  t.notOk(sender.offer(Buffer.from('{"nodeId":"n1","seq":3}')), 'an ack is not for the heartbeats')
  t.ok(sender.offer(Buffer.from(JSON.stringify({ kind: 'heartbeat-basis', nodeId: 'n1', base: published[1]!['at'] }))), 'the basis is taken')
  for (let i = 0; i < 4; i++) await sender.beat()
  t.strictSame(published[2], { nodeId: 'n1', at: '2030-01-01T00:01:00.000Z', base: '2030-01-01T00:00:30.000Z' }, 'an idle delta: who, when, base')
  t.equal(published[3]!['base'], published[2]!['at'], 'each delta is relative to the heartbeat before it')
  t.notOk('base' in published[4]!, 'every third beat is full (fullEvery 3)')
  t.equal(published[5]!['base'], published[4]!['at'], 'the hub holds each later full one without saying so: deltas against it')
  sender.onConnected()
  await sender.beat()
  t.notOk('base' in published[6]!, 'a new connection starts with a full heartbeat')
})

t.test('HeartbeatSender: a basis naming another base (a hub that restarted) brings a full heartbeat at once', async (t) => {
  const published: Record<string, unknown>[] = []
  const link = {
    connected: true,
    publish: async (_channel: string, payload: Buffer) => void published.push(JSON.parse(payload.toString()) as Record<string, unknown>),
  }
  const valid = (): Promise<Heartbeat> =>
    Promise.resolve({
      nodeId: 'n1',
      at: '2030-01-01T00:00:00.000Z',
      uptimeSeconds: 5,
      observedGeneration: 1,
      outboxDepth: 0,
      cpuPercent: null,
      memory: { usedBytes: 1, totalBytes: 2 },
      disk: null,
      workloads: { running: 0, total: 0 },
    })
  const sender = new HeartbeatSender({ link, store: source(1, 0, []), sample: valid })
  await sender.beat()
  sender.offer(Buffer.from(JSON.stringify({ kind: 'heartbeat-basis', nodeId: 'n1', base: '2030-01-01T00:00:00.000Z' })))
  await sender.beat()
  t.equal(published.length, 2)
  t.ok('base' in published[1]!, 'confirmed: a delta')
  sender.offer(Buffer.from(JSON.stringify({ kind: 'heartbeat-basis', nodeId: 'n1', base: null })))
  await sender.beat()
  t.notOk('base' in published[2]!, 'the next heartbeat after "none held" is full, sent without waiting for the interval')
  const { logger, lines } = capturingLogger()
  const strict = new HeartbeatSender({ link, store: source(1, 0, []), sample: () => sampled({ observedGeneration: 1, outboxDepth: 0 }), logger })
  t.ok(strict.offer(Buffer.from('{"kind":"heartbeat-basis","nodeId":"n1"}')), 'a malformed basis is still consumed')
  t.match(lines, [{ msg: 'ignoring a malformed heartbeat basis' }])
})

t.test(
  "HeartbeatSender with the hub's HeartbeatBases: a basis for an earlier full heartbeat still starts deltas (two fulls in flight at connect)",
  async (t) => {
    const hub = new HeartbeatBases()
    const replies: Buffer[] = []
    const merged: Heartbeat[] = []
    const link = {
      connected: true,
      publish: async (_channel: string, payload: Buffer) => {
        const message = JSON.parse(payload.toString()) as Record<string, unknown>
        const outcome = 'base' in message ? hub.receiveDelta(message as unknown as HeartbeatDelta) : hub.receiveFull(message as unknown as Heartbeat)
        if (outcome.reply) replies.push(Buffer.from(JSON.stringify(outcome.reply)))
        if (outcome.heartbeat && 'base' in message) merged.push(outcome.heartbeat)
      },
    }
    let n = 0
    const sample = (): Promise<Heartbeat> =>
      Promise.resolve({
        nodeId: 'n1',
        at: new Date(Date.parse('2030-01-01T00:00:00.000Z') + 1000 * n++).toISOString(),
        uptimeSeconds: 100 + n,
        observedGeneration: 4,
        outboxDepth: 0,
        cpuPercent: 5,
        memory: { usedBytes: 10, totalBytes: 100 },
        disk: null,
        workloads: { running: 1, total: 1 },
      })
    const sender = new HeartbeatSender({ link, store: source(4, 0, ['running']), sample, fullEvery: 100 })
    sender.onConnected()
    await sender.beat() // on connect
    await sender.beat() // after the desired document: sent before the hub's basis for the first came back
    t.equal(replies.length, 1, 'the hub confirms the first full heartbeat of the connection only')
    // The basis arrives now; the beats go on, each one's reply (if any) delivered before the next.
    for (let i = 0; i < 5; i++) {
      for (const reply of replies.splice(0)) sender.offer(reply)
      await sender.beat()
    }
    t.ok(merged.length >= 3, `the hub merges deltas (${merged.length} of the last 5 beats)`)
    t.equal(merged.at(-1)?.at, '2030-01-01T00:00:0' + String(n - 1) + '.000Z', "the hub's view is the latest beat")
  },
)
