// Jobs and CronJobs in the web console, in Debian's Chromium against a real hub process, at
// first with no node: the page is in the navigation; a Job with no node to run on stays pending
// and the list says why; a CronJob whose selector matches no node shows 0 nodes and no next
// firing; a Job applied while the list is open appears; the detail pages show their fields.
// Then one real agent joins and the pending Job runs to completion while its page is open: its
// copies, exit codes and last output lines appear without a reload. No cron run is shown (a
// firing is a minute away at best); the per-node cron summaries are unit-tested in
// test/unit/console-job-summary.test.ts. Every wait is for a condition.
import path from 'node:path'
import t from 'tap'
import type { Locator, Page } from 'playwright-core'
import { startAgentProcess, uniqueNodeId } from '../support/agent-process.js'
import { testImage } from '../support/env.js'
import { tempDir } from '../support/tmp.js'
import { waitFor } from '../support/wait.js'
import { launchChromium, screenshot, startHubProcess, type BrowserSession, type HubProcess } from './console-fixtures.js'

t.setTimeout(180_000)

const JOB = 'e2e-migrate'
const CRON = 'e2e-nightly'

let dir: string
let hub: HubProcess
let browser: BrowserSession
let page: Page

const text = async (locator: Locator): Promise<string> => ((await locator.count()) > 0 ? ((await locator.first().textContent()) ?? '') : '')
const apply = (manifest: unknown): Promise<unknown> => hub.api('POST', '/api/v1/manifests', manifest)
const job = (name: string) => ({
  apiVersion: 'shoal/v1',
  kind: 'Job',
  metadata: { name },
  spec: { completions: 2, template: { image: testImage(), network: 'host', command: ['sh', '-c', `echo copy of ${name} done`] } },
})

t.before(async () => {
  dir = tempDir(t, 'console-jobs-e2e')
  hub = await startHubProcess(t, dir)
  t.teardown(() => {
    if (!t.passing()) t.comment(`hub log (last lines):\n${hub.log().split('\n').slice(-80).join('\n')}`)
  })
  await apply(job(JOB))
  await apply({
    apiVersion: 'shoal/v1',
    kind: 'CronJob',
    metadata: { name: CRON },
    spec: {
      schedule: '0 3 * * *',
      timeZone: 'Europe/Berlin',
      concurrencyPolicy: 'Forbid',
      selector: { matchLabels: { site: 'nowhere' } },
      jobTemplate: { template: { image: testImage(), command: ['sh', '-c', 'echo backup'] } },
    },
  })
  browser = await launchChromium(t, dir)
  page = browser.page
  await page.goto(`${hub.url}/`)
  await page.getByLabel('admin token').fill(hub.adminToken)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.locator('[data-stream="live"]').waitFor()
})

t.test('the list: a pending Job with its reason, a CronJob on 0 nodes', async (t) => {
  await page.getByRole('navigation', { name: 'main' }).getByRole('link', { name: 'Jobs' }).click()
  await page.getByRole('heading', { name: 'Jobs', level: 1 }).waitFor()
  t.equal(new URL(page.url()).pathname, '/jobs')
  const jobRow = page.getByRole('table', { name: 'jobs' }).locator(`tr[data-job="${JOB}"]`)
  await jobRow.waitFor()
  const cells = (await jobRow.locator('td').allTextContents()).map((c) => c.trim())
  // Name, succeeded / desired, active, failed, condition, reason, mode, age.
  t.same(cells.slice(0, 5), [JOB, '0 / 2', '0', '0', 'Active'])
  t.match(cells[5], /^Pending: .+/, 'the reason, and why in words')
  t.equal(cells[6], 'replicated')

  const cronRow = page.getByRole('table', { name: 'cron jobs' }).locator(`tr[data-cron-job="${CRON}"]`)
  await cronRow.waitFor()
  const cron = (await cronRow.locator('td').allTextContents()).map((c) => c.trim())
  // Name, schedule, zone, suspended, nodes, last run per node, next firing.
  t.same(cron, [CRON, '0 3 * * *', 'Europe/Berlin', 'no', '0', '0 nodes', '–'])
  await screenshot(page, 'jobs', { fullPage: true })
})

t.test('a Job applied while the list is open appears', async (t) => {
  await apply(job(`${JOB}-2`))
  const row = page.getByRole('table', { name: 'jobs' }).locator(`tr[data-job="${JOB}-2"]`)
  await waitFor(async () => (await row.count()) === 1, { what: 'the new job in the list', timeoutMs: 30_000, intervalMs: 250 })
  t.match(await text(row.getByTestId('job-reason')), /^Pending/)
})

