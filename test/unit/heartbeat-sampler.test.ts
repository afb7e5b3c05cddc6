import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { HeartbeatSampler } from '../../agent/heartbeat.js'
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
