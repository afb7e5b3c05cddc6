// Hub CronJobs (issue 17): a CronJob applied through the hub reaches the node in its signed
// desired document, and the agent fires it by itself. The hub is SIGKILLed (its embedded broker
// goes with it) for three firings; the agent runs each on time from the document it stored, and
// when the hub returns it shows every run with its result exactly once. A Forbid job whose run
// outlasts the interval skips the next firing, and the hub shows the skip. One hub, one agent.
import path from 'node:path'
import Database from 'better-sqlite3'
import t from 'tap'
import { stringify as stringifyYaml } from 'yaml'
import { uniqueNodeId } from '../support/agent-process.js'
import { startHubAgent, startHubProcess } from '../support/hub-process.js'
import { tempDir, testImage, waitFor } from '../support/index.js'
import { runSpawned } from './cli-harness.js'

// About five minutes: up to one until the first firing, three of outage, and the catch-up.
t.setTimeout(600_000)

const MINUTE = 60_000
/** "On time": how late a run may start after its firing (the agent wakes at the firing itself). */
const ON_TIME_MS = 10_000

const cronJob = (name: string, spec: Record<string, unknown>): string =>
  stringifyYaml({ apiVersion: 'shoal/v1', kind: 'CronJob', metadata: { name }, spec: { schedule: '* * * * *', ...spec } })

interface AgentRun {
  readonly scheduledAt: number
  readonly startedAt: number
  readonly finishedAt: number | null
  readonly outcome: string | null
  readonly workload: string
}

/** The runs of a cron job in the agent's own database, read-only beside the running agent. */
function agentRuns(dataDir: string, key: string): AgentRun[] {
  const db = new Database(path.join(dataDir, 'agent.db'), { readonly: true, fileMustExist: true })
  try {
    return (
      db.prepare('SELECT scheduled_at, started_at, finished_at, outcome, workload FROM cron_run WHERE cron_job = ? ORDER BY scheduled_at').all(key) as {
        scheduled_at: number
        started_at: number
        finished_at: number | null
        outcome: string | null
        workload: string
      }[]
    ).map((row) => ({ scheduledAt: row.scheduled_at, startedAt: row.started_at, finishedAt: row.finished_at, outcome: row.outcome, workload: row.workload }))
  } finally {
    db.close()
  }
}

function accepted(dataDir: string): string[] {
  const db = new Database(path.join(dataDir, 'agent.db'), { readonly: true, fileMustExist: true })
  try {
    return (db.prepare('SELECT cron_job FROM cron_fire_state ORDER BY cron_job').all() as { cron_job: string }[]).map((row) => row.cron_job)
  } finally {
    db.close()
  }
}

