import { join } from 'node:path'
import { pino } from 'pino'
import t from 'tap'
import { CHANNEL_CATEGORY, meteredTransport } from '../../agent/bandwidth/metered-transport.js'
import { PullByteTally } from '../../agent/bandwidth/pull-bytes.js'
import { previousMonth, TrafficMeter, type TrafficStore } from '../../agent/bandwidth/traffic-meter.js'
import { REPORT_MAX_AGE_MS, REPORT_STEP_BYTES, shouldReport, TrafficReports } from '../../agent/bandwidth/traffic-report.js'
import { AgentStore } from '../../agent/store/agent-store.js'
import { openAgentDatabase } from '../../agent/store/open-agent-database.js'
import { linkTiming, type LinkTiming } from '../../agent/transport/link-timing.js'
import type { AgentTransport, TransportHandlers } from '../../agent/transport/transport.js'
import { AGENT_PUBLISHED, HUB_PUBLISHED, type TrafficCategory } from '../../protocol/index.js'
import { tempDir } from '../support/tmp.js'
import type { TestLike } from '../support/types.js'

const silent = pino({ level: 'silent' })

/** A hand-moved clock, as other agent tests use. */
function handClock(at: number): { now(): number; set(at: number): void } {
  let now = at
  return { now: () => now, set: (next) => void (now = next) }
}

function openStore(t: TestLike, dir: string, clock: { now(): number }): AgentStore {
  const { db } = openAgentDatabase(join(dir, 'agent.db'), silent, clock)
  t.teardown(() => {
    if (db.open) db.close()
  })
  return new AgentStore(db, clock, { maxRecords: 100, maxBytes: 1_000_000 })
}

/** The store with every save counted: the meter must not write per message. */
function countingSaves(store: TrafficStore): TrafficStore & { saves: number } {
  const counted = {
    saves: 0,
    traffic: (month: string) => store.traffic(month),
    saveTraffic: (month: string, bytes: Readonly<Record<string, number>>, keepFrom: string) => {
      counted.saves++
      store.saveTraffic(month, bytes, keepFrom)
    },
  }
  return counted
}

t.test('the meter counts per category in memory and writes only past its bound, after a pull, or when asked', async (t) => {
  const clock = handClock(Date.UTC(2026, 11, 7, 12))
  const dir = tempDir(t, 'traffic')
  const store = countingSaves(openStore(t, dir, clock))
  const meter = new TrafficMeter({ store, clock, zone: 'UTC', logger: silent, unsavedLimitBytes: 1000 })
  for (let i = 0; i < 9; i++) meter.add('status', 100)
  meter.add('control', 50)
  t.equal(store.saves, 0, '950 bytes unsaved: nothing written yet')
  t.same(meter.usage(null), { month: '2026-12', bytes: { control: 50, status: 900, logs: 0, images: 0, sessions: 0 } })
  meter.add('status', 50)
  t.equal(store.saves, 1, 'the bound reached: one write')
  meter.add('images', 4096, true)
  t.equal(store.saves, 2, 'an image pull is written at once')
  meter.add('logs', 0)
  meter.add('logs', -5)
  meter.save()
  t.equal(store.saves, 2, 'nothing counted, nothing unsaved: no write')
  meter.add('logs', 10)
  meter.save()
  t.equal(store.saves, 3)
  t.equal(meter.total(), 50 + 950 + 4096 + 10)
  t.same(meter.usage(2 ** 30).budgetBytes, 2 ** 30)
})

t.test('a restarted agent reads the month back; what was unsaved is the bounded loss', async (t) => {
  const clock = handClock(Date.UTC(2026, 11, 7, 12))
  const dir = tempDir(t, 'traffic')
  const first = openStore(t, dir, clock)
  const meter = new TrafficMeter({ store: first, clock, zone: 'UTC', logger: silent, unsavedLimitBytes: 1000 })
  meter.add('images', 5000, true)
  meter.add('status', 400) // unsaved: lost with a SIGKILL
  first.close()
  const again = new TrafficMeter({ store: openStore(t, dir, clock), clock, zone: 'UTC', logger: silent })
  t.same(again.usage(null).bytes, { control: 0, status: 0, logs: 0, images: 5000, sessions: 0 })
})

