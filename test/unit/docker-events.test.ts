import { PassThrough } from 'node:stream'
import { pino } from 'pino'
import t from 'tap'
import { NdjsonSplitter, followEvents, toRuntimeEvent, type DockerEventMessage } from '../../agent/runtime/docker-events.js'
import { LABEL, type RuntimeEvent } from '../../agent/runtime/runtime.js'

const logger = pino({ level: 'silent' })

function message(action: string, time: number, extra: Record<string, string> = {}, id = 'c1'): DockerEventMessage {
  return { Type: 'container', Action: action, Actor: { ID: id, Attributes: { [LABEL.workload]: 'web', ...extra } }, time, timeNano: time * 1e9 }
}

t.test('maps the actions the agent cares about and ignores the rest', async (t) => {
  t.same(toRuntimeEvent(message('start', 1_700_000_000)), { containerId: 'c1', workload: 'web', at: new Date(1_700_000_000_000), action: 'start' })
  t.match(toRuntimeEvent(message('die', 1, { exitCode: '137' })), { action: 'die', exitCode: 137 })
  t.notOk('exitCode' in (toRuntimeEvent(message('die', 1)) ?? {}), 'no exit code attribute, no exitCode')
  t.match(toRuntimeEvent(message('health_status: healthy', 1)), { action: 'health_status', health: 'healthy' })
  t.match(toRuntimeEvent(message('health_status: unhealthy', 1)), { action: 'health_status', health: 'unhealthy' })
  for (const action of ['create', 'stop', 'destroy', 'oom', 'restart']) t.match(toRuntimeEvent(message(action, 1)), { action })
  for (const action of ['exec_start: sh -c true', 'exec_die', 'kill', 'attach', 'health_status: bogus', 'pause']) {
    t.equal(toRuntimeEvent(message(action, 1)), null, `${action} is ignored`)
  }
  t.equal(toRuntimeEvent({ ...message('start', 1), Type: 'image' }), null, 'not a container event')
  t.equal(toRuntimeEvent({ Type: 'container', Action: 'start', Actor: { ID: 'x', Attributes: {} }, time: 1 })?.workload, null)
})

t.test('newline-delimited JSON cut anywhere, even inside a UTF-8 character', async (t) => {
  const text = `${JSON.stringify({ a: 'é1' })}\n\n${JSON.stringify({ b: 2 })}\r\nnot json\n${JSON.stringify({ c: 3 })}\n`
  const bytes = Buffer.from(text)
  for (let cut = 0; cut <= bytes.length; cut++) {
    const splitter = new NdjsonSplitter()
    const invalid: string[] = []
    const values = [...splitter.push(bytes.subarray(0, cut), (line) => invalid.push(line)), ...splitter.push(bytes.subarray(cut), (line) => invalid.push(line))]
    if (JSON.stringify(values) !== JSON.stringify([{ a: 'é1' }, { b: 2 }, { c: 3 }]) || invalid.join() !== 'not json') {
      t.fail(`cut at byte ${cut}: ${JSON.stringify(values)} ${JSON.stringify(invalid)}`)
      return
    }
  }
  t.pass('every cut agrees')
})

/** A fake engine: each open() takes the next script entry, an error or a list of chunks. */
function fakeOpen(script: Array<Error | string[]>): {
  open: (since: number | undefined) => Promise<AsyncIterable<string> & { destroy?: () => void }>
  sinces: Array<number | undefined>
} {
  const sinces: Array<number | undefined> = []
  let next = 0
  return {
    sinces,
    open: async (since) => {
      sinces.push(since)
      const step = script[next++]
      if (step === undefined) return new PassThrough() // stays open and quiet until destroyed
      if (step instanceof Error) throw step
      return (async function* () {
        yield* step
      })()
    },
  }
}

const line = (m: DockerEventMessage): string => `${JSON.stringify(m)}\n`

t.test('reconnects after the stream ends, from the last second, without repeating events', async (t) => {
  const start = line(message('start', 100, {}, 'a'))
  const die = line(message('die', 100, { exitCode: '1' }, 'a'))
  const { open, sinces } = fakeOpen([
    [start.slice(0, 10), start.slice(10) + die.slice(0, 5)], // ends mid-line: the engine went away
    new Error('connect ECONNREFUSED /var/run/docker.sock'),
    [start, die, line(message('destroy', 101, {}, 'a'))], // the engine repeats second 100
  ])
  const abort = new AbortController()
  const seen: RuntimeEvent[] = []
  for await (const event of followEvents({ open, signal: abort.signal, logger, minDelayMs: 1, maxDelayMs: 5 })) {
    seen.push(event)
    if (event.action === 'destroy') abort.abort()
  }
  t.same(
    seen.map((event) => event.action),
    ['start', 'die', 'destroy'],
  )
  t.same(sinces, [undefined, 100, 100], 'reconnects ask for events since the last second seen')
})

t.test('an event older than the last one is new (the clock went back), not a replay', async (t) => {
  const { open } = fakeOpen([[line(message('start', 200, {}, 'a'))], [line(message('start', 200, {}, 'a')), line(message('die', 150, {}, 'a'))]])
  const abort = new AbortController()
  const seen: string[] = []
  for await (const event of followEvents({ open, signal: abort.signal, logger, minDelayMs: 1, maxDelayMs: 5 })) {
    seen.push(event.action)
    if (event.action === 'die') abort.abort()
  }
  t.same(seen, ['start', 'die'])
})

t.test('backs off, bounded, while the engine stays away; abort ends it at once', async (t) => {
  const failures = Array.from({ length: 6 }, () => new Error('connect ENOENT'))
  const { open, sinces } = fakeOpen(failures)
  const abort = new AbortController()
  const delays: number[] = []
  // The delays are recorded, not slept: what is asserted is the schedule, whatever the machine's load.
  const sleep = async (ms: number) => void delays.push(ms)
  const iterator = followEvents({ open, signal: abort.signal, logger, minDelayMs: 10, maxDelayMs: 40, random: () => 1, sleep })[Symbol.asyncIterator]()
  const pending = iterator.next()
  // Six failures, then a stream that stays open and quiet: the seventh attempt connects.
  for (let i = 0; i < 10_000 && sinces.length < 7; i++) await new Promise((resolve) => setImmediate(resolve))
  t.same(delays, [20, 40, 40, 40, 40, 40], 'doubling from the minimum, capped at the maximum')
  abort.abort()
  t.same(await pending, { done: true, value: undefined }, 'abort ends the quiet stream at once')
  t.equal(sinces.length, 7, 'and nothing more is tried')
})
