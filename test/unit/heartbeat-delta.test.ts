// Heartbeat deltas (protocol/heartbeat-delta.ts): what a delta holds, how the hub merges it,
// when the agent sends a full heartbeat, and the hub's bases (hub/ingest/heartbeat-bases.ts).
import t from 'tap'
import { HeartbeatBases } from '../../hub/ingest/heartbeat-bases.js'
import {
  DEFAULT_FULL_HEARTBEAT_EVERY,
  HEARTBEAT_FIELDS,
  Heartbeat,
  HeartbeatBasis,
  HeartbeatDelta,
  HeartbeatMergeError,
  heartbeatDelta,
  isHeartbeatBasisShaped,
  isHeartbeatDeltaShaped,
  mergeHeartbeat,
  nextHeartbeat,
} from '../../protocol/index.js'

const T0 = '2026-12-07T03:00:00.000Z'
const later = (seconds: number): string => new Date(Date.parse(T0) + seconds * 1000).toISOString()

function beat(overrides: Partial<Heartbeat> = {}): Heartbeat {
  return {
    nodeId: 'pi-1',
    at: T0,
    uptimeSeconds: 1000,
    observedGeneration: 7,
    outboxDepth: 0,
    cpuPercent: 5,
    memory: { usedBytes: 400, totalBytes: 1000 },
    disk: { usedBytes: 20, totalBytes: 100 },
    workloads: { running: 10, total: 10 },
    ...overrides,
  }
}

t.test('an idle node: the delta holds only who, when and its base, and merges back to the whole heartbeat', async (t) => {
  const base = beat()
  const current = beat({ at: later(30), uptimeSeconds: 1030 })
  const delta = heartbeatDelta(base, current)
  t.strictSame(delta, { nodeId: 'pi-1', at: later(30), base: T0 }, 'uptime advanced with the clock: nothing to say')
  t.ok(HeartbeatDelta.safeParse(delta).success)
  t.strictSame(mergeHeartbeat(base, delta), current)
  t.ok(JSON.stringify(delta).length < JSON.stringify(current).length / 2, `${JSON.stringify(delta).length} bytes instead of ${JSON.stringify(current).length}`)
})

t.test('uptime within a second of the prediction is left out; a reboot (uptime reset) is sent', async (t) => {
  const base = beat()
  t.notOk(heartbeatDelta(base, beat({ at: later(30), uptimeSeconds: 1031 })).set, 'one second of rounding')
  const rebooted = beat({ at: later(30), uptimeSeconds: 12 })
  const delta = heartbeatDelta(base, rebooted)
  t.strictSame(delta.set, { uptimeSeconds: 12 })
  t.strictSame(mergeHeartbeat(base, delta), rebooted)
})

t.test('generic over the schema: every field of Heartbeat but nodeId and at, changed alone, travels in the delta and merges back', async (t) => {
  const changed: { [K in keyof Heartbeat]?: Heartbeat[K] } = {
    uptimeSeconds: 5,
    observedGeneration: 8,
    outboxDepth: 3,
    cpuPercent: null,
    memory: { usedBytes: 500, totalBytes: 1000 },
    disk: null,
    workloads: { running: 9, total: 10 },
    traffic: { month: '2026-12', bytes: { control: 1, status: 2, logs: 0, images: 3, sessions: 0 }, budgetBytes: 1000 },
    desiredEncodings: ['gzip'],
  }
  const fields = Object.keys(Heartbeat.shape).filter((key) => key !== 'nodeId' && key !== 'at')
  t.strictSame(Object.keys(changed).sort(), fields.sort(), 'this test names every field the schema has (a new field must be added here)')
  const base = beat()
  for (const field of fields) {
    const current = beat({ at: later(30), uptimeSeconds: 1030, [field]: changed[field as keyof Heartbeat] })
    const delta = heartbeatDelta(base, current)
    t.strictSame(Object.keys(delta.set ?? {}), [field], `${field} alone is in the delta`)
    t.strictSame(mergeHeartbeat(base, delta), current, `${field} merges back`)
  }
})

t.test('nested values compare by content, not by key order or identity', async (t) => {
  const base = beat()
  const current = beat({ at: later(30), uptimeSeconds: 1030, memory: { totalBytes: 1000, usedBytes: 400 } })
  t.notOk(heartbeatDelta(base, current).set)
})

t.test('an optional field the base had and the heartbeat has not is listed in unset, and merging removes it', async (t) => {
  // Heartbeat has no optional field today: exercise the rule on a heartbeat shaped as if it had one.
  const base = { ...beat(), usage: { control: 1 } } as unknown as Heartbeat
  const current = beat({ at: later(30), uptimeSeconds: 1030 })
  const fields = [...HEARTBEAT_FIELDS, 'usage'] as unknown as typeof HEARTBEAT_FIELDS
  const delta = heartbeatDelta(base, current, fields)
  t.strictSame(delta.unset, ['usage'])
  t.notOk(delta.set, 'and nothing else')
  t.notOk(heartbeatDelta(base, current).unset, "a field outside the schema is not the codec's business")
})

t.test('merging refuses a delta of another base or another node, and a result that is no heartbeat', async (t) => {
  const base = beat()
  const delta = heartbeatDelta(base, beat({ at: later(30), uptimeSeconds: 1030 }))
  t.throws(() => mergeHeartbeat(beat({ at: later(-30) }), delta), HeartbeatMergeError)
  t.throws(() => mergeHeartbeat(beat({ nodeId: 'pi-2' }), { ...delta, nodeId: 'pi-1' }), HeartbeatMergeError)
  t.throws(() => mergeHeartbeat(base, { ...delta, unset: ['memory'] }), { code: 'heartbeat-merge', message: /memory/ })
})

