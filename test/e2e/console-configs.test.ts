// Configs and Secrets in the web console, in Debian's Chromium against a real hub process and a
// real agent: the page is in the navigation; the list shows both kinds with their keys and the
// deployment using them; a Secret's page shows keys, sizes and each copy's sent and running
// version (and follows a change to version 2) but never its values; a Config's page shows its
// data and its override; the node's page shows the versions its workload runs. A marker value of
// the Secret is never in any page, in any API answer the console read, nor in the hub's log.
// Every wait is for a condition.
import path from 'node:path'
import t from 'tap'
import type { Locator, Page } from 'playwright-core'
import { startAgentProcess, uniqueNodeId, type AgentProcess } from '../support/agent-process.js'
import { testImage } from '../support/env.js'
import { sleepTemplate } from '../support/hub-process.js'
import { tempDir } from '../support/tmp.js'
import { waitFor } from '../support/wait.js'
import { launchChromium, screenshot, startHubProcess, type BrowserSession, type HubProcess } from './console-fixtures.js'

t.setTimeout(300_000)

const MARKER = `marker-${process.pid}-${Date.now().toString(36)}-never-shown`
const DEPLOYMENT = 'cfg-web'

let hub: HubProcess
let browser: BrowserSession
let page: Page
let agent: AgentProcess
/** Every API answer the console read (not the streams), and every page's HTML we looked at. */
const seen: string[] = []

const text = async (locator: Locator): Promise<string> => ((await locator.count()) > 0 ? ((await locator.first().textContent()) ?? '') : '')
/** The text of a row's cells, trimmed. */
const cells = async (row: Locator): Promise<string[]> =>
  (await row.count()) > 0 ? (await row.first().locator('td').allTextContents()).map((c) => c.trim()) : []
const apply = (manifest: unknown): Promise<unknown> => hub.api('POST', '/api/v1/manifests', manifest)
const secret = (token: string) => ({ apiVersion: 'shoal/v1', kind: 'Secret', metadata: { name: 'api' }, data: { token, user: 'line7' } })
const keep = async (): Promise<void> => void seen.push(await page.content())

t.before(async () => {
  const dir = tempDir(t, 'console-configs-e2e')
  hub = await startHubProcess(t, dir)
  t.teardown(() => {
    if (!t.passing()) t.comment(`hub log (last lines):\n${hub.log().split('\n').slice(-80).join('\n')}`)
  })
  const { token } = await hub.api<{ token: string }>('POST', '/api/v1/tokens', {})
  const id = uniqueNodeId('cfg')
  agent = await startAgentProcess(t, {
    nodeId: id,
    dataDir: path.join(dir, id),
    hubUrl: hub.url,
    resyncIntervalMs: 2_000,
    logLevel: 'info',
    extraArgs: ['--token', token, '--labels', 'site=a'],
  })
  await apply({
    apiVersion: 'shoal/v1',
    kind: 'Config',
    metadata: { name: 'line' },
    data: { plc: '10.0.0.5', 'cal.json': '{"gain": 1.25}\n' },
    overrides: [{ selector: { matchLabels: { site: 'a' } }, data: { plc: '10.0.7.7' } }],
  })
  await apply(secret(MARKER))
  await apply({
    apiVersion: 'shoal/v1',
    kind: 'Deployment',
    metadata: { name: DEPLOYMENT },
    spec: { replicas: 1, template: sleepTemplate(testImage(), { env: { TOKEN: { secret: 'api', key: 'token' }, PLC: { config: 'line', key: 'plc' } } }) },
  })
  browser = await launchChromium(t, dir)
  page = browser.page
  page.on('response', (response) => {
    const url = response.url()
    if (!url.includes('/api/v1/') || url.includes('/stream') || url.includes('/logs')) return
    response.text().then(
      (body) => void seen.push(body),
      () => undefined,
    )
  })
  await page.goto(`${hub.url}/`)
  await page.getByLabel('admin token').fill(hub.adminToken)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.locator('[data-stream="live"]').waitFor()
})

t.test('the list shows both kinds, their keys and the deployment using them', async (t) => {
  await page.getByRole('navigation', { name: 'main' }).getByRole('link', { name: 'Configs & Secrets' }).click()
  await page.getByRole('heading', { name: 'Configs & Secrets', level: 1 }).waitFor()
  t.equal(new URL(page.url()).pathname, '/configs')
  const secretRow = page.getByRole('table', { name: 'secrets' }).locator('tr[data-config-object="Secret/api"]')
  const configRow = page.getByRole('table', { name: 'configs' }).locator('tr[data-config-object="Config/line"]')
  await secretRow.waitFor()
  await configRow.waitFor()
  t.match(await text(secretRow), /token, user|user, token/, "the secret's keys")
  t.match(await text(secretRow), DEPLOYMENT, 'used by the deployment')
  t.equal((await cells(configRow))[4], '1', 'one override counted')
  await keep()
})

