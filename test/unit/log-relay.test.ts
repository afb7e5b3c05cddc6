import { pino } from 'pino'
import t from 'tap'
import { LogRelay, LogRelayError, type LogRelayOptions, type RelayEvent, type RelayNode } from '../../hub/logs/log-relay.js'
import { Metrics } from '../../hub/metrics.js'
import { LogRequest, encodeMessage, type LogChunk } from '../../protocol/index.js'

const silent = pino({ level: 'silent' })

/** A relay whose "broker" records what the hub sends; tests answer as the agent would. */
function harness(options: Partial<LogRelayOptions> = {}, nodes: Record<string, RelayNode> = { 'pi-1': { online: true, offlineSince: null } }) {
  const sent: LogRequest[] = []
  const waiters: Array<() => void> = []
  const metrics = new Metrics()
  const relay = new LogRelay({
    publish: async (nodeId, payload) => {
      const request = LogRequest.parse(JSON.parse(payload.toString()))
      t.equal(request.nodeId, nodeId, 'published on the node it is for')
      sent.push(request)
      for (const wake of waiters.splice(0)) wake()
    },
    node: (id) => nodes[id] ?? null,
    logger: silent,
    metrics,
    answerTimeoutMs: 500,
    gapTimeoutMs: 100,
    ...options,
  })
  /** The n-th request the hub sent (waits for it). */
  const request = async (n = 0): Promise<LogRequest> => {
    while (sent.length <= n) await new Promise<void>((resolve) => waiters.push(resolve))
    return sent[n] as LogRequest
  }
  const reply = (request: LogRequest, seq: number, lines: string[], extra: Partial<LogChunk> = {}): void => {
    const chunk: LogChunk = {
      requestId: request.requestId,
      nodeId: request.nodeId,
      seq,
      lines: lines.map((text) => ({ stream: text.startsWith('err') ? 'stderr' : 'stdout', text })),
      end: false,
      ...extra,
    }
    relay.receive(request.nodeId, encodeMessage(chunk))
  }
  return { relay, sent, request, reply, metrics }
}

/** Reads a relay stream to its end: the events, and the error it ended with (if any). */
async function collect(stream: AsyncIterable<RelayEvent>): Promise<{ events: RelayEvent[]; error: LogRelayError | null }> {
  const events: RelayEvent[] = []
  try {
    for await (const event of stream) events.push(event)
    return { events, error: null }
  } catch (error) {
    if (error instanceof LogRelayError) return { events, error }
    throw error
  }
}

const texts = (events: readonly RelayEvent[]): string[] =>
  events.flatMap((e) => (e.type === 'line' ? [e.text] : e.type === 'gap' ? [`<gap ${e.missing}>`] : ['<open>']))

t.test('sends one request and yields the lines of ordered chunks until the end', async (t) => {
  const { relay, request, reply, sent } = harness()
  const reading = collect(relay.request('pi-1', 'web', { tail: 3, follow: false }))
  const req = await request()
  t.match(req, { nodeId: 'pi-1', workload: 'web', tail: 3, follow: false })
  reply(req, 0, ['out-1', 'err-1'])
  reply(req, 1, ['out-2'], { end: true })
  const { events, error } = await reading
  t.equal(error, null)
  t.same(texts(events), ['<open>', 'out-1', 'err-1', 'out-2'])
  t.same(events[2], { type: 'line', stream: 'stderr', text: 'err-1' })
  t.equal(sent.length, 1, 'no cancel after a complete stream')
  t.equal(relay.activeCount, 0)
})

t.test('puts reordered chunks back in order and drops duplicates', async (t) => {
  const { relay, request, reply, metrics } = harness()
  const reading = collect(relay.request('pi-1', 'web', { follow: false }))
  const req = await request()
  reply(req, 2, ['c'], { end: true })
  reply(req, 0, ['a'])
  reply(req, 0, ['a'])
  reply(req, 1, ['b'])
  reply(req, 1, ['b'])
  const { events } = await reading
  t.same(texts(events), ['<open>', 'a', 'b', 'c'])
  const dropped = ['duplicate', 'after-end', 'orphan'].reduce((sum, outcome) => sum + metrics.counter('shoal_log_chunks_total', { outcome }), 0)
  t.equal(dropped, 2, 'both copies dropped')
})