t.test('the month turns in the node zone: the old month is saved, the new one starts at zero, older months go', async (t) => {
  const clock = handClock(Date.UTC(2026, 10, 15))
  const store = openStore(t, tempDir(t, 'traffic'), clock)
  const meter = new TrafficMeter({ store, clock, zone: 'Asia/Tokyo', logger: silent })
  meter.add('status', 300)
  clock.set(Date.UTC(2026, 11, 1, 0, 0)) // 09:00 on 1 December in Tokyo
  meter.add('status', 7)
  t.same(store.traffic('2026-11'), { control: 0, status: 300, logs: 0, images: 0, sessions: 0 }, 'November saved when it ended')
  t.same(meter.usage(null), { month: '2026-12', bytes: { control: 0, status: 7, logs: 0, images: 0, sessions: 0 } })
  clock.set(Date.UTC(2026, 11, 31, 15, 0)) // midnight, 1 January in Tokyo (still December in UTC)
  t.equal(meter.total(), 0, 'January in Tokyo')
  meter.add('control', 1, true)
  t.same(store.traffic('2026-11'), {}, 'November dropped: only this month and the one before are kept')
  t.same(store.traffic('2026-12').status, 7)
  t.equal(previousMonth('2027-01'), '2026-12')
  t.equal(previousMonth('2026-10'), '2026-09')
})

t.test('a failed save is logged and the bytes stay unsaved for the next one', async (t) => {
  const clock = handClock(Date.UTC(2026, 11, 7))
  let fail = true
  const saved: Record<string, number>[] = []
  const store: TrafficStore = {
    traffic: () => ({}),
    saveTraffic: (_month, bytes) => {
      if (fail) throw new Error('disk full')
      saved.push({ ...bytes })
    },
  }
  const meter = new TrafficMeter({ store, clock, zone: 'UTC', logger: silent })
  meter.add('images', 10, true)
  fail = false
  meter.save()
  t.same(saved, [{ control: 0, status: 0, logs: 0, images: 10, sessions: 0 }])
})

t.test('the metered link counts payloads by channel, sent once the broker took them and received before handling', async (t) => {
  const counted: [TrafficCategory, number][] = []
  let handlers: TransportHandlers | null = null
  let refuse = false
  const inner: AgentTransport = {
    kind: 'mqtt',
    connected: true,
    start: (h) => void (handlers = h),
    publish: async () => {
      if (refuse) throw new Error('offline')
    },
    close: async () => undefined,
  }
  const handled: string[] = []
  const link = meteredTransport(inner, (category, bytes) => counted.push([category, bytes]))
  t.equal(link.kind, 'mqtt')
  t.equal(link.connected, true)
  link.start({ onConnected: () => handled.push('up'), onDisconnected: () => handled.push('down'), onMessage: (channel) => handled.push(channel) })
  await link.publish('heartbeat', Buffer.alloc(300))
  await link.publish('outbox', Buffer.alloc(1000))
  await link.publish('logs-chunk', Buffer.alloc(20))
  refuse = true
  await t.rejects(link.publish('outbox', Buffer.alloc(999)))
  const h = handlers as TransportHandlers | null
  h?.onMessage('desired', Buffer.alloc(2000))
  h?.onMessage('ack', Buffer.alloc(30))
  h?.onConnected()
  h?.onDisconnected('gone')
  await link.close(Buffer.alloc(40))
  t.same(counted, [
    ['status', 300],
    ['status', 1000],
    ['logs', 20],
    ['control', 2000],
    ['status', 30],
    ['control', 40],
  ])
  t.same(handled, ['desired', 'ack', 'up', 'down'])
  t.same(Object.keys(CHANNEL_CATEGORY).sort(), [...AGENT_PUBLISHED, ...HUB_PUBLISHED].sort(), 'every channel has a category')
})