t.test('a hub cron job fires on time on its node while the hub and broker are gone, and the hub shows each run once', async (t) => {
  const hub = await startHubProcess(t)
  const agent = await startHubAgent(t, hub, { name: uniqueNodeId('hubcron'), labels: { role: 'store' } })
  const env = { SHOAL_CONFIG: path.join(tempDir(t, 'hub-cron-cli'), 'config.yaml'), SHOAL_HUB: hub.apiUrl, SHOAL_TOKEN: hub.adminToken }
  const image = testImage()
  const manifests = [
    cronJob('tick', {
      timeZone: 'UTC',
      selector: { matchLabels: { role: 'store' } },
      successfulJobsHistoryLimit: 10,
      jobTemplate: { template: { image, command: ['sh', '-c', 'echo tick'] } },
    }),
    cronJob('slow', {
      timeZone: 'local',
      concurrencyPolicy: 'Forbid',
      selector: { matchLabels: { role: 'store' } },
      jobTemplate: { template: { image, command: ['sh', '-c', 'sleep 75'] } },
    }),
    cronJob('elsewhere', { timeZone: 'UTC', selector: { matchLabels: { role: 'camera' } }, jobTemplate: { template: { image, command: ['true'] } } }),
  ].join('---\n')
  const applied = await runSpawned(t, ['apply', '-f', '-'], { env, input: manifests })
  t.equal(applied.code, 0, `shoal apply takes CronJobs: ${applied.out}${applied.err}`)

  await waitFor(() => accepted(agent.dataDir).join(' ') === 'hub/slow hub/tick' || undefined, {
    what: 'the agent to accept the two cron jobs its document carries',
    timeoutMs: 30_000,
    intervalMs: 250,
  })
  const listed = await hub.ok('GET', '/api/v1/cronjobs')
  t.match(
    listed.items.map((job: { name: string; nodes: number }) => [job.name, job.nodes]),
    [
      ['elsewhere', 0],
      ['slow', 1],
      ['tick', 1],
    ],
    'each runs on the nodes its selector matches',
  )

  await t.test('the agent runs every firing on time while the hub and its broker are gone', async (t) => {
    const killedAt = Date.now()
    await hub.kill('SIGKILL')
    const offline = await waitFor(
      () => {
        const runs = agentRuns(agent.dataDir, 'hub/tick').filter((run) => run.scheduledAt > killedAt && run.finishedAt !== null)
        return runs.length >= 3 ? runs.slice(0, 3) : undefined
      },
      { what: 'three firings of tick to run to the end while the hub is down', timeoutMs: 4 * MINUTE + 30_000, intervalMs: 1_000 },
    )
    t.same(
      offline.map((run) => run.scheduledAt - (offline[0]?.scheduledAt ?? 0)),
      [0, MINUTE, 2 * MINUTE],
      'three consecutive minutes',
    )
    for (const run of offline) {
      t.ok(
        run.startedAt >= run.scheduledAt && run.startedAt - run.scheduledAt < ON_TIME_MS,
        `${run.workload} started ${run.startedAt - run.scheduledAt} ms after its firing`,
      )
      t.equal(run.outcome, 'succeeded')
      t.match(run.workload, /^cron-tick-\d+$/, 'a hub run is named cron-<job>-<id>')
    }
    t.ok(!hub.alive, 'the hub stayed down throughout')

    await hub.start()
    const shown = new Set(offline.map((run) => new Date(run.scheduledAt).toISOString()))
    const detail = await waitFor(
      async () => {
        const found = await hub.ok('GET', '/api/v1/cronjobs/tick')
        const node = found.perNode.find((n: { nodeId: string }) => n.nodeId === agent.nodeId)
        const runs = (node?.runs ?? []) as { scheduledAt: string }[]
        return [...shown].every((at) => runs.some((run) => run.scheduledAt === at)) ? { found, node } : undefined
      },
      { what: 'the hub to show the three runs done offline', timeoutMs: 2 * MINUTE, intervalMs: 1_000 },
    )
    const runs = detail.node.runs as { scheduledAt: string; outcome: string; exitCode: number | null; attempt: number; workload: string }[]
    const times = runs.map((run) => run.scheduledAt)
    t.same(times, [...new Set(times)], 'each firing is shown once')
    for (const at of shown)
      t.match(
        runs.find((run) => run.scheduledAt === at),
        { outcome: 'succeeded', exitCode: 0, attempt: 1, workload: /^cron-tick-\d+$/ },
      )
    t.match(detail.node, { placed: true, zone: 'UTC', nextFireAt: /^\d{4}-.*:00\.000Z$/ })

    const described = await runSpawned(t, ['describe', 'cronjob', 'tick'], { env })
    t.equal(described.code, 0, described.err)
    t.match(described.out, /Schedule:\s+\* \* \* \* \*/)
    const rowsFor = (at: string): number => described.out.split('\n').filter((line) => line.trimStart().startsWith(`${at} `)).length
    for (const at of shown) t.equal(rowsFor(at), 1, `describe cronjob shows the run for ${at} once`)
    t.match(described.out, /Succeeded/)
  })

  await t.test('a Forbid job whose run outlasts the interval skips the next firing, and the hub shows the skip', async (t) => {
    const skipped = await waitFor(
      async () => {
        const found = await hub.ok('GET', '/api/v1/cronjobs/slow')
        const node = found.perNode.find((n: { nodeId: string }) => n.nodeId === agent.nodeId)
        return node && node.skipped > 0 && node.runs.length > 0 ? node : undefined
      },
      { what: 'a skipped firing and a finished run of slow on the hub', timeoutMs: 3 * MINUTE, intervalMs: 1_000 },
    )
    t.match(skipped.lapses, [{ kind: 'skipped', reason: 'forbid-running', count: 1 }])
    t.not(skipped.zone, 'node-local', 'timeZone: local is shown in the zone the node reported')
    const listing = await runSpawned(t, ['get', 'cronjobs'], { env })
    t.match(listing.out, /slow\s+\* \* \* \* \*\s+local\s+false\s+1/)
  })

  await t.test('deleting a cron job takes it out of the document, and the agent forgets it', async (t) => {
    const deleted = await runSpawned(t, ['delete', 'cronjob', 'tick'], { env })
    t.equal(deleted.code, 0, deleted.err)
    await waitFor(() => !accepted(agent.dataDir).includes('hub/tick') || undefined, {
      what: 'the agent to forget tick',
      timeoutMs: 30_000,
      intervalMs: 250,
    })
    t.equal((await hub.api('GET', '/api/v1/cronjobs/tick')).status, 404)
  })
})