t.test('a node the hub knows is offline is answered at once, without a request', async (t) => {
  const { relay, sent } = harness({}, { 'pi-9': { online: false, offlineSince: '2025-03-01T12:00:00.000Z' } })
  const { error } = await collect(relay.request('pi-9', 'web', { follow: false }))
  t.equal(error?.code, 'node-offline')
  t.equal(error?.message, 'node pi-9 is offline since 2025-03-01T12:00:00.000Z; its logs can be read once it reconnects')
  t.equal(sent.length, 0)
  const unknown = await collect(relay.request('pi-404', 'web', { follow: false }))
  t.equal(unknown.error?.code, 'unknown-node')
})

t.test('a node that never answers times out with a message naming it, and is told to stop', async (t) => {
  const { relay, request, sent } = harness({ answerTimeoutMs: 100 })
  const { error } = await collect(relay.request('pi-1', 'web', { follow: true, followSeconds: 30 }))
  t.equal(error?.code, 'node-timeout')
  t.equal(error?.message, 'node pi-1 did not answer within 0.1s')
  const req = await request(0)
  t.equal(sent.length, 2)
  t.match(sent[1], { requestId: req.requestId, cancel: true })
})

t.test('a stream that falls silent mid-way says so, or that its node went offline', async (t) => {
  const nodes: Record<string, RelayNode> = { 'pi-1': { online: true, offlineSince: null } }
  const { relay, request, reply } = harness({ answerTimeoutMs: 150 }, nodes)
  const reading = collect(relay.request('pi-1', 'web', { follow: true }))
  const req = await request()
  reply(req, 0, ['first'])
  nodes['pi-1'] = { online: false, offlineSince: '2025-03-01T12:00:00.000Z' }
  const { events, error } = await reading
  t.same(texts(events), ['<open>', 'first'])
  t.equal(error?.code, 'node-offline')
  t.match(error?.message, /offline since 2025-03-01T12:00:00.000Z/)
})

