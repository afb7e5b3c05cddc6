// Bulk actions and alerts in the web console (issue 16, items 3 and 4), in Debian's Chromium
// against a real hub process and three real agents: three nodes selected and labeled, checked
// with the CLI; a drain that shows the hub's dry run (which deployment would move where) before
// anything changes; an agent SIGKILLed whose NodeOffline alert appears after its (small)
// threshold, is on /metrics, and stays, resolved, after the node returns until acknowledged.
import path from 'node:path'
import t from 'tap'
import type { Page, Route } from 'playwright-core'
import { startAgentProcess, uniqueNodeId, type AgentProcess } from '../support/agent-process.js'
import { testImage } from '../support/env.js'
import { tempDir } from '../support/tmp.js'
import { waitFor } from '../support/wait.js'
import { runSpawned } from '../integration/cli-harness.js'
import type { AlertList, BulkNodeResult, DeploymentDetail, NodeList, NodeView } from '../../protocol/api/index.js'
import { launchChromium, screenshot, startHubProcess, type BrowserSession, type HubProcess } from './console-fixtures.js'

t.setTimeout(300_000)

const DEPLOYMENT = 'bulk-sleeper'

const manifest = (image: string): string => `apiVersion: shoal/v1
kind: Deployment
metadata:
  name: ${DEPLOYMENT}
spec:
  replicas: 1
  selector:
    matchLabels: { e2e: bulk }
  template:
    image: ${image}
    command: [sh, -c, "trap 'exit 0' TERM; while true; do sleep 1; done"]
    restartPolicy: always
    network: host
`

let hub: HubProcess
let browser: BrowserSession
let page: Page
let agents: AgentProcess[]

const nodeRow = (id: string) => page.locator(`[role="row"][data-node-id="${id}"]`)
const nodes = async (): Promise<NodeView[]> => (await hub.api<NodeList>('GET', '/api/v1/nodes')).items as NodeView[]
const holderOf = async (): Promise<string | null> => (await hub.api<DeploymentDetail>('GET', `/api/v1/deployments/${DEPLOYMENT}`)).placements[0]?.nodeId ?? null

t.before(async () => {
  const dir = tempDir(t, 'console-bulk')
  // A 2 s offline threshold, so the test waits seconds, not minutes; usage alerts off, since this
  // machine's own disk may well be past 90 %.
  hub = await startHubProcess(t, dir, { extraArgs: ['--alert-node-offline', '2s', '--alert-disk', 'off', '--alert-memory', 'off'] })
  t.teardown(() => {
    if (!t.passing()) t.comment(`hub log (last lines):\n${hub.log().split('\n').slice(-80).join('\n')}`)
  })
  const { token } = await hub.api<{ token: string }>('POST', '/api/v1/tokens', {})
  const ids = [uniqueNodeId('bulk-a'), uniqueNodeId('bulk-b'), uniqueNodeId('bulk-c')]
  agents = await Promise.all(
    ids.map((id) =>
      startAgentProcess(t, {
        nodeId: id,
        dataDir: path.join(dir, id),
        hubUrl: hub.url,
        resyncIntervalMs: 2_000,
        logLevel: 'info',
        extraArgs: ['--token', token, '--labels', 'e2e=bulk'],
      }),
    ),
  )
  await waitFor(async () => (await nodes()).filter((n) => n.online && n.condition.type === 'Ready').length === 3, {
    what: 'three agents to enroll and be Ready',
    timeoutMs: 60_000,
    intervalMs: 250,
  })
  await hub.api('POST', '/api/v1/manifests', manifest(testImage()))
  await waitFor(holderOf, { what: `${DEPLOYMENT} to be placed`, timeoutMs: 30_000 })
  browser = await launchChromium(t, dir)
  page = browser.page
  await page.goto(hub.url)
  await page.getByLabel('admin token').fill(hub.adminToken)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.locator('[data-stream="live"]').waitFor()
})

t.test('select three nodes, label them in one action, and the CLI sees the labels', async (t) => {
  await page.getByRole('navigation', { name: 'main' }).getByRole('link', { name: 'Nodes' }).click()
  for (const agent of agents) await page.getByRole('checkbox', { name: `select ${agent.nodeId}` }).check()
  t.equal(await page.getByTestId('selected-count').textContent(), '3 nodes selected')
  await page.getByLabel('bulk action', { exact: true }).selectOption('label')
  await page.getByLabel('labels to set').fill('bulk-batch=one, tier=edge')
  await page.getByRole('button', { name: 'Review label…' }).click()
  const review = page.getByTestId('bulk-review')
  await review.getByRole('heading', { name: 'Label 3 nodes?' }).waitFor()
  t.match(await review.getByTestId('bulk-moving').textContent(), /No deployment would move/)
  t.same(
    (await nodes()).filter((n) => n.labels['bulk-batch'] !== undefined),
    [],
    'the review changed nothing',
  )
  await review.getByRole('button', { name: 'Label 3 nodes' }).click()
  const result = page.getByTestId('bulk-result')
  await result.waitFor()
  for (const agent of agents)
    t.equal(await result.locator(`li[data-node-id="${agent.nodeId}"]`).getAttribute('data-outcome'), 'changed', `${agent.nodeId}: a result`)

  const run = await runSpawned(t, ['get', 'nodes', '-l', 'bulk-batch=one,tier=edge', '-o', 'name', '--hub', hub.url, '--token', hub.adminToken])
  t.equal(run.code, 0, run.err)
  t.same(run.out.trim().split('\n').sort(), agents.map((a) => a.nodeId).sort(), 'shoal get nodes -l finds the three')
  await page.getByRole('button', { name: 'Dismiss' }).click()
  await page.getByRole('button', { name: 'Clear' }).click()
})

