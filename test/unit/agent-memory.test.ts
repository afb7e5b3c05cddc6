import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import t from 'tap'
import {
  AGENT_PROCESS_FILE,
  processStartTicks,
  readAgentMemory,
  readAgentProcess,
  removeAgentProcess,
  writeAgentProcess,
} from '../../agent/memory/agent-process-file.js'
import { LEAN_NODE_FLAGS, budgetState, memoryPlan } from '../../agent/memory/memory-plan.js'
import { MemoryWatch } from '../../agent/memory/memory-watch.js'
import type { OutboxEntry } from '../../agent/store/agent-store.js'
import type { Clock } from '../../common/clock.js'

const MIB = 1024 * 1024

t.test('the SQLite cache shrinks with the budget', async (t) => {
  t.equal(memoryPlan(null, [], undefined).sqliteCacheKiB, 2000, "no budget: SQLite's default")
  t.equal(memoryPlan(48 * MIB, [], undefined).sqliteCacheKiB, 256)
  t.equal(memoryPlan(64 * MIB, [], undefined).sqliteCacheKiB, 256)
  t.equal(memoryPlan(64 * MIB + 1, [], undefined).sqliteCacheKiB, 1024)
  t.equal(memoryPlan(128 * MIB, [], undefined).sqliteCacheKiB, 1024)
  t.equal(memoryPlan(192 * MIB, [], undefined).sqliteCacheKiB, 2000)
})

t.test('the lean node flags are asked for only under a tight budget, and only those missing', async (t) => {
  t.same(memoryPlan(null, [], undefined).missingNodeFlags, [], 'no budget, no advice')
  t.same(memoryPlan(192 * MIB, [], undefined).missingNodeFlags, [], 'a roomy budget, no advice')
  t.same(memoryPlan(64 * MIB, [], undefined).missingNodeFlags, [...LEAN_NODE_FLAGS])
  t.same(memoryPlan(64 * MIB, ['--lite-mode'], undefined).missingNodeFlags, ['--max-semi-space-size=1'])
  t.same(memoryPlan(64 * MIB, ['--lite_mode', '--max-semi-space-size=2'], undefined).missingNodeFlags, [], "V8's underscore spelling and another size count")
  t.same(memoryPlan(128 * MIB, ['--lite-mode'], '--max-semi-space-size=1 --enable-source-maps').missingNodeFlags, [], 'NODE_OPTIONS counts too')
})

t.test('over the budget at once, back within only below 90% of it', async (t) => {
  const budget = 100
  t.equal(budgetState('within', 100, budget), 'within', 'at the budget is within')
  t.equal(budgetState('within', 101, budget), 'over')
  t.equal(budgetState('over', 95, budget), 'over', 'hovering just below stays over')
  t.equal(budgetState('over', 90, budget), 'over')
  t.equal(budgetState('over', 89, budget), 'within')
  t.equal(budgetState('within', 95, budget), 'within', 'from within, 95% is within')
})

t.test('the watch queues one event per crossing, with the figures, and nothing while nothing changes', async (t) => {
  let rss = 50 * MIB
  const queued: OutboxEntry[] = []
  const watch = new MemoryWatch({
    nodeId: 'n1',
    budgetBytes: 64 * MIB,
    profile: 'raspberry-pi-zero-2w',
    rss: () => rss,
    clock: { now: () => Date.parse('2026-12-07T04:00:00Z'), monotonic: () => 0 } satisfies Clock,
    logger: pino({ level: 'silent' }),
    store: { enqueue: (entries) => queued.push(...entries) },
  })
  watch.check()
  t.equal(queued.length, 0, 'within: nothing')
  rss = 70 * MIB
  watch.check()
  watch.check()
  rss = 60 * MIB
  watch.check()
  t.equal(queued.length, 1, 'one event for going over, none while it stays over (60 MiB is above 90%)')
  t.match(queued[0], {
    kind: 'event',
    body: {
      nodeId: 'n1',
      type: 'MemoryOverBudget',
      severity: 'warning',
      message: 'the agent uses 70.0 MiB of memory, over the 64.0 MiB budget of profile raspberry-pi-zero-2w',
      data: { rssBytes: 70 * MIB, budgetBytes: 64 * MIB, profile: 'raspberry-pi-zero-2w' },
    },
  })
  rss = 50 * MIB
  watch.check()
  t.equal(queued.length, 2)
  t.match(queued[1], { body: { type: 'MemoryWithinBudget', severity: 'info' } })
})

t.test('the process record: written, read back, removed only by its own process', async (t) => {
  const dir = mkdtempSync(join(os.tmpdir(), 'shoal-agent-process-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const ticks = processStartTicks('self')
  t.type(ticks, 'number', 'this process has a start time in /proc')
  const record = {
    pid: process.pid,
    startTicks: ticks ?? 0,
    profile: 'generic-amd64',
    memoryBudgetBytes: 128 * MIB,
    nodeFlags: [],
    startedAt: '2026-12-07T04:00:00.000Z',
  }
  writeAgentProcess(dir, record)
  t.same(readAgentProcess(dir), record)
  const reading = readAgentMemory(dir)
  t.equal(reading?.pid, process.pid)
  t.ok((reading?.rssBytes ?? 0) > 0 && (reading?.peakRssBytes ?? 0) >= (reading?.rssBytes ?? 0), 'RSS and its peak from /proc')
  t.equal(reading?.memoryBudgetBytes, 128 * MIB)

  removeAgentProcess(dir, process.pid + 1)
  t.ok(readAgentProcess(dir), "another process's stop leaves the record alone")
  removeAgentProcess(dir, process.pid)
  t.equal(readAgentProcess(dir), null)
  t.equal(readAgentMemory(dir), null, 'no record, no reading')
})

t.test('a reused PID or a garbled record is not read as the agent', async (t) => {
  const dir = mkdtempSync(join(os.tmpdir(), 'shoal-agent-process-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeAgentProcess(dir, {
    pid: process.pid,
    startTicks: (processStartTicks('self') ?? 0) + 1,
    profile: 'p',
    memoryBudgetBytes: null,
    nodeFlags: [],
    startedAt: 'x',
  })
  t.equal(readAgentMemory(dir), null, 'same PID, another start time: another process')
  writeFileSync(join(dir, AGENT_PROCESS_FILE), '{"pid": "1"')
  t.equal(readAgentProcess(dir), null)

  // A command name with spaces and parentheses does not shift the fields (the state is field 3, the start time field 22).
  const proc = mkdtempSync(join(os.tmpdir(), 'shoal-proc-'))
  t.teardown(() => rmSync(proc, { recursive: true, force: true }))
  mkdirSync(join(proc, '4242'))
  const after = Array.from({ length: 30 }, (_, i) => (i === 18 ? '987654' : '0')).join(' ')
  writeFileSync(join(proc, '4242', 'stat'), `4242 (node (shoal) x) S ${after}\n`)
  t.equal(processStartTicks(4242, proc), 987654)
  t.equal(processStartTicks(4243, proc), null)
})
