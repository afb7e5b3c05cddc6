import { pino } from 'pino'
import t from 'tap'
import { LogServer, pickContainer, type LogServerOptions } from '../../agent/log-server.js'
import type { ContainerRuntime, LogLine, LogOptions, ObservedContainer } from '../../agent/runtime/runtime.js'
import { LogChunk, encodeMessage, type LogRequest } from '../../protocol/index.js'

const silent = pino({ level: 'silent' })
const NODE = 'pi-1'

function container(id: string, workload: string, state: ObservedContainer['state'] = 'running', startedAt = '2025-03-01T12:00:00Z'): ObservedContainer {
  return {
    id,
    name: `shoal-${NODE}-${workload}`,
    workload,
    deployment: workload,
    revision: 1,
    configHash: 'h',
    state,
    exitCode: null,
    health: 'none',
    restartCount: 0,
    startedAt,
    finishedAt: null,
  }
}

/** A log that a test writes to while the server follows it. */
class LiveLog {
  private readonly pending: LogLine[] = []
  private wake: (() => void) | null = null
  private ended = false

  write(...texts: string[]): void {
    for (const text of texts) this.pending.push({ stream: text.startsWith('err') ? 'stderr' : 'stdout', text, at: '2025-03-01T12:00:00.000000001Z' })
    this.wake?.()
  }

  end(): void {
    this.ended = true
    this.wake?.()
  }

  async *read(signal?: AbortSignal): AsyncGenerator<LogLine> {
    for (;;) {
      if (signal?.aborted) return
      const line = this.pending.shift()
      if (line) {
        yield line
        continue
      }
      if (this.ended) return
      await new Promise<void>((resolve) => {
        this.wake = resolve
        signal?.addEventListener('abort', () => resolve(), { once: true })
      })
      this.wake = null
    }
  }
}

function harness(history: string[], options: Partial<LogServerOptions> & { containers?: ObservedContainer[]; publishFails?: () => boolean } = {}) {
  const chunks: LogChunk[] = []
  const calls: Array<{ containerId: string; options: LogOptions }> = []
  const live = new LiveLog()
  let chunkWaiters: Array<() => void> = []
  const runtime = {
    name: 'fake',
    list: async () => options.containers ?? [container('c-web', 'web')],
    logs(containerId: string, logOptions: LogOptions): AsyncIterable<LogLine> {
      calls.push({ containerId, options: logOptions })
      if (containerId === 'c-broken') {
        return (async function* () {
          yield { stream: 'stdout' as const, text: 'partial' }
          throw new Error('engine went away')
        })()
      }
      const lines = history
        .slice(logOptions.tail === undefined ? 0 : Math.max(0, history.length - logOptions.tail))
        .map((text): LogLine => ({ stream: text.startsWith('err') ? 'stderr' : 'stdout', text }))
      return (async function* () {
        yield* lines
        if (logOptions.follow) yield* live.read(logOptions.signal)
      })()
    },
  } as unknown as ContainerRuntime
  const server = new LogServer({
    nodeId: NODE,
    runtime,
    workloads: () => [{ name: 'stored', containerId: 'c-stored' }],
    publish: async (payload) => {
      if (options.publishFails?.()) throw new Error('not connected')
      chunks.push(LogChunk.parse(JSON.parse(payload.toString())))
      for (const wake of chunkWaiters) wake()
      chunkWaiters = []
    },
    logger: silent,
    flushIntervalMs: 20,
    keepaliveMs: 60,
    ...options,
  })
  const send = (request: Partial<LogRequest> & { requestId: string; workload: string }): void =>
    server.receive(encodeMessage({ nodeId: NODE, follow: false, followSeconds: 60, ...request }))
  const of = (requestId: string): LogChunk[] => chunks.filter((c) => c.requestId === requestId)
  const waitFor = async (what: () => boolean, ms = 3_000): Promise<void> => {
    const deadline = Date.now() + ms
    while (!what()) {
      if (Date.now() > deadline) throw new Error('timed out waiting in the log server test')
      await new Promise<void>((resolve) => {
        chunkWaiters.push(resolve)
        setTimeout(resolve, 20)
      })
    }
  }
  const ended = (requestId: string) => () => of(requestId).some((c) => c.end)
  return { server, chunks, calls, live, send, of, waitFor, ended }
}

const lineTexts = (chunks: readonly LogChunk[]): string[] => chunks.flatMap((c) => c.lines.map((l) => l.text))