t.test('a bulk drain shows the dry run first: how many nodes, which deployment would move where; then drains', async (t) => {
  const holder = (await holderOf()) as string
  const others = agents.map((a) => a.nodeId).filter((id) => id !== holder)
  const [alsoDrained, free] = others as [string, string]
  for (const id of [holder, alsoDrained]) await page.getByRole('checkbox', { name: `select ${id}` }).check()
  await page.getByLabel('bulk action', { exact: true }).selectOption('drain')
  await page.getByRole('button', { name: 'Review drain…' }).click()
  const review = page.getByTestId('bulk-review')
  await review.getByRole('heading', { name: 'Drain 2 nodes?' }).waitFor()
  t.match(await review.getByTestId('bulk-moving').textContent(), `Deployments that would move: ${DEPLOYMENT}.`)
  t.equal(
    await review.getByRole('list', { name: 'copies that would move' }).locator(`li[data-deployment="${DEPLOYMENT}"]`).textContent(),
    `${DEPLOYMENT} (replica 0): ${holder} → ${free}`,
    'the dry run names the move',
  )
  t.notOk(
    (await nodes()).some((n) => n.cordoned),
    'nothing is cordoned before the confirmation',
  )
  t.equal(await holderOf(), holder, 'nothing moved before the confirmation')

  await review.getByRole('button', { name: 'Drain 2 nodes' }).click()
  const result = page.getByTestId('bulk-result')
  await result.waitFor()
  t.match(await result.locator(`li[data-node-id="${holder}"]`).textContent(), /drained; 1 copy moved off/)
  t.equal(await holderOf(), free, 'the copy moved where the dry run said')
  const after = await nodes()
  t.same(
    after
      .filter((n) => n.cordoned)
      .map((n) => n.id)
      .sort(),
    [holder, alsoDrained].sort(),
  )
  await waitFor(async () => (await nodeRow(holder).textContent())?.includes('cordoned'), { what: 'the table to show the node cordoned' })
  await page.getByRole('button', { name: 'Dismiss' }).click()
  await page.getByRole('button', { name: 'Clear' }).click()
  const uncordon = await hub.api<BulkNodeResult>('POST', '/api/v1/nodes/bulk', { nodes: [holder, alsoDrained], action: 'uncordon' })
  t.same(
    uncordon.nodes.map((n) => n.outcome),
    ['changed', 'changed'],
  )
})

