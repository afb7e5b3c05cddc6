// Jobs on the hub (issue 17): a real hub (embedded broker, a short first retry delay through its
// test knob) and two real agents on Docker. A replicated job (completions 3, parallelism 2) whose
// first two copies to run fail is retried and completes; a job past its backoffLimit ends Failed
// with BackoffLimitExceeded; an every-node job runs once on each node and never again. Finished
// copies' containers are removed and their output is still read through `shoal logs job/NAME`.
// `shoal create job --from cronjob/NAME` runs a cron job's run now on each of its nodes.
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { stringify as stringifyYaml } from 'yaml'
import { ApplyResponse, JobDeleted, JobDetail, JobList } from '../../protocol/api/index.js'
import { testImage, waitFor } from '../support/index.js'
import { nodeContainers, uniqueNodeId } from '../support/agent-process.js'
import { manifestsYaml, startHubAgent, startHubProcess } from '../support/hub-process.js'
import { cli } from './cli-harness.js'

t.setTimeout(180_000)

const jobYaml = (name: string, spec: Record<string, unknown>, script: string, volumes?: unknown[]): string =>
  stringifyYaml({
    apiVersion: 'shoal/v1',
    kind: 'Job',
    metadata: { name },
    spec: { ...spec, template: { image: testImage(), network: 'host', command: ['sh', '-c', script], ...(volumes ? { volumes } : {}) } },
  })

