import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { HeartbeatSampler, roundFigures, steady } from '../../agent/heartbeat.js'
import { Heartbeat } from '../../protocol/index.js'

// Against this machine's real /proc CPU times and file system: what `shoal top nodes` shows.

t.test('the first heartbeat already carries a CPU figure, and every one is a valid Heartbeat', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-heartbeat-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const sampler = new HeartbeatSampler('pi-1', dir, { now: () => Date.parse('2026-12-05T12:00:00Z') })
  const extra = { observedGeneration: 2, outboxDepth: 0, running: 1, total: 1 }
  const first = await sampler.sample(extra)
  t.type(first.cpuPercent, 'number', 'not null on the heartbeat sent at connect')
  t.ok(first.cpuPercent !== null && first.cpuPercent >= 0 && first.cpuPercent <= 100)
  t.ok(Heartbeat.safeParse(first).success)
  const second = await sampler.sample(extra)
  t.ok(Heartbeat.safeParse(second).success)
  t.ok(second.disk !== null, 'disk figures for the data directory')
})

t.test('roundFigures: 5% CPU steps, memory and disk in hundredths of their totals, whole seconds of uptime', async (t) => {
  const raw: Heartbeat = {
    nodeId: 'pi-1',
    at: '2026-12-05T12:00:00.000Z',
    uptimeSeconds: 1234.56,
    observedGeneration: 2,
    outboxDepth: 0,
    cpuPercent: 7.4,
    memory: { usedBytes: 412_345_678, totalBytes: 1_000_000_000 },
    disk: { usedBytes: 999_999, totalBytes: 1_000_000 },
    workloads: { running: 1, total: 1 },
  }
  const rounded = roundFigures(raw)
  t.strictSame(rounded, {
    ...raw,
    uptimeSeconds: 1235,
    cpuPercent: 5,
    memory: { usedBytes: 410_000_000, totalBytes: 1_000_000_000 },
    disk: { usedBytes: 1_000_000, totalBytes: 1_000_000 },
  })
  t.ok(Heartbeat.safeParse(rounded).success)
  t.strictSame(roundFigures(rounded), rounded, 'rounding twice changes nothing')
  t.equal(roundFigures({ ...raw, cpuPercent: null }).cpuPercent, null, 'no CPU figure stays none')
  t.equal(roundFigures({ ...raw, disk: null }).disk, null, 'no disk figure stays none')
  t.equal(roundFigures({ ...raw, cpuPercent: 8.4 }).cpuPercent, 10)
  t.equal(roundFigures({ ...raw, memory: { usedBytes: 10, totalBytes: 50 } }).memory.usedBytes, 10, 'totals under 100 bytes: steps of one byte')
})

t.test('steady: a figure moves only when the reading leaves the step around what was reported', async (t) => {
  t.equal(steady(7.4, 5, null), 5, 'nothing reported yet: rounded')
  t.equal(steady(7.6, 5, 5), 5, 'across the edge (7.5) but within a step of 5: held')
  t.equal(steady(10, 5, 5), 5, 'exactly a step away: held')
  t.equal(steady(10.1, 5, 5), 10, 'more than a step away: rounded anew')
  t.equal(steady(0, 5, 5), 5, 'down within a step: held')
  t.equal(steady(42, 5, 5), 40)
})

t.test('roundFigures with the previous report: wavering CPU, memory and disk report the same figures', async (t) => {
  const raw: Heartbeat = {
    nodeId: 'pi-1',
    at: '2026-12-05T12:00:00.000Z',
    uptimeSeconds: 10,
    observedGeneration: 2,
    outboxDepth: 0,
    cpuPercent: 2.4,
    memory: { usedBytes: 414_000_000, totalBytes: 1_000_000_000 },
    disk: { usedBytes: 205_000, totalBytes: 1_000_000 },
    workloads: { running: 1, total: 1 },
  }
  const first = roundFigures(raw)
  const second = roundFigures(
    { ...raw, cpuPercent: 2.6, memory: { usedBytes: 416_000_000, totalBytes: 1_000_000_000 }, disk: { usedBytes: 206_000, totalBytes: 1_000_000 } },
    first,
  )
  t.strictSame([second.cpuPercent, second.memory, second.disk], [first.cpuPercent, first.memory, first.disk], 'nothing new to say')
  const moved = roundFigures({ ...raw, cpuPercent: 30, memory: { usedBytes: 600_000_000, totalBytes: 1_000_000_000 } }, first)
  t.equal(moved.cpuPercent, 30)
  t.equal(moved.memory.usedBytes, 600_000_000)
  const resized = roundFigures({ ...raw, disk: { usedBytes: 205_000, totalBytes: 2_000_000 } }, first)
  t.equal(resized.disk?.usedBytes, 200_000, 'another total (a resized disk): rounded afresh in its own steps')
})
