// CronJobs from an agent's --static-dir (issue 17): the agent fires them from its own clock,
// each run is a container that runs to completion and is removed, and each run is reported once
// as a node event through the durable outbox, also a run done while the hub was down. Real hub
// with its embedded broker, a real agent and Docker.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { stringify as stringifyYaml } from 'yaml'
import { testImage, waitFor } from '../support/index.js'
import { nodeContainers, uniqueNodeId } from '../support/agent-process.js'
import { type HubEvent, startHubAgent, startHubProcess } from '../support/hub-process.js'

t.setTimeout(420_000)

const cronJobYaml = (name: string, script: string, backoffLimit = 0): string =>
  stringifyYaml({
    apiVersion: 'shoal/v1',
    kind: 'CronJob',
    metadata: { name },
    spec: { schedule: '* * * * *', timeZone: 'UTC', jobTemplate: { backoffLimit, template: { image: testImage(), command: ['sh', '-c', script] } } },
  })

const runsOf = (events: readonly HubEvent[], cronJob: string): HubEvent[] =>
  events.filter((e) => (e.type === 'JobRunSucceeded' || e.type === 'JobRunFailed') && e.data?.cronJob === cronJob)

/** No two events for the same firing of a cron job. */
function scheduledTimes(events: readonly HubEvent[]): string[] {
  return events.map((e) => String(e.data?.scheduledAt))
}

t.test('static cron jobs run on the agent clock and are reported once per run', async (t) => {
  const hub = await startHubProcess(t)
  const staticDir = mkdtempSync(path.join(process.env.SHOAL_TMP ?? os.tmpdir(), 'static-cron-'))
  t.teardown(() => rmSync(staticDir, { recursive: true, force: true }))
  writeFileSync(
    path.join(staticDir, 'jobs.yaml'),
    `${cronJobYaml('ok-job', 'echo ran')}---\n${cronJobYaml('bad-job', 'exit 3')}---\n${cronJobYaml('retry-job', 'exit 4', 1)}`,
  )
  const agent = await startHubAgent(t, hub, { name: uniqueNodeId('cron'), extraArgs: ['--static-dir', staticDir] })
  const nodeId = agent.nodeId

  const firstRuns = await waitFor(
    async () => {
      const events = await hub.events(nodeId)
      const ok = runsOf(events, 'ok-job')
      const bad = runsOf(events, 'bad-job')
      return ok.length > 0 && bad.length > 0 ? { ok, bad } : undefined
    },
    { what: 'a run of each cron job reported to the hub', timeoutMs: 150_000, intervalMs: 1_000 },
  )
  const ok = firstRuns.ok[0]!
  const bad = firstRuns.bad[0]!
  t.equal(ok.type, 'JobRunSucceeded')
  t.equal(ok.severity, 'info')
  t.match(ok.workload, /^static-cron-ok-job-\d+$/)
  t.match(ok.data, { cronJob: 'ok-job', exitCode: 0, scheduledAt: /^\d{4}-\d\d-\d\dT\d\d:\d\d:00\.000Z$/, startedAt: String, finishedAt: String })
  t.equal(bad.type, 'JobRunFailed')
  t.equal(bad.severity, 'warning')
  t.match(bad.data, { cronJob: 'bad-job', exitCode: 3, reason: 'NonZeroExit' })

  await t.test('with backoffLimit 1, a failed run is tried once more for the same firing, 10 s later', async (t) => {
    const tries = await waitFor(
      async () => {
        const failed = runsOf(await hub.events(nodeId), 'retry-job')
        const first = failed.find((e) => e.data?.attempt === 1)
        const second = failed.find((e) => e.data?.attempt === 2 && e.data?.scheduledAt === first?.data?.scheduledAt)
        return first && second ? { first, second } : undefined
      },
      { what: 'both tries of one firing of retry-job reported', timeoutMs: 150_000, intervalMs: 1_000 },
    )
    t.match(tries.first, { type: 'JobRunFailed', data: { exitCode: 4, attempt: 1, retryAt: String } })
    t.match(tries.second, { type: 'JobRunFailed', data: { exitCode: 4, attempt: 2 } })
    t.notOk(tries.second.data && 'retryAt' in tries.second.data, 'the second try is the last')
    t.not(tries.second.workload, tries.first.workload, 'each try is a container of its own')
    t.ok(
      Date.parse(String(tries.second.data?.startedAt)) >= Date.parse(String(tries.first.data?.retryAt)),
      'the second try started no earlier than the backoff said',
    )
  })

  await t.test('a finished run container is removed', async (t) => {
    const runWorkloads = new Set([ok.workload, bad.workload])
    await waitFor(async () => ((await nodeContainers(nodeId)).some((c) => runWorkloads.has(c.workload)) ? undefined : true), {
      what: 'the finished runs containers to be removed',
      timeoutMs: 30_000,
      intervalMs: 500,
    })
    t.pass('no container of a finished run is left')
  })

  await t.test('agent status shows each cron job: how its last run ended and when it fires next', async (t) => {
    const status = await agent.status()
    const okJob = status.cronJobs.find((job) => job.cronJob === 'ok-job')
    t.match(okJob, { lastRun: { outcome: 'succeeded', exitCode: 0 } })
    t.match(
      status.cronJobs.find((job) => job.cronJob === 'bad-job'),
      { lastRun: { outcome: 'failed', exitCode: 3, reason: 'NonZeroExit' } },
    )
    t.ok(Date.parse(okJob?.nextFireAt ?? '') > Date.parse(String(ok.data?.scheduledAt)), 'the next firing is after the one reported')
    t.match(await agent.statusText(), /CRON JOB\s+LAST FIRING\s+LAST RUN\s+ACTIVE\s+NEXT FIRING/)
  })

  await t.test('a run done while the hub is down is reported exactly once when it returns', async (t) => {
    const reported = new Set(runsOf(await hub.events(nodeId), 'ok-job').map((e) => e.workload))
    await hub.kill('SIGKILL')
    // The agent keeps firing; its log names each run as it finishes.
    const finished = (): string[] =>
      agent
        .log()
        .split('\n')
        .filter((line) => line.includes('"cron run finished"'))
        .map((line) => JSON.parse(line) as { cronJob?: string; workload?: string })
        .filter((entry) => entry.cronJob === 'ok-job' && entry.workload !== undefined && !reported.has(entry.workload))
        .map((entry) => entry.workload as string)
    const [offline] = await waitFor(() => (finished().length > 0 ? finished() : undefined), {
      what: 'a run to finish while the hub is down',
      timeoutMs: 150_000,
      intervalMs: 1_000,
    })
    await hub.start()
    const events = await waitFor(
      async () => {
        const found = runsOf(await hub.events(nodeId), 'ok-job').filter((e) => e.workload === offline)
        return found.length > 0 ? found : undefined
      },
      { what: `the run done offline (${offline}) to reach the hub`, timeoutMs: 90_000, intervalMs: 1_000 },
    )
    t.equal(events.length, 1, `${offline}: one event`)
    t.equal(events[0]?.type, 'JobRunSucceeded')
  })

  await t.test('no firing is reported twice', async (t) => {
    const events = await hub.events(nodeId)
    for (const job of ['ok-job', 'bad-job']) {
      const times = scheduledTimes(runsOf(events, job))
      t.same(times, [...new Set(times)], `${job}: one event per scheduled time (${times.length} runs)`)
    }
  })
})
