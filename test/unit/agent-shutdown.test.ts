// The agent's shutdown order (agent/shutdown.ts) and its timers (agent/interval-timers.ts), with
// recording fakes: nothing that starts work runs after the store closed, and the goodbye is said
// before the link closes.
import t from 'tap'
import { IntervalTimers } from '../../agent/interval-timers.js'
import { stopAgent, type StoppableAgent } from '../../agent/shutdown.js'

function recordingAgent(options: { hub: boolean }): { parts: StoppableAgent; calls: string[] } {
  const calls: string[] = []
  const sync = (what: string) => ({ stop: () => void calls.push(what) })
  const async = (what: string) => ({
    stop: async () => {
      calls.push(`${what} stopping`)
      await new Promise<void>((resolve) => setImmediate(resolve))
      calls.push(`${what} stopped`)
    },
  })
  const parts: StoppableAgent = {
    timers: sync('timers'),
    devices: sync('devices'),
    images: sync('images'),
    sender: options.hub ? sync('sender') : null,
    desiredRetry: sync('desiredRetry'),
    logServer: async('logServer'),
    sessions: async('sessions'),
    reconciler: async('reconciler'),
    prefetch: async('prefetch'),
    link: options.hub ? { close: async (goodbye) => void calls.push(`link.close(${goodbye?.toString()})`) } : null,
    goodbye: () => {
      calls.push('goodbye made')
      return Buffer.from('offline')
    },
    store: { close: () => void calls.push('store.close') },
    processFile: { remove: () => void calls.push('processFile.remove') },
  }
  return { parts, calls }
}

t.test(
  'producers stop first, then the log server, the sessions, the reconciler and the prefetcher (awaited), the link says goodbye, the store and the process record last',
  async (t) => {
    const { parts, calls } = recordingAgent({ hub: true })
    await stopAgent(parts)
    t.strictSame(calls, [
      'timers',
      'devices',
      'images',
      'sender',
      'desiredRetry',
      'logServer stopping',
      'logServer stopped',
      'sessions stopping',
      'sessions stopped',
      'reconciler stopping',
      'reconciler stopped',
      'prefetch stopping',
      'prefetch stopped',
      'goodbye made',
      'link.close(offline)',
      'store.close',
      'processFile.remove',
    ])
  },
)

t.test('without a hub there is no sender, no link and no goodbye', async (t) => {
  const { parts, calls } = recordingAgent({ hub: false })
  await stopAgent(parts)
  t.strictSame(calls, [
    'timers',
    'devices',
    'images',
    'desiredRetry',
    'logServer stopping',
    'logServer stopped',
    'sessions stopping',
    'sessions stopped',
    'reconciler stopping',
    'reconciler stopped',
    'prefetch stopping',
    'prefetch stopped',
    'store.close',
    'processFile.remove',
  ])
})

t.test('IntervalTimers: every timer runs until stop, none keeps the process alive', async (t) => {
  const timers = new IntervalTimers()
  let a = 0
  let b = 0
  timers.every(1, () => a++)
  timers.every(1, () => b++)
  await new Promise((resolve) => setTimeout(resolve, 30))
  t.ok(a > 0 && b > 0, `both ran (${a}, ${b})`)
  timers.stop()
  const [seenA, seenB] = [a, b]
  await new Promise((resolve) => setTimeout(resolve, 30))
  t.strictSame([a, b], [seenA, seenB], 'nothing runs after stop')
  timers.stop()
  t.pass('stopping twice is harmless')
})

t.test("IntervalTimers are unref'd", async (t) => {
  const timers = new IntervalTimers()
  const made: NodeJS.Timeout[] = []
  const original = globalThis.setInterval
  globalThis.setInterval = ((fn: () => void, ms: number) => {
    const timer = original(fn, ms)
    made.push(timer)
    return timer
  }) as typeof setInterval
  try {
    timers.every(1_000, () => undefined)
  } finally {
    globalThis.setInterval = original
  }
  t.equal(made.length, 1)
  t.equal(made[0]?.hasRef(), false)
  timers.stop()
})