t.test('an agent SIGKILLed: its alert appears after the threshold, stays resolved after it returns, until acknowledged', async (t) => {
  const victim = agents[1] as AgentProcess
  const count = page.getByTestId('alert-count')
  // On a busy machine an agent can take longer than the 2 s threshold to connect after it
  // enrolled: that NodeOffline alert is resolved by now but stays until acknowledged. Start clean.
  for (const alert of (await hub.api<AlertList>('GET', '/api/v1/alerts')).items) await hub.api('POST', `/api/v1/alerts/${alert.id}/acknowledge`)
  await waitFor(async () => (await count.textContent()) === '0', { what: 'no alert left from the start-up', timeoutMs: 15_000, intervalMs: 200 })
  await victim.kill('SIGKILL')
  const firing = async (): Promise<boolean> =>
    (await hub.api<AlertList>('GET', '/api/v1/alerts')).items.some((a) => a.rule === 'NodeOffline' && a.node === victim.nodeId && a.state === 'firing')
  await waitFor(firing, { what: "the victim's NodeOffline alert to fire", timeoutMs: 45_000, intervalMs: 200 })
  await waitFor(async () => (await count.textContent()) === '1', { what: 'the top bar to count one alert', timeoutMs: 15_000, intervalMs: 200 })
  await waitFor(async () => /firing/.test((await page.locator('a.alert-count').getAttribute('class')) ?? ''), {
    what: 'the count to be marked firing',
    timeoutMs: 15_000,
    intervalMs: 200,
  })
  const metrics = await (await fetch(`${hub.url}/metrics`)).text()
  t.match(metrics, `shoal_alert{alertname="NodeOffline",node="${victim.nodeId}",rule="NodeOffline",severity="warning"} 1`, 'on /metrics for Alertmanager')

  await page.locator('a.alert-count').click()
  const row = page.locator(`tr[data-rule="NodeOffline"][data-node="${victim.nodeId}"]`)
  await row.waitFor()
  t.equal(await row.getAttribute('data-state'), 'firing')

  await victim.start()
  await waitFor(async () => (await nodes()).find((n) => n.id === victim.nodeId)?.online, { what: 'the node to be online again', timeoutMs: 30_000 })
  await waitFor(async () => (await row.getAttribute('data-state')) === 'resolved', { what: 'the alert to show resolved', timeoutMs: 30_000, intervalMs: 200 })
  t.equal(await count.textContent(), '1', 'resolved but not acknowledged: still counted')
  const listed = await hub.api<AlertList>('GET', '/api/v1/alerts')
  t.match(listed, { firing: 0, unacknowledged: 1, items: [{ rule: 'NodeOffline', node: victim.nodeId, state: 'resolved', acknowledgedAt: null }] })
  t.notMatch(await (await fetch(`${hub.url}/metrics`)).text(), /shoal_alert\{/, 'no longer a firing series')

  const id = listed.items[0]?.id
  await row.getByRole('button', { name: `acknowledge alert ${id}` }).click()
  await row.waitFor({ state: 'detached' })
  await waitFor(async () => (await count.textContent()) === '0', { what: 'the count to drop to 0' })
  t.same((await hub.api<AlertList>('GET', '/api/v1/alerts')).items, [], 'gone from the list once acknowledged')
  const run = await runSpawned(t, ['get', 'alerts', '--all', '-o', 'json', '--hub', hub.url, '--token', hub.adminToken])
  t.match(JSON.parse(run.out), { items: [{ id, state: 'resolved', acknowledgedBy: String }] }, 'shoal get alerts --all keeps it as history')
})

t.test('while a new selector loads, the previous rows stay on screen (no layout shift)', async (t) => {
  await page.getByRole('navigation', { name: 'main' }).getByRole('link', { name: 'Nodes' }).click()
  for (const agent of agents) await nodeRow(agent.nodeId).waitFor()
  // The hub's answer to the selector is held until the test has looked at the page.
  let release: () => void = () => undefined
  const held = new Promise<void>((resolve) => {
    release = resolve
  })
  let asked = false
  const hold = async (route: Route): Promise<void> => {
    asked = true
    await held
    await route.continue()
  }
  const selectorRequest = /\/api\/v1\/nodes\?selector=/
  await page.route(selectorRequest, hold)
  t.teardown(() => {
    release()
    return page.unroute(selectorRequest, hold)
  })
  try {
    await page.getByLabel('search nodes').fill('e2e=bulk')
    await waitFor(() => asked, { what: 'the console to ask the hub for the selector' })
    t.equal(await page.locator('[role="row"][data-node-id]').count(), 3, 'the three rows stay while the answer is awaited')
    t.equal(await page.getByText('Loading…', { exact: true }).count(), 0, 'no loading placeholder in their place')
  } finally {
    release()
  }
  await waitFor(async () => (await page.getByTestId('search-mode').getAttribute('data-kind')) === 'selector', { what: 'the box to say it took a selector' })
  await waitFor(async () => (await page.getByTestId('node-count').textContent())?.startsWith('3 of 3'), { what: 'the selector’s answer to show three nodes' })
})

/** Runs in the page: the computed colours of an element, as [r, g, b] sums of background and text. */
const brightness = (selector: string): string => `(() => {
  const style = getComputedStyle(document.querySelector(${JSON.stringify(selector)}))
  const sum = (c) => c.match(/\\d+/g).slice(0, 3).reduce((a, b) => a + Number(b), 0)
  return [sum(style.backgroundColor), sum(style.color)]
})()`

t.test('dark mode follows the system preference', async (t) => {
  t.teardown(() => page.emulateMedia({ colorScheme: null }))
  await page.emulateMedia({ colorScheme: 'light' })
  const [lightPage, lightText] = (await page.evaluate(brightness(':root'))) as [number, number]
  t.ok(lightPage > 600 && lightText < 200, `light: a light page, dark text (${lightPage}, ${lightText})`)
  await page.emulateMedia({ colorScheme: 'dark' })
  const [darkPage, darkText] = (await page.evaluate(brightness(':root'))) as [number, number]
  t.ok(darkPage < 150 && darkText > 600, `dark: a dark page, light text (${darkPage}, ${darkText})`)
  const [table] = (await page.evaluate(brightness('.vtable'))) as [number, number]
  t.ok(table < 150, `the nodes table is dark too (${table})`)
  const [input] = (await page.evaluate(brightness('input[type="search"]'))) as [number, number]
  t.ok(input < 150, `and the search box (${input})`)
  await screenshot(page, 'dark-nodes')
})

t.test('the page throws no errors and asks nothing of anyone but the hub', async (t) => {
  t.same(
    browser.requests.filter((u) => !u.startsWith(hub.url) && !u.startsWith('data:')),
    [],
  )
  t.same(browser.pageErrors, [])
})
