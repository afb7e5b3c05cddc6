// The agent's reconnect backoff with and without the hub's hint, and the hint's path on the agent:
// taken off the ack channel, kept in the SQLite store, read again after a restart.
import { join } from 'node:path'
import { pino } from 'pino'
import t from 'tap'
import { AgentStore } from '../../agent/store/agent-store.js'
import { openAgentDatabase } from '../../agent/store/open-agent-database.js'
import { DEFAULT_RECONNECT_CAP_MS, RECONNECT_BASE_MS, ReconnectBackoff, reconnectDelayMs } from '../../agent/transport/backoff.js'
import { ReconnectHints } from '../../agent/transport/reconnect-hint.js'
import { encodeMessage } from '../../protocol/index.js'
import { tempDir } from '../support/tmp.js'

const constant = (value: number) => (): number => value
const ALMOST_ONE = 1 - Number.EPSILON
const NODE = 'pi-7'
const silent = pino({ level: 'silent' })

t.test('without a hint: 250 ms doubling to the 60 s every old agent uses', async (t) => {
  t.equal(RECONNECT_BASE_MS, 250)
  t.equal(DEFAULT_RECONNECT_CAP_MS, 60_000)
  t.equal(reconnectDelayMs(1, null, constant(ALMOST_ONE)), 500, 'the first retry waits at most 0.5 s')
  t.equal(reconnectDelayMs(2, null, constant(ALMOST_ONE)), 1_000)
  t.equal(reconnectDelayMs(8, null, constant(ALMOST_ONE)), 60_000, '64 s capped')
  t.equal(reconnectDelayMs(1_000, null, constant(0.5)), 30_000)
  t.equal(reconnectDelayMs(1, null, constant(0)), 125, 'never below half the base: no busy loop')
})

t.test("a small fleet's hint (1 s) keeps the base and caps every wait at 1 s", async (t) => {
  t.equal(reconnectDelayMs(1, 1_000, constant(ALMOST_ONE)), 500)
  t.equal(reconnectDelayMs(2, 1_000, constant(ALMOST_ONE)), 1_000)
  t.equal(reconnectDelayMs(50, 1_000, constant(ALMOST_ONE)), 1_000, 'however long the outage')
  t.equal(reconnectDelayMs(50, 1_000, constant(0)), 125)
})

t.test("a big fleet's hint spreads even the first retry over half the cap", async (t) => {
  t.equal(reconnectDelayMs(1, 60_000, constant(ALMOST_ONE)), 30_000, 'base is a quarter of the cap')
  t.equal(reconnectDelayMs(2, 60_000, constant(ALMOST_ONE)), 60_000)
  t.equal(reconnectDelayMs(1, 60_000, constant(0)), 7_500, 'and the least wait is half the base')
  t.equal(reconnectDelayMs(1, 16_000, constant(0.5)), 4_000)
  t.equal(reconnectDelayMs(3, 16_000, constant(0.5)), 8_000)
})

t.test('over many draws, a hinted delay stays within [base/2, cap] and uses the range', async (t) => {
  let state = 4_242
  const random = (): number => {
    state = (state * 48_271) % 2_147_483_647
    return (state - 1) / 2_147_483_646
  }
  for (const capMs of [1_000, 2_000, 16_000, 60_000]) {
    const base = Math.max(250, capMs / 4)
    const delays = Array.from({ length: 2_000 }, () => reconnectDelayMs(10, capMs, random))
    t.strictSame(
      delays.filter((d) => !Number.isInteger(d) || d < base / 2 || d > capMs),
      [],
      `cap ${capMs}: all within [${base / 2}, ${capMs}]`,
    )
    t.ok(Math.max(...delays) > capMs * 0.95, `cap ${capMs}: reaches near the cap`)
  }
})

t.test('ReconnectBackoff counts attempts, reads the hint at each one, and starts over on reset', async (t) => {
  let hint: number | null = null
  const backoff = new ReconnectBackoff(() => hint, constant(ALMOST_ONE))
  t.strictSame([backoff.next(), backoff.next(), backoff.next()], [500, 1_000, 2_000])
  hint = 1_000
  t.equal(backoff.next(), 1_000, 'a hint received while reconnecting applies to the next attempt')
  backoff.reset()
  hint = null
  t.equal(backoff.next(), 500, 'after a connect the next outage starts short again')
})

t.test('the hint is taken off the ack channel, checked, and everything else goes on as an ack', async (t) => {
  const saved: number[] = []
  const hints = new ReconnectHints({ nodeId: NODE, stored: null, save: (ms) => saved.push(ms), logger: silent })
  t.equal(hints.current(), null)
  t.equal(hints.offer(encodeMessage({ nodeId: NODE, epoch: 'e1', seq: 4 })), false, 'an ack is not a hint')
  t.equal(hints.offer(Buffer.from('not json')), false, 'garbage is left to the outbox to refuse and count')
  t.equal(hints.offer(encodeMessage({ kind: 'reconnect-hint', nodeId: NODE, reconnectCapMs: 2_000 })), true)
  t.equal(hints.current(), 2_000)
  t.strictSame(saved, [2_000], 'stored once')
  t.equal(hints.offer(encodeMessage({ kind: 'reconnect-hint', nodeId: NODE, reconnectCapMs: 2_000 })), true)
  t.strictSame(saved, [2_000], 'the same hint again is not written again (SD cards)')
  for (const bad of [
    { kind: 'reconnect-hint', nodeId: NODE, reconnectCapMs: 600_000 },
    { kind: 'reconnect-hint', nodeId: NODE, reconnectCapMs: 10 },
    { kind: 'reconnect-hint', nodeId: NODE, reconnectCapMs: 2_000, extra: true },
    { kind: 'reconnect-hint', nodeId: 'other-node', reconnectCapMs: 4_000 },
  ]) {
    t.equal(hints.offer(encodeMessage(bad)), true, `refused, not passed on as an ack: ${JSON.stringify(bad)}`)
  }
  t.equal(hints.current(), 2_000, 'no refused hint changed the cap: it can never exceed 60 s nor go below 1 s')
})

t.test('the store keeps the last hint across a restart, and a new database has none', async (t) => {
  const dir = tempDir(t, 'reconnect-hint')
  const clock = { now: () => 1_750_000_000_000 }
  const limits = { maxRecords: 1_000, maxBytes: 1_000_000 }
  const open = (): AgentStore => new AgentStore(openAgentDatabase(join(dir, 'agent.db'), silent).db, clock, limits)
  const first = open()
  t.equal(first.reconnectHint(), null)
  const hints = new ReconnectHints({ nodeId: NODE, stored: first.reconnectHint(), save: (ms) => first.saveReconnectHint(ms), logger: silent })
  hints.offer(encodeMessage({ kind: 'reconnect-hint', nodeId: NODE, reconnectCapMs: 4_000 }))
  first.close()
  const second = open()
  t.teardown(() => second.close())
  t.equal(second.reconnectHint(), 4_000)
  t.equal(
    new ReconnectHints({ nodeId: NODE, stored: second.reconnectHint(), save: () => undefined, logger: silent }).current(),
    4_000,
    'used from the first attempt after a restart',
  )
})