t.test("a Secret's page: keys, sizes and copies' versions, never a value; it follows a change", async (t) => {
  await page.getByRole('table', { name: 'secrets' }).getByRole('link', { name: 'api' }).click()
  await page.getByRole('heading', { name: /^api/, level: 1 }).waitFor()
  t.equal(new URL(page.url()).pathname, '/secrets/api')
  // The heading comes before the object's details have loaded: wait for each part read below.
  await page.getByTestId('secret-note').waitFor()
  t.match(await text(page.getByTestId('secret-note')), "A Secret's values are never shown")
  const keys = page.getByRole('table', { name: 'keys' })
  await keys.locator('tr[data-key="token"]').waitFor()
  t.match(await text(keys.locator('tr[data-key="token"]')), new RegExp(`token\\s*${MARKER.length} B`), 'the size of the value, not the value')
  t.equal(await page.getByRole('table', { name: 'keys' }).locator('th', { hasText: 'Value' }).count(), 0, 'no value column for a Secret')
  const copy = page.getByRole('table', { name: 'copies' }).locator(`tr[data-node-id="${agent.nodeId}"]`)
  // Cells: deployment, node, workload, sent, running.
  const versions = async (): Promise<string> => (await cells(copy)).slice(3).join('/')
  await waitFor(async () => (await versions()) === '1/1', { what: 'the copy to show version 1 sent and running', timeoutMs: 120_000, intervalMs: 250 })
  await keep()

  await apply(secret(`${MARKER}-v2`))
  await waitFor(async () => (await text(page.getByTestId('version-badge'))).startsWith('version 2'), {
    what: 'the page to show version 2',
    timeoutMs: 30_000,
    intervalMs: 250,
  })
  await waitFor(async () => (await versions()) === '2/2', { what: 'the copy to run version 2', timeoutMs: 120_000, intervalMs: 250 })
  t.match(await text(page.getByTestId('version-badge')), /^version 2$/, 'no copy behind once it runs version 2')
  await keep()
  await screenshot(page, 'configs', { fullPage: true })
})

t.test("a Config's page shows its data and its override", async (t) => {
  await page.getByRole('navigation', { name: 'main' }).getByRole('link', { name: 'Configs & Secrets' }).click()
  await page.getByRole('table', { name: 'configs' }).getByRole('link', { name: 'line' }).click()
  await page.getByRole('heading', { name: /^line/, level: 1 }).waitFor()
  const data = page.getByRole('table', { name: 'data' })
  await data.locator('tr[data-key="cal.json"]').waitFor()
  t.match(await text(data.locator('tr[data-key="plc"]')), '10.0.0.5')
  t.match(await text(data.locator('tr[data-key="cal.json"]')), '{"gain": 1.25}')
  const overrides = page.getByRole('list', { name: 'overrides' })
  await overrides.getByRole('table', { name: 'override 1' }).waitFor()
  t.match(await text(overrides), 'site=a')
  t.match(await text(overrides.getByRole('table', { name: 'override 1' })), '10.0.7.7')
  await keep()
})

t.test("the node's page shows the versions its workload runs", async (t) => {
  await page.goto(`${hub.url}/nodes/${agent.nodeId}`)
  const versions = page.getByRole('table', { name: 'workloads' }).getByTestId('object-versions')
  await waitFor(async () => /api\s*v2/.test(await text(versions)) && /line\s*v1/.test(await text(versions)), {
    what: "the node's workload to show secret api v2 and config line v1",
    timeoutMs: 60_000,
    intervalMs: 250,
  })
  t.pass('versions shown')
  await keep()
})

t.test('the marker is nowhere: pages, API answers, hub log', async (t) => {
  // The answers are read asynchronously: wait until the last page's ones are in.
  await waitFor(async () => seen.some((body) => body.includes('"workloadStatus"')), {
    what: "the node page's answer to be recorded",
    timeoutMs: 15_000,
    intervalMs: 100,
  })
  t.ok(seen.length > 5, `${seen.length} pages and answers looked at`)
  t.notOk(
    seen.some((body) => body.includes(MARKER)),
    'no page or API answer holds the secret value',
  )
  t.notOk(hub.log().includes(MARKER), "the hub's log does not hold it")
  t.same(browser.pageErrors, [], 'no errors in the page')
})