t.test('jobs run to completion on real agents: retries, the backoff limit, every node once', async (t) => {
  const hub = await startHubProcess(t, { extraArgs: ['--test-job-retry-base', '300ms'] })
  const markers = mkdtempSync(path.join(process.env.SHOAL_TMP ?? os.tmpdir(), 'job-markers-'))
  t.teardown(() => rmSync(markers, { recursive: true, force: true }))
  const fleet = uniqueNodeId('jobs')
  const token = await hub.createJoinToken({ maxUses: 2, ttl: '10m', labels: { fleet } })
  const extraArgs = ['--allow-host-path', `${markers}:rw`]
  const agents = await Promise.all([
    startHubAgent(t, hub, { name: uniqueNodeId('job-a'), token, extraArgs }),
    startHubAgent(t, hub, { name: uniqueNodeId('job-b'), token, extraArgs }),
  ])
  const nodeIds = agents.map((a) => a.nodeId).sort()
  await waitFor(async () => ((await hub.nodes()).filter((n) => n.online).length === 2 ? true : undefined), { what: 'two online nodes', timeoutMs: 30_000 })
  const selector = { matchLabels: { fleet } }
  // The first two copies to run fail (mkdir is atomic: one marker each), every later one succeeds.
  const flaky = 'if busybox mkdir /m/first 2>/dev/null || busybox mkdir /m/second 2>/dev/null; then echo failing; exit 3; fi; echo done'
  const applied = ApplyResponse.parse(
    await hub.apply(
      manifestsYaml(
        jobYaml('replicated', { completions: 3, parallelism: 2, backoffLimit: 2, selector }, flaky, [{ hostPath: markers, path: '/m' }]),
        jobYaml('doomed', { backoffLimit: 1, selector }, 'echo doomed; exit 5'),
        jobYaml('everywhere', { mode: 'every-node', selector }, 'echo hello from $(busybox hostname)'),
      ),
    ),
  )
  t.same(
    applied.results.map((r: any) => [r.kind, r.name, r.outcome]),
    [
      ['Job', 'replicated', 'created'],
      ['Job', 'doomed', 'created'],
      ['Job', 'everywhere', 'created'],
    ],
  )

  const jobs = await waitFor(
    async () => {
      // Answers parse with the API contract's schemas (strict: no field more or less).
      const { items } = JobList.parse(await hub.ok('GET', '/api/v1/jobs'))
      return items.every((j) => j.condition.type !== 'Active') ? new Map(items.map((j) => [j.name, j])) : undefined
    },
    { what: 'every job finished', timeoutMs: 90_000, intervalMs: 500 },
  )

  await t.test('the replicated job completes, its two failed copies retried', async (t) => {
    const job = JobDetail.parse(await hub.ok('GET', '/api/v1/jobs/replicated'))
    t.match(job.condition, { type: 'Complete', reason: 'Completed' })
    t.match(jobs.get('replicated'), { desired: 3, succeeded: 3, failed: 2, active: 0, pending: 0 })
    const failed = job.copies.filter((c: any) => c.state === 'failed')
    t.same(
      failed.map((c: any) => [c.exitCode, c.reason]),
      [
        [3, 'NonZeroExit'],
        [3, 'NonZeroExit'],
      ],
    )
    const succeeded = job.copies.filter((c: any) => c.state === 'succeeded')
    t.same(succeeded.map((c: any) => c.index).sort(), [0, 1, 2], 'one success per index')
    for (const copy of failed) {
      const retry = job.copies.find((c: any) => c.index === copy.index && c.attempt === copy.attempt + 1)
      t.ok(retry, `index ${copy.index} was tried again`)
      t.ok(Date.parse(retry?.startedAt ?? '') >= Date.parse(copy.finishedAt ?? '') + 300, 'after the retry delay')
    }
    for (const copy of job.copies) t.ok(nodeIds.includes(copy.nodeId) && copy.finishedAt !== null, `${copy.workload} ran on a node and finished`)
  })

  await t.test('a job past its backoffLimit fails with BackoffLimitExceeded', async (t) => {
    const job = JobDetail.parse(await hub.ok('GET', '/api/v1/jobs/doomed'))
    t.match(job.condition, { type: 'Failed', reason: 'BackoffLimitExceeded', message: /2 failed copies exceed backoffLimit 1/ })
    t.same(
      job.copies.map((c: any) => [c.workload, c.state, c.exitCode]),
      [
        ['job-doomed-0-1', 'failed', 5],
        ['job-doomed-0-2', 'failed', 5],
      ],
    )
    const events = (await hub.events()).filter((e) => e.data?.job === 'doomed')
    t.same(
      events.map((e) => e.type),
      ['JobStarted', 'JobCopyFailed', 'JobCopyFailed', 'JobFailed'],
    )
  })

  await t.test('the every-node job ran once on each node, and its output outlives its containers', async (t) => {
    const job = JobDetail.parse(await hub.ok('GET', '/api/v1/jobs/everywhere'))
    t.match(job.condition, { type: 'Complete' })
    t.same(
      job.copies.map((c: any) => [c.nodeId, c.state, c.attempt]).sort(),
      nodeIds.map((id) => [id, 'succeeded', 1]),
    )
    // Every job copy's container is removed once its outcome is recorded.
    await waitFor(
      async () => {
        const left = (await Promise.all(nodeIds.map((id) => nodeContainers(id)))).flat().filter((c: any) => /^job-/.test(c.workload ?? ''))
        return left.length === 0 ? true : undefined
      },
      { what: 'no job containers left', timeoutMs: 30_000 },
    )
    const logs = await cli(['logs', 'job/everywhere', '--hub', hub.apiUrl, '--token', hub.adminToken])
    t.equal(logs.code, 0, logs.err)
    for (const copy of job.copies) t.match(logs.out, new RegExp(`^\\[${copy.nodeId} ${copy.workload}\\] hello from `, 'm'))
    const described = await cli(['describe', 'job', 'doomed', '--hub', hub.apiUrl, '--token', hub.adminToken])
    t.match(described.out, /Condition:\n {2}Failed \(BackoffLimitExceeded\)/)
    t.match(described.out, /job-doomed-0-2|NonZeroExit/)
    const listed = await cli(['get', 'jobs', '--hub', hub.apiUrl, '--token', hub.adminToken])
    t.match(listed.out, /everywhere\s+2\/2\s+0\s+0\s+Complete/)
    // Never again: the passes since it completed (the agents' reports of their containers going) started no copy.
    const again = await hub.ok('GET', '/api/v1/jobs/everywhere')
    t.equal(again.copies.length, 2, 'still one copy per node')
  })

  await t.test('shoal create job --from cronjob/NAME runs the cron job now, once on each node it runs on', async (t) => {
    // A schedule that does not fire during the test: the job's copies are the only runs.
    await hub.apply(
      stringifyYaml({
        apiVersion: 'shoal/v1',
        kind: 'CronJob',
        metadata: { name: 'yearly' },
        spec: {
          schedule: '0 0 1 1 *',
          timeZone: 'UTC',
          selector,
          jobTemplate: { template: { image: testImage(), network: 'host', command: ['sh', '-c', 'echo run now'] } },
        },
      }),
    )
    const created = await cli(['create', 'job', 'yearly-now', '--from', 'cronjob/yearly', '--hub', hub.apiUrl, '--token', hub.adminToken])
    t.equal(created.code, 0, created.err)
    t.match(created.out, /yearly-now/)
    const job = await waitFor(
      async () => {
        const detail = JobDetail.parse(await hub.ok('GET', '/api/v1/jobs/yearly-now'))
        return detail.condition.type === 'Active' ? undefined : detail
      },
      { what: 'the job made from the cron job finished', timeoutMs: 60_000, intervalMs: 500 },
    )
    t.match(job.condition, { type: 'Complete' })
    t.same(
      job.copies.map((c: any) => [c.nodeId, c.state]).sort(),
      nodeIds.map((id) => [id, 'succeeded']),
    )
    const again = await cli(['create', 'job', 'yearly-now', '--from', 'cronjob/yearly', '--hub', hub.apiUrl, '--token', hub.adminToken])
    t.equal(again.code, 1)
    t.match(again.err, /job "yearly-now" already exists/)
    const missing = await cli(['create', 'job', 'other', '--from', 'cronjob/absent', '--hub', hub.apiUrl, '--token', hub.adminToken])
    t.equal(missing.code, 1)
    t.match(missing.err, /cron job "absent" not found/)
  })

  await t.test('the template cannot change once applied; deleting the job forgets it', async (t) => {
    const changed = await hub.api('POST', '/api/v1/manifests', jobYaml('doomed', { backoffLimit: 1, selector }, 'echo changed'))
    t.equal(changed.status, 409)
    t.match(changed.body.error, {
      code: 'job-immutable',
      message: /spec\.template cannot change after the job is applied.*delete it \(shoal delete job doomed\)/,
    })
    const same = await hub.apply(jobYaml('doomed', { backoffLimit: 1, selector }, 'echo doomed; exit 5'))
    t.equal(same.results[0].outcome, 'unchanged')
    const deleted = await cli(['delete', 'job', 'doomed', '--hub', hub.apiUrl, '--token', hub.adminToken])
    t.equal(deleted.out, 'job/doomed deleted\n')
    t.same(JobDeleted.parse((await hub.api('DELETE', '/api/v1/jobs/replicated')).body), { deleted: 'replicated', stopped: 0 })
    t.equal((await hub.api('GET', '/api/v1/jobs/doomed')).status, 404)
  })
})