t.test('answers a tail with ordered chunks, both streams, and an end marker', async (t) => {
  const history = Array.from({ length: 50 }, (_, i) => [`out-${i + 1}`, `err-${i + 1}`]).flat()
  const h = harness(history, { batch: { maxLines: 7 } })
  h.send({ requestId: 'req-tail-0001', workload: 'web', tail: 10 })
  await h.waitFor(h.ended('req-tail-0001'))
  const chunks = h.of('req-tail-0001')
  t.same(
    chunks.map((c) => c.seq),
    chunks.map((_, i) => i),
    'seq 0, 1, 2, ... with no gap',
  )
  t.ok(chunks.every((c) => c.lines.length <= 7))
  t.same(lineTexts(chunks), history.slice(-10))
  t.same(chunks.flatMap((c) => c.lines.map((l) => l.stream)).slice(0, 2), ['stdout', 'stderr'])
  const last = chunks.at(-1)
  t.equal(last?.end, true)
  t.equal(last?.error, undefined)
  t.equal(chunks.filter((c) => c.end).length, 1, 'one end marker')
  t.match(h.calls[0], { containerId: 'c-web', options: { tail: 10, follow: false, timestamps: true } })
  await h.waitFor(() => h.server.activeCount === 0)
})

t.test('passes since to the runtime as a Date', async (t) => {
  const h = harness(['a'])
  h.send({ requestId: 'req-since-001', workload: 'web', since: '2025-03-01T12:00:00Z' })
  await h.waitFor(h.ended('req-since-001'))
  t.same(h.calls[0]?.options.since, new Date('2025-03-01T12:00:00Z'))
  t.equal(h.calls[0]?.options.tail, undefined)
})

t.test('an unknown workload gets an end chunk with a not-found error', async (t) => {
  const h = harness([], { workloads: () => [] })
  h.send({ requestId: 'req-nope-0001', workload: 'nope' })
  await h.waitFor(h.ended('req-nope-0001'))
  t.same(h.of('req-nope-0001'), [
    {
      requestId: 'req-nope-0001',
      nodeId: NODE,
      seq: 0,
      lines: [],
      end: true,
      error: `no container for workload nope on node ${NODE} (is the deployment placed here and started?)`,
      errorCode: 'not-found',
    },
  ])
})

t.test('falls back to the stored container id when the engine does not list the workload', async (t) => {
  const h = harness(['x'], { containers: [] })
  h.send({ requestId: 'req-stored-01', workload: 'stored' })
  await h.waitFor(h.ended('req-stored-01'))
  t.equal(h.calls[0]?.containerId, 'c-stored')
})

t.test('a read that fails mid-way ends with the lines so far and a failed error', async (t) => {
  const h = harness([], { containers: [container('c-broken', 'web')] })
  h.send({ requestId: 'req-broken-1', workload: 'web' })
  await h.waitFor(h.ended('req-broken-1'))
  const chunks = h.of('req-broken-1')
  t.same(lineTexts(chunks), ['partial'])
  t.match(chunks.at(-1), { end: true, errorCode: 'failed', error: /engine went away/ })
})

t.test('following: answers at once, streams new lines within the flush interval, keeps a quiet stream alive', async (t) => {
  const h = harness(['old-1', 'old-2'])
  h.send({ requestId: 'req-follow-01', workload: 'web', follow: true, tail: 1 })
  await h.waitFor(() => h.of('req-follow-01').length > 0)
  t.same(lineTexts(h.of('req-follow-01')), ['old-2'], 'the tail comes first')
  h.live.write('new-1', 'err-new-2')
  await h.waitFor(() => lineTexts(h.of('req-follow-01')).includes('err-new-2'))
  const before = h.of('req-follow-01').length
  // Waited for, not slept: a busy machine's timers may run late, never not at all.
  await h.waitFor(() => h.of('req-follow-01').length - before >= 2)
  const keepalives = h.of('req-follow-01').slice(before)
  t.ok(keepalives.length >= 2, `${keepalives.length} keep-alive chunks while quiet`)
  t.ok(keepalives.every((c) => c.lines.length === 0 && !c.end))
  h.live.end()
  await h.waitFor(h.ended('req-follow-01'))
  const chunks = h.of('req-follow-01')
  t.same(
    chunks.map((c) => c.seq),
    chunks.map((_, i) => i),
  )
  t.same(lineTexts(chunks), ['old-2', 'new-1', 'err-new-2'])
})