t.test("a Job's page: condition, reason, no copies yet, spec", async (t) => {
  await page.getByRole('table', { name: 'jobs' }).getByRole('link', { name: JOB, exact: true }).click()
  await page.getByRole('heading', { name: new RegExp(`^${JOB}`), level: 1 }).waitFor()
  t.equal(new URL(page.url()).pathname, `/jobs/${JOB}`)
  t.equal(await text(page.getByTestId('job-condition')), 'Active')
  t.match(await text(page.getByTestId('job-condition-reason')), /^Pending\. .+/)
  t.match(await text(page.getByRole('region', { name: 'Copies' })), 'No copy has started yet.')
  t.match(await text(page.getByLabel('spec')), '"completions": 2')
})

t.test("a CronJob's page: schedule, zone, policy, suspend, no node", async (t) => {
  await page.getByRole('navigation', { name: 'main' }).getByRole('link', { name: 'Jobs' }).click()
  await page.getByRole('table', { name: 'cron jobs' }).getByRole('link', { name: CRON }).click()
  await page.getByRole('heading', { name: new RegExp(`^${CRON}`), level: 1 }).waitFor()
  t.equal(new URL(page.url()).pathname, `/cronjobs/${CRON}`)
  const facts = page.getByRole('definition')
  await facts.first().waitFor()
  t.same((await facts.allTextContents()).map((c) => c.trim()).slice(0, 4), ['0 3 * * *', 'Europe/Berlin', 'Forbid', 'no'])
  t.equal(await text(page.getByTestId('cron-last-runs')), '0 nodes')
  t.match(await text(page.getByRole('region', { name: 'Nodes' })), 'No node carries this cron job')
  await page.reload()
  await page.getByRole('heading', { name: new RegExp(`^${CRON}`), level: 1 }).waitFor()
  t.pass('the page is a real URL: it reloads')
  t.same(browser.pageErrors, [], 'no errors in the page')
})

t.test('a node joins: the pending Job runs, its page shows the copies and their output', async (t) => {
  await page.goto(`${hub.url}/jobs/${JOB}`)
  await page.getByTestId('job-condition').waitFor()
  const { token } = await hub.api<{ token: string }>('POST', '/api/v1/tokens', {})
  const id = uniqueNodeId('jobs')
  await startAgentProcess(t, {
    nodeId: id,
    dataDir: path.join(dir, id),
    hubUrl: hub.url,
    resyncIntervalMs: 2_000,
    logLevel: 'info',
    extraArgs: ['--token', token],
  })
  await waitFor(async () => (await text(page.getByTestId('job-condition'))) === 'Complete', {
    what: 'the job page to show Complete',
    timeoutMs: 120_000,
    intervalMs: 250,
  })
  const copies = page.getByRole('table', { name: 'copies' }).locator('tbody tr')
  t.equal(await copies.count(), 2, 'two copies')
  for (const row of await copies.all()) {
    const cells = (await row.locator('td').allTextContents()).map((c) => c.trim())
    // Node, index, attempt, state, exit code, started, finished, reason, last output.
    t.same([cells[0], cells[2], cells[3], cells[4], cells[7]], [id, '1', 'succeeded', '0', 'Succeeded'])
  }
  t.same((await copies.locator('td:nth-child(2)').allTextContents()).sort(), ['0', '1'], 'indexes 0 and 1')
  await waitFor(async () => (await page.locator('pre.job-output', { hasText: `copy of ${JOB} done` }).count()) === 2, {
    what: "each copy's output line",
    timeoutMs: 30_000,
    intervalMs: 250,
  })
  await page.getByRole('table', { name: 'copies' }).getByRole('link', { name: id }).first().waitFor()
  await screenshot(page, 'job', { fullPage: true })
  await page.getByRole('navigation', { name: 'main' }).getByRole('link', { name: 'Jobs' }).click()
  const row = page.getByRole('table', { name: 'jobs' }).locator(`tr[data-job="${JOB}"]`)
  await row.waitFor()
  t.same((await row.locator('td').allTextContents()).map((c) => c.trim()).slice(1, 5), ['2 / 2', '0', '0', 'Complete'])
  t.same(browser.pageErrors, [], 'no errors in the page')
})

t.test('at phone size the three pages do not scroll sideways', async (t) => {
  await page.setViewportSize({ width: 390, height: 844 })
  t.teardown(() => page.setViewportSize({ width: 1400, height: 900 }))
  for (const [target, ready] of [
    ['/jobs', page.getByRole('table', { name: 'cron jobs' })],
    [`/jobs/${JOB}`, page.getByRole('table', { name: 'copies' })],
    [`/cronjobs/${CRON}`, page.getByTestId('cron-last-runs')],
  ] as const) {
    await page.goto(`${hub.url}${target}`)
    await ready.waitFor()
    const [scroll, inner] = (await page.evaluate('[document.documentElement.scrollWidth, window.innerWidth]')) as [number, number]
    t.ok(scroll <= inner, `${target} fits the phone's width (${scroll} <= ${inner})`)
  }
  t.same(browser.pageErrors, [], 'no errors in the page')
})