t.test("the metered link hands the profile's link timing to the transport it wraps", async (t) => {
  const given: (LinkTiming | undefined)[] = []
  const inner: AgentTransport = {
    kind: 'nats',
    connected: false,
    start: (_h, timing) => void given.push(timing),
    publish: async () => undefined,
    close: async () => undefined,
  }
  const handlers = { onConnected: () => undefined, onDisconnected: () => undefined, onMessage: () => undefined }
  meteredTransport(inner, () => undefined).start(handlers, linkTiming(30_000))
  meteredTransport(inner, () => undefined).start(handlers)
  t.strictSame(given, [linkTiming(30_000), undefined], 'as given, and none when none was')
})

t.test('a pull counts each layer it downloaded, by its compressed size, and nothing for layers already there', async (t) => {
  const tally = new PullByteTally()
  const line = (layer: string | undefined, status: string, currentBytes?: number, totalBytes?: number) =>
    tally.add({
      image: 'r/app:2',
      status,
      ...(layer ? { layer } : {}),
      ...(currentBytes !== undefined ? { currentBytes } : {}),
      ...(totalBytes !== undefined ? { totalBytes } : {}),
    })
  line('2', 'Pulling from r/app')
  line('aaa', 'Already exists')
  line('bbb', 'Pulling fs layer')
  line('bbb', 'Downloading', 500, 2000)
  line('ccc', 'Downloading', 100, 300)
  line('bbb', 'Downloading', 1500, 2000)
  line('bbb', 'Download complete')
  line('bbb', 'Extracting', 2000, 2000)
  line('bbb', 'Pull complete')
  line(undefined, 'Digest: sha256:abc')
  t.equal(tally.bytes, 2000 + 100, 'bbb whole, ccc as far as it got')
  line('ccc', 'Download complete')
  t.equal(tally.bytes, 2300)
  t.equal(new PullByteTally().bytes, 0)
})

t.test('heartbeats carry the figures when they are news: first, a new month or budget, a category 64 KiB on, or an hour on', async (t) => {
  const usage = (bytes: Partial<Record<TrafficCategory, number>>, month = '2026-12', budgetBytes?: number) => ({
    month,
    bytes: { control: 0, status: 0, logs: 0, images: 0, sessions: 0, ...bytes },
    ...(budgetBytes !== undefined ? { budgetBytes } : {}),
  })
  const last = { usage: usage({ status: 1000 }), at: 0 }
  t.ok(shouldReport(null, usage({}), 0), 'the first')
  t.notOk(shouldReport(last, usage({ status: 1000 + REPORT_STEP_BYTES - 1 }), 60_000), 'a heartbeat more is no news')
  t.ok(shouldReport(last, usage({ status: 1000 + REPORT_STEP_BYTES }), 60_000), 'a category moved by the step')
  t.ok(shouldReport(last, usage({ images: 400_000 }), 60_000), 'a pull')
  t.ok(shouldReport(last, usage({ status: 1000 }, '2027-01'), 60_000), 'a new month')
  t.ok(shouldReport(last, usage({ status: 1000 }, '2026-12', 5), 60_000), 'a budget came')
  t.ok(shouldReport(last, usage({ status: 1000 }), REPORT_MAX_AGE_MS), 'an hour on')
  t.ok(shouldReport({ ...last, at: 10_000 }, usage({ status: 1000 }), 5_000), 'a clock stepped back')
  const reports = new TrafficReports()
  t.ok(reports.next(usage({}), 0))
  t.equal(reports.next(usage({ status: 400 }), 15_000), undefined)
  t.ok(reports.next(usage({ status: 400 + REPORT_STEP_BYTES }), 30_000))
  t.equal(reports.next(usage({ status: 400 + REPORT_STEP_BYTES }), 45_000), undefined, 'measured from the last report')
})