t.test('a cancel stops a follow with no further chunk', async (t) => {
  const h = harness([])
  h.send({ requestId: 'req-cancel-01', workload: 'web', follow: true })
  await h.waitFor(() => h.of('req-cancel-01').length > 0)
  t.equal(h.server.activeCount, 1)
  h.send({ requestId: 'req-cancel-01', workload: 'web', cancel: true })
  await h.waitFor(() => h.server.activeCount === 0)
  const count = h.of('req-cancel-01').length
  h.live.write('after-cancel')
  await new Promise((resolve) => setTimeout(resolve, 150))
  t.equal(h.of('req-cancel-01').length, count, 'nothing sent after the cancel')
  t.notOk(
    h.of('req-cancel-01').some((c) => c.end),
    'and no end marker: the hub is not listening',
  )
  h.send({ requestId: 'req-cancel-01', workload: 'web', follow: true })
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal(h.server.activeCount, 0, 'the same request delivered again is not served again')
})

t.test('a cancel that overtakes its request keeps it from starting', async (t) => {
  const h = harness(['a'])
  h.send({ requestId: 'req-early-001', workload: 'web', cancel: true })
  h.send({ requestId: 'req-early-001', workload: 'web' })
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal(h.chunks.length, 0)
})

t.test('a follow ends by itself at followSeconds', async (t) => {
  const h = harness(['a'])
  h.send({ requestId: 'req-bound-001', workload: 'web', follow: true, followSeconds: 1 })
  await h.waitFor(h.ended('req-bound-001'), 3_000)
  const last = h.of('req-bound-001').at(-1)
  t.equal(last?.end, true)
  t.equal(last?.error, undefined, 'the bound is a normal end')
})

t.test('more requests than the limit are refused at once with busy', async (t) => {
  const h = harness([], { maxConcurrent: 2 })
  for (const id of ['req-busy-0001', 'req-busy-0002', 'req-busy-0003']) h.send({ requestId: id, workload: 'web', follow: true })
  await h.waitFor(h.ended('req-busy-0003'))
  t.match(h.of('req-busy-0003'), [{ seq: 0, end: true, errorCode: 'busy', error: /already serves 2 log requests/ }])
  t.equal(h.server.activeCount, 2)
  await h.server.stop()
  for (const id of ['req-busy-0001', 'req-busy-0002'])
    t.match(h.of(id).at(-1), { end: true, errorCode: 'failed', error: /stopping/ }, `${id} told the hub the agent stops`)
  t.equal(h.server.activeCount, 0)
  h.send({ requestId: 'req-busy-0004', workload: 'web' })
  await h.waitFor(h.ended('req-busy-0004'))
  t.match(h.of('req-busy-0004'), [{ end: true, error: /stopping/ }], 'after stop, requests are refused')
})

t.test('a dead link ends the request without retrying', async (t) => {
  let fail = false
  const h = harness([], { publishFails: () => fail })
  h.send({ requestId: 'req-link-0001', workload: 'web', follow: true })
  await h.waitFor(() => h.of('req-link-0001').length > 0)
  fail = true
  h.live.write('lost')
  await h.waitFor(() => h.server.activeCount === 0)
  t.pass('the request ended when the link failed')
})

t.test('malformed or misaddressed requests are ignored', async (t) => {
  const h = harness(['a'])
  h.server.receive(Buffer.from('{"garbage": true}'))
  h.server.receive(Buffer.from('not json'))
  h.server.receive(encodeMessage({ requestId: 'req-other-001', nodeId: 'pi-2', workload: 'web', follow: false, followSeconds: 60 }))
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal(h.chunks.length, 0)
  t.equal(h.server.activeCount, 0)
})

t.test('pickContainer prefers a running container, then the latest started', async (t) => {
  const old = container('old', 'web', 'exited', '2025-03-01T10:00:00Z')
  const newer = container('newer', 'web', 'exited', '2025-03-01T11:00:00Z')
  const running = container('run', 'web', 'running', '2025-03-01T09:00:00Z')
  t.equal(pickContainer([old, newer], 'web')?.id, 'newer')
  t.equal(pickContainer([old, running, newer], 'web')?.id, 'run')
  t.equal(pickContainer([container('x', 'other')], 'web'), null)
})
