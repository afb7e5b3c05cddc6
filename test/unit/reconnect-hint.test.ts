// The hub's side of the reconnect hint: the cap as a pure function of the fleet's size, and who
// is told what, when.
import { pino } from 'pino'
import t from 'tap'
import { RECONNECTS_PER_SECOND, ReconnectHinter, reconnectCapForFleet } from '../../hub/ingest/reconnect-hint.js'
import { MAX_BYTES, ReconnectHint, decodeMessage } from '../../protocol/index.js'

t.test('small fleets get 1 s, big ones up to 60 s, in powers of two seconds', async (t) => {
  t.equal(RECONNECTS_PER_SECOND, 200)
  const table: [number, number][] = [
    [0, 1_000],
    [1, 1_000],
    [10, 1_000],
    [100, 1_000],
    [101, 2_000],
    [200, 2_000],
    [1_000, 16_000],
    [3_200, 32_000],
    [3_201, 60_000],
    [10_000, 60_000],
    [1_000_000, 60_000],
  ]
  for (const [nodes, capMs] of table) t.equal(reconnectCapForFleet(nodes), capMs, `${nodes} nodes: ${capMs / 1000} s`)
})

t.test('the cap never puts the peak reconnect rate (2 × N / cap) over the target, until the 60 s ceiling', async (t) => {
  for (let nodes = 0; nodes <= 20_000; nodes += 37) {
    const capMs = reconnectCapForFleet(nodes)
    t.ok(capMs >= 1_000 && capMs <= 60_000, `${nodes}: within bounds`)
    if (capMs < 60_000 && (2 * nodes) / (capMs / 1_000) > RECONNECTS_PER_SECOND) t.fail(`${nodes} nodes at ${capMs} ms exceed the target`)
    if (nodes > 0) t.ok(reconnectCapForFleet(nodes) >= reconnectCapForFleet(nodes - 1), 'never shrinks as the fleet grows')
  }
  t.equal(reconnectCapForFleet(1_000, 50), 60_000, 'a slower hub target spreads more')
})

function hinter(ids: string[], clock: { ms: number }) {
  const sent: { nodeId: string; hint: ReconnectHint }[] = []
  const h = new ReconnectHinter({
    nodeIds: () => ids,
    publish: async (nodeId, payload) => {
      sent.push({ nodeId, hint: decodeMessage(ReconnectHint, payload, { maxBytes: MAX_BYTES.ack, what: 'hint' }) })
    },
    logger: pino({ level: 'silent' }),
    recountMs: 10_000,
    now: () => clock.ms,
  })
  return { h, sent }
}

t.test("a node coming online is told the hint for today's fleet, on the ack channel's size budget", async (t) => {
  const clock = { ms: 0 }
  const { h, sent } = hinter(['a', 'b', 'c'], clock)
  h.nodeOnline('b')
  h.nodeOnline('b')
  await Promise.resolve()
  t.strictSame(
    sent,
    [
      { nodeId: 'b', hint: { kind: 'reconnect-hint', nodeId: 'b', reconnectCapMs: 1_000 } },
      { nodeId: 'b', hint: { kind: 'reconnect-hint', nodeId: 'b', reconnectCapMs: 1_000 } },
    ],
    'every connect, so a node that lost one learns it again',
  )
})

t.test('when the fleet grows past a step, every node is told, not only the one connecting', async (t) => {
  const clock = { ms: 0 }
  const ids = Array.from({ length: 100 }, (_, i) => `n-${i}`)
  const { h, sent } = hinter(ids, clock)
  h.nodeOnline('n-0')
  ids.push('n-100')
  h.nodeOnline('n-100')
  t.equal(sent.length, 2, 'the fleet is counted at most every 10 s: still the old count')
  clock.ms += 10_000
  h.nodeOnline('n-100')
  await Promise.resolve()
  const told = sent.slice(2)
  t.equal(told.length, 101, 'all 101 nodes told once')
  t.ok(told.every((s) => s.hint.reconnectCapMs === 2_000 && s.hint.nodeId === s.nodeId))
  t.same(new Set(told.map((s) => s.nodeId)), new Set(ids))
  clock.ms += 10_000
  h.nodeOnline('n-5')
  t.equal(sent.length, 104, 'then only the connecting node again')
})

t.test('a failed send is not an error: the node hears it at its next connect', async (t) => {
  const h = new ReconnectHinter({ nodeIds: () => ['a'], publish: () => Promise.reject(new Error('broker down')), logger: pino({ level: 'silent' }) })
  h.nodeOnline('a')
  await new Promise((resolve) => setImmediate(resolve))
  t.pass('no unhandled rejection')
})