t.test('the delta schema refuses unknown fields, in set too, and names only real fields in unset', async (t) => {
  t.notOk(HeartbeatDelta.safeParse({ nodeId: 'pi-1', at: T0, base: T0, extra: 1 }).success)
  t.notOk(HeartbeatDelta.safeParse({ nodeId: 'pi-1', at: T0, base: T0, set: { extra: 1 } }).success)
  t.notOk(HeartbeatDelta.safeParse({ nodeId: 'pi-1', at: T0, base: T0, unset: ['nodeId'] }).success)
  t.notOk(HeartbeatDelta.safeParse({ nodeId: 'pi-1', at: T0, base: T0, set: { cpuPercent: 101 } }).success, 'field rules still apply')
})

t.test('shapes: a delta names a base; a basis is kind heartbeat-basis', async (t) => {
  t.ok(isHeartbeatDeltaShaped({ base: T0 }))
  t.notOk(isHeartbeatDeltaShaped(beat()))
  t.notOk(isHeartbeatDeltaShaped(null))
  t.ok(isHeartbeatBasisShaped({ kind: 'heartbeat-basis' }))
  t.notOk(isHeartbeatBasisShaped({ nodeId: 'pi-1', seq: 3 }))
  t.notOk(isHeartbeatBasisShaped([]))
  t.ok(HeartbeatBasis.safeParse({ kind: 'heartbeat-basis', nodeId: 'pi-1', base: null }).success)
})

t.test('nextHeartbeat: full with no base, while the hub holds none of ours, and every N-th beat; deltas between', async (t) => {
  const current = beat({ at: later(30), uptimeSeconds: 1030 })
  t.equal(nextHeartbeat({ base: null, hubHolds: true, sinceFull: 0 }, current).kind, 'full', 'nothing sent yet')
  t.equal(nextHeartbeat({ base: beat(), hubHolds: false, sinceFull: 0 }, current).kind, 'full', 'the hub has not confirmed')
  t.equal(nextHeartbeat({ base: beat(), hubHolds: true, sinceFull: 0 }, current).kind, 'delta')
  t.equal(nextHeartbeat({ base: beat(), hubHolds: true, sinceFull: DEFAULT_FULL_HEARTBEAT_EVERY - 2 }, current).kind, 'delta')
  t.equal(nextHeartbeat({ base: beat(), hubHolds: true, sinceFull: DEFAULT_FULL_HEARTBEAT_EVERY - 1 }, current).kind, 'full', 'the N-th')
  t.equal(nextHeartbeat({ base: beat(), hubHolds: true, sinceFull: 2 }, current, 3).kind, 'full', 'N from the caller')
})

t.test('HeartbeatBases: the first full one of a connection is confirmed, later ones silently; each delta merges into the heartbeat before it', async (t) => {
  const bases = new HeartbeatBases()
  const first = bases.receiveFull(beat())
  t.strictSame(first.reply, { kind: 'heartbeat-basis', nodeId: 'pi-1', base: T0 })
  t.equal(bases.receiveFull(beat({ at: later(60), uptimeSeconds: 1060 })).reply, null, 'told once per connection')
  const merged = bases.receiveDelta({ nodeId: 'pi-1', at: later(90), base: later(60), set: { cpuPercent: 10 } })
  t.same(merged.heartbeat, beat({ at: later(90), uptimeSeconds: 1090, cpuPercent: 10 }))
  t.equal(merged.reply, null)
  const chained = bases.receiveDelta({ nodeId: 'pi-1', at: later(120), base: later(90) })
  t.same(chained.heartbeat, beat({ at: later(120), uptimeSeconds: 1120, cpuPercent: 10 }), 'the merged heartbeat is the base of the next delta')
  t.ok(bases.receiveDelta({ nodeId: 'pi-1', at: later(150), base: later(90) }).reply, 'a delta naming an older base (one in between was lost) is refused')
  bases.reconnected('pi-1')
  t.ok(bases.receiveFull(beat({ at: later(120) })).reply, 'after a reconnect, confirmed again')
})

t.test('HeartbeatBases: a delta with no base here (a restarted hub) or another base asks for a full one', async (t) => {
  const bases = new HeartbeatBases()
  const orphan = bases.receiveDelta({ nodeId: 'pi-1', at: later(30), base: T0 })
  t.equal(orphan.heartbeat, null)
  t.strictSame(orphan.reply, { kind: 'heartbeat-basis', nodeId: 'pi-1', base: null })
  t.match(orphan.unmerged, /no full heartbeat/)
  bases.receiveFull(beat())
  const other = bases.receiveDelta({ nodeId: 'pi-1', at: later(30), base: later(-600) })
  t.strictSame(other.reply, { kind: 'heartbeat-basis', nodeId: 'pi-1', base: T0 }, 'names the base it does hold')
  t.ok(bases.receiveFull(beat({ at: later(60) })).reply, 'the full heartbeat that follows is confirmed')
  bases.forget('pi-1')
  t.equal(bases.receiveDelta({ nodeId: 'pi-1', at: later(90), base: later(60) }).heartbeat, null, 'forgotten')
})