t.test('keep-alive chunks (no lines) keep a quiet follow open', async (t) => {
  const { relay, request, reply } = harness({ answerTimeoutMs: 200 })
  const reading = collect(relay.request('pi-1', 'web', { follow: true }))
  const req = await request()
  for (let seq = 0; seq < 6; seq++) {
    reply(req, seq, [])
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  reply(req, 6, ['late'], { end: true })
  const { events, error } = await reading
  t.equal(error, null, 'no timeout over 600 ms of keep-alives')
  t.same(texts(events), ['<open>', 'late'])
})

t.test("an agent's error chunk ends the stream with its code and message", async (t) => {
  const { relay, request, reply, sent } = harness()
  const reading = collect(relay.request('pi-1', 'nope', { follow: false }))
  const req = await request()
  reply(req, 0, [], { end: true, error: 'no container for workload nope on node pi-1', errorCode: 'not-found' })
  const { events, error } = await reading
  t.same(events, [], 'not even an open')
  t.equal(error?.code, 'not-found')
  t.equal(error?.message, 'no container for workload nope on node pi-1')
  t.equal(sent.length, 1, 'the agent ended it: no cancel')
})

t.test('lines before a failure are delivered first', async (t) => {
  const { relay, request, reply } = harness()
  const reading = collect(relay.request('pi-1', 'web', { follow: true }))
  const req = await request()
  reply(req, 0, ['one', 'two'])
  reply(req, 1, ['three'], { end: true, error: 'reading failed', errorCode: 'failed' })
  const { events, error } = await reading
  t.same(texts(events), ['<open>', 'one', 'two', 'three'])
  t.equal(error?.code, 'failed')
})

t.test('aborting the signal ends the stream quietly and cancels on the agent', async (t) => {
  const { relay, request, reply, sent } = harness()
  const controller = new AbortController()
  const events: RelayEvent[] = []
  const reading = (async () => {
    for await (const event of relay.request('pi-1', 'web', { follow: true }, controller.signal)) {
      events.push(event)
      if (event.type === 'line' && event.text === 'two') controller.abort()
    }
  })()
  const req = await request()
  reply(req, 0, ['one', 'two', 'three'])
  await reading
  t.same(texts(events), ['<open>', 'one', 'two'])
  await request(1)
  t.match(sent[1], { requestId: req.requestId, cancel: true })
  t.equal(relay.activeCount, 0)
  // The agent may still have a chunk on the way: it is dropped, and not cancelled twice.
  reply(req, 1, ['late'])
  t.equal(sent.length, 2)
})

t.test('a consumer that stops reading (break) cancels too', async (t) => {
  const { relay, request, reply, sent } = harness()
  const reading = (async () => {
    for await (const event of relay.request('pi-1', 'web', { follow: true })) {
      if (event.type === 'line') break
    }
  })()
  const req = await request()
  reply(req, 0, ['only'])
  await reading
  await request(1)
  t.equal(sent[1]?.cancel, true)
})

t.test('a chunk lost on the way becomes a gap after a while, and the stream goes on', async (t) => {
  const { relay, request, reply } = harness({ gapTimeoutMs: 50 })
  const reading = collect(relay.request('pi-1', 'web', { follow: true }))
  const req = await request()
  reply(req, 0, ['a'])
  reply(req, 2, ['c'])
  reply(req, 3, ['d'], { end: true })
  const { events, error } = await reading
  t.equal(error, null)
  t.same(texts(events), ['<open>', 'a', '<gap 1>', 'c', 'd'])
})

t.test('a chunk for a request nobody reads is counted and the agent told to stop, once', async (t) => {
  const { relay, sent, metrics } = harness()
  const orphan: LogChunk = { requestId: 'gone-0000-1111', nodeId: 'pi-1', seq: 4, lines: [{ stream: 'stdout', text: 'x' }], end: false }
  relay.receive('pi-1', encodeMessage(orphan))
  relay.receive('pi-1', encodeMessage({ ...orphan, seq: 5 }))
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(metrics.counter('shoal_log_chunks_total', { outcome: 'orphan' }), 2)
  t.equal(sent.length, 1)
  t.match(sent[0], { requestId: 'gone-0000-1111', cancel: true })
  relay.receive('pi-1', Buffer.from('not json'))
  t.equal(metrics.counter('shoal_log_chunks_total', { outcome: 'invalid' }), 1, 'garbage is counted and dropped')
})

t.test("a chunk on another node's topic is not taken for this stream", async (t) => {
  const { relay, request, reply } = harness(
    { answerTimeoutMs: 200 },
    { 'pi-1': { online: true, offlineSince: null }, 'pi-2': { online: true, offlineSince: null } },
  )
  const reading = collect(relay.request('pi-1', 'web', { follow: false }))
  const req = await request()
  const forged: LogChunk = { requestId: req.requestId, nodeId: 'pi-1', seq: 0, lines: [{ stream: 'stdout', text: 'forged' }], end: true }
  relay.receive('pi-2', encodeMessage(forged))
  reply(req, 0, ['real'], { end: true })
  const { events } = await reading
  t.same(texts(events), ['<open>', 'real'])
})

t.test('a publish failure is an unreachable error; close() ends live streams', async (t) => {
  const failing = new LogRelay({
    publish: () => Promise.reject(new Error('broker down')),
    node: () => ({ online: true, offlineSince: null }),
    logger: silent,
  })
  const { error } = await collect(failing.request('pi-1', 'web', { follow: false }))
  t.equal(error?.code, 'unreachable')
  t.match(error?.message, /broker down/)

  const { relay, request } = harness()
  const reading = collect(relay.request('pi-1', 'web', { follow: true }))
  await request()
  relay.close()
  t.equal((await reading).error?.code, 'hub-stopping')
  t.equal((await collect(relay.request('pi-1', 'web', { follow: false }))).error?.code, 'hub-stopping')
})

t.test('a client that reads too slowly is cut off', async (t) => {
  const { relay, request, reply } = harness({ maxQueuedLines: 5 })
  const stream = relay.request('pi-1', 'web', { follow: true })
  const first = stream.next()
  const req = await request()
  reply(req, 0, ['1', '2', '3'])
  t.same((await first).value, { type: 'open' })
  reply(req, 1, ['4', '5', '6', '7'])
  const rest = await collect(stream)
  t.equal(rest.error?.code, 'slow-client')
})
