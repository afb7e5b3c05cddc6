// A firmware profile's memory budget on a real agent process: `shoal agent status` reads the
// running agent's RSS from /proc and shows it against the budget; crossing it queues a
// MemoryOverBudget event; a stopped or SIGKILLed agent is reported as not running.
import { existsSync } from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import t from 'tap'
import { AGENT_PROCESS_FILE } from '../../agent/memory/agent-process-file.js'
import { LEAN_NODE_FLAGS } from '../../agent/memory/memory-plan.js'
import { memoryBytes } from '../../protocol/quantity.js'
import { loadProfiles } from '../../firmware-profiles/catalog.js'
import { tempDir, waitFor } from '../support/index.js'
import { startAgentProcess, uniqueNodeId } from '../support/agent-process.js'

t.setTimeout(120_000)

// The tightest shipped budget. A Node process without the lean flags is above it on any machine:
// Node alone is about 40 MiB resident before the agent's code (docs/benchmarks.md, section 1).
const PROFILE = 'raspberry-pi-zero-2w'

function outboxEventTypes(dataDir: string): string[] {
  const db = new Database(path.join(dataDir, 'agent.db'), { readonly: true, fileMustExist: true })
  try {
    const rows = db.prepare("SELECT body FROM outbox WHERE kind = 'event'").all() as Array<{ body: string }>
    return rows.map((row) => (JSON.parse(row.body) as { type: string }).type)
  } finally {
    db.close()
  }
}

t.test('status shows the agent over its profile budget, the event is queued, and a stopped agent is not running', async (t) => {
  const profile = (await loadProfiles()).find((candidate) => candidate.name === PROFILE)
  const budget = profile?.agent.memoryBudget
  t.ok(budget, `${PROFILE} declares a memory budget`)
  const budgetBytes = memoryBytes(budget ?? '0')
  const nodeId = uniqueNodeId('mem')
  const dataDir = path.join(tempDir(t, 'agent-memory'), 'data')
  const agent = await startAgentProcess(t, { nodeId, dataDir, hubUrl: null, extraArgs: ['--profile', PROFILE] })

  const status = await waitFor(
    async () => {
      const report = await agent.status()
      return report.memory && outboxEventTypes(dataDir).includes('MemoryOverBudget') ? report : undefined
    },
    { what: 'a memory reading and the MemoryOverBudget event in the outbox', timeoutMs: 30_000, intervalMs: 250 },
  )
  const memory = status.memory
  t.equal(memory?.pid, agent.pid, 'the reading is of the running agent')
  t.equal(memory?.profile, PROFILE)
  t.equal(memory?.memoryBudgetBytes, budgetBytes)
  t.ok((memory?.rssBytes ?? 0) > budgetBytes, `over the budget: ${memory?.rssBytes} > ${budgetBytes} bytes`)
  t.ok((memory?.peakRssBytes ?? 0) >= (memory?.rssBytes ?? 0), 'the peak is at least the current figure')
  t.same(memory?.nodeFlags, [], 'started without node flags')
  t.ok(
    agent.logLines(/V8 flags that keep the agent small/).some((line) => JSON.stringify(line.missing) === JSON.stringify(LEAN_NODE_FLAGS)),
    'the agent said which node flags it lacks',
  )

  t.match(
    await agent.statusText(),
    new RegExp(`^Memory: +\\d+\\.\\d MiB resident \\(peak \\d+\\.\\d MiB\\), pid ${agent.pid}; budget 64\\.0 MiB \\(profile ${PROFILE}\\): OVER BUDGET$`, 'm'),
  )

  await agent.stop()
  t.equal((await agent.status()).memory, null, 'after a clean stop: no agent process')

  await agent.start()
  await agent.kill('SIGKILL')
  t.ok(existsSync(path.join(dataDir, AGENT_PROCESS_FILE)), 'a SIGKILL leaves the record behind')
  t.equal((await agent.status()).memory, null, 'its process is gone, so it is not read as running')
})
