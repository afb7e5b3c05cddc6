// The web console in Debian's Chromium against a real hub process and two real agents (real
// Docker containers): sign in, the fleet, filtering, a node, its logs, applying a manifest with
// an error and then a valid one, and a node going offline while the page watches.
// With SHOAL_SCREENSHOTS=1 it also saves docs/screenshots/*.png (scripts/screenshots does).
import path from 'node:path'
import t from 'tap'
import type { Locator, Page, Route } from 'playwright-core'
import { startAgentProcess, uniqueNodeId, type AgentProcess } from '../support/agent-process.js'
import { testImage } from '../support/env.js'
import { tempDir } from '../support/tmp.js'
import { waitFor } from '../support/wait.js'
import { launchChromium, screenshot, startHubProcess, type BrowserSession, type HubProcess } from './console-fixtures.js'

t.setTimeout(300_000)

interface NodeView {
  readonly id: string
  readonly online: boolean
  readonly labels: Record<string, string>
  readonly cordoned: boolean
  readonly condition: { readonly type: string }
  readonly devices: readonly string[] | null
  readonly policy: { readonly privileged: boolean; readonly reported: boolean }
}

const DEPLOYMENT = 'console-ticker'

/** Line 7 holds the typo, so the hub's error must be marked on line 7 and nowhere else. */
const manifestWithError = (image: string): string => `apiVersion: shoal/v1
kind: Deployment
metadata:
  name: ${DEPLOYMENT}
spec:
  mode: every-node
  replcas: 2
  template:
    image: ${image}
`

const validManifest = (image: string): string => `apiVersion: shoal/v1
kind: Deployment
metadata:
  name: ${DEPLOYMENT}
  labels: { team: console-e2e }
spec:
  mode: every-node
  selector:
    matchExpressions:
      - { key: site, operator: In, values: [alpha, beta] }
  template:
    image: ${image}
    command: [sh, -c, "trap 'exit 0' TERM; i=0; while true; do echo console-tick-$i; i=$((i+1)); sleep 1; done"]
    restartPolicy: always
    network: host
`

const attribute = async (locator: Locator, name: string): Promise<string | null> => ((await locator.count()) > 0 ? locator.first().getAttribute(name) : null)
const text = async (locator: Locator): Promise<string> => ((await locator.count()) > 0 ? ((await locator.first().textContent()) ?? '') : '')

/** Runs in the page (serialised by Playwright): the element's computed background colour. */
const backgroundOf = (el: unknown): string =>
  (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(el).backgroundColor

/** Runs in the page: the innermost elements reaching past the window's right edge, to say what to fix. */
const STICKING_OUT = `[...document.querySelectorAll('body *')]
  .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1 && ![...el.children].some((c) => c.getBoundingClientRect().right > window.innerWidth + 1))
  .slice(0, 4)
  .map((el) => el.tagName.toLowerCase() + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '') + ' ' + Math.round(el.getBoundingClientRect().right) + 'px')
  .join(', ')`

/** The console's nodes table keeps only rows in view in the DOM; this reads what it shows. */
const nodeRow = (page: Page, id: string): Locator => page.locator(`[role="row"][data-node-id="${id}"]`)

let hub: HubProcess
let browser: BrowserSession
let page: Page
let alpha: AgentProcess
let beta: AgentProcess

t.before(async () => {
  const dir = tempDir(t, 'console-e2e')
  hub = await startHubProcess(t, dir)
  t.teardown(() => {
    if (!t.passing()) t.comment(`hub log (last lines):\n${hub.log().split('\n').slice(-80).join('\n')}`)
  })
  const { token } = await hub.api<{ token: string }>('POST', '/api/v1/tokens', {})
  const agent = (id: string, site: string) =>
    startAgentProcess(t, {
      nodeId: id,
      dataDir: path.join(dir, id),
      hubUrl: hub.url,
      resyncIntervalMs: 2_000,
      logLevel: 'info',
      extraArgs: ['--token', token, '--labels', `site=${site},e2e=console`],
    })
  ;[alpha, beta] = await Promise.all([agent(uniqueNodeId('alpha'), 'alpha'), agent(uniqueNodeId('beta'), 'beta')])
  await waitFor(
    async () => {
      const { items } = await hub.api<{ items: NodeView[] }>('GET', '/api/v1/nodes')
      return items.length === 2 && items.every((n) => n.online && n.condition.type === 'Ready')
    },
    { what: 'both agents to enroll and be Ready', timeoutMs: 60_000, intervalMs: 250 },
  )
  browser = await launchChromium(t, dir)
  page = browser.page
})

t.test('signs in with the admin token (and refuses a wrong one)', async (t) => {
  await page.goto(`${hub.url}/`)
  await page.getByLabel('admin token').fill('not-the-token')
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByRole('alert').filter({ hasText: 'does not accept this token' }).waitFor()
  await page.getByLabel('admin token').fill(hub.adminToken)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByRole('heading', { name: 'Fleet overview' }).waitFor()
  await page.locator('[data-stream="live"]').waitFor()
  await waitFor(async () => (await text(page.locator('[data-count="total"]'))) === '2', { what: 'the overview to count 2 nodes', timeoutMs: 15_000 })
  t.equal(await text(page.locator('[data-count="Ready"]')), '2', 'both nodes are ready')
  t.equal(await page.evaluate('sessionStorage.getItem("shoal.adminToken") !== null'), true, 'the token is kept in sessionStorage')
})

t.test('lists the nodes; the search box finds a name, a prefix and a label value here, and passes a selector to the hub', async (t) => {
  await page.getByRole('navigation', { name: 'main' }).getByRole('link', { name: 'Nodes' }).click()
  await nodeRow(page, alpha.nodeId).waitFor()
  await nodeRow(page, beta.nodeId).waitFor()
  t.equal(await attribute(nodeRow(page, alpha.nodeId), 'data-condition'), 'Ready')
  t.match(await text(nodeRow(page, beta.nodeId)), /site=beta/, 'labels are shown')

  const selectorRequests: string[] = []
  const onRequest = (request: { url(): string }): void => {
    if (request.url().includes('/api/v1/nodes?selector=')) selectorRequests.push(request.url())
  }
  page.on('request', onRequest)
  await page.getByLabel('search nodes').fill(alpha.nodeId)
  await waitFor(async () => (await nodeRow(page, beta.nodeId).count()) === 0 && (await nodeRow(page, alpha.nodeId).count()) === 1, {
    what: 'the exact name to find only the alpha node',
    timeoutMs: 15_000,
  })
  t.equal(await attribute(page.getByTestId('search-mode'), 'data-kind'), 'text', 'the box says it matched names')
  t.match(await text(page.getByTestId('search-mode')), /whose name or labels contain/)
  t.match(page.url(), /[?&]q=/, 'free text goes in the URL as q')
  t.same(selectorRequests, [], 'free text is matched in the page, not sent to the hub as a selector')
  await page.getByLabel('search nodes').fill(alpha.nodeId.slice(0, alpha.nodeId.length - 3))
  await waitFor(async () => (await nodeRow(page, alpha.nodeId).count()) === 1, { what: 'a prefix of the name to find it', timeoutMs: 15_000 })
  await page.getByLabel('search nodes').fill('beta')
  await waitFor(async () => (await nodeRow(page, alpha.nodeId).count()) === 0 && (await nodeRow(page, beta.nodeId).count()) === 1, {
    what: 'the label value beta to find the beta node',
    timeoutMs: 15_000,
  })

  await page.getByLabel('search nodes').fill('site=alpha')
  await waitFor(async () => (await nodeRow(page, beta.nodeId).count()) === 0 && (await nodeRow(page, alpha.nodeId).count()) === 1, {
    what: 'the selector site=alpha to leave only the alpha node',
    timeoutMs: 15_000,
  })
  t.match(await text(page.getByTestId('node-count')), /^1 of 1 node/)
  t.ok(
    selectorRequests.some((u) => decodeURIComponent(u).includes('selector=site=alpha')),
    'the hub did the filtering (?selector=)',
  )
  t.match(page.url(), /selector=site%3Dalpha/, 'the filter is in the URL, so it can be shared')
  t.equal(await attribute(page.getByTestId('search-mode'), 'data-kind'), 'selector', 'the box says it took a label selector')
  page.off('request', onRequest)

  await page.getByLabel('search nodes').fill('site in (alpha')
  await page.getByRole('alert').filter({ hasText: 'selector' }).waitFor()
  t.pass('a malformed selector shows the hub’s error')

  await page.getByLabel('search nodes').fill('')
  await nodeRow(page, beta.nodeId).waitFor()
  const labelsOf = (id: string): Promise<string> => text(nodeRow(page, id).locator('[data-column="labels"]'))
  t.match(await labelsOf(beta.nodeId), /^e2e=console, site=beta, device-class=/, 'the node’s own labels come before its profile’s')
  await page.getByTestId('label-picker-summary').click()
  await page.getByRole('checkbox', { name: 'site', exact: true }).check()
  await waitFor(async () => (await labelsOf(beta.nodeId)) === 'site=beta', { what: 'only the chosen label to show' })
  await page.reload()
  await nodeRow(page, beta.nodeId).waitFor()
  t.equal(await labelsOf(beta.nodeId), 'site=beta', 'the choice is remembered in this browser')
  await page.getByTestId('label-picker-summary').click()
  await page.getByRole('button', { name: /Show all/ }).click()
  await waitFor(async () => /^e2e=console, site=beta, device-class=/.test(await labelsOf(beta.nodeId)), { what: 'every label again' })
  await page.getByLabel('condition').selectOption('Offline')
  await waitFor(async () => (await page.locator('[role="row"][data-node-id]').count()) === 0, { what: 'the condition filter to hide the ready nodes' })
  await page.getByLabel('condition').selectOption('')
  await nodeRow(page, alpha.nodeId).waitFor()
})

t.test('marks the hub’s validation errors at their lines', async (t) => {
  await page.getByRole('navigation', { name: 'main' }).getByRole('link', { name: 'Apply' }).click()
  await page.getByLabel('manifest').fill(manifestWithError(testImage()))
  await page.getByRole('button', { name: 'Apply', exact: true }).click()
  const problems = page.getByRole('alert', { name: 'problems' })
  await problems.waitFor()
  t.match(await text(problems), /Line 7:3/, 'the problem list names line 7, column 3')
  t.match(await text(problems), /spec\.replcas/, 'and the field')
  t.equal(await page.locator('.editor-gutter .gutter-line.has-error').count(), 1, 'one line is marked in the gutter')
  t.equal(await attribute(page.locator('.editor-gutter .gutter-line.has-error'), 'data-line'), '7', 'and it is line 7')
  t.match(await text(page.locator('.backdrop-line[data-line="7"]')), /unknown field "replcas"/, 'the message sits on line 7 of the editor')
  await screenshot(page, 'apply-error')
  const { items } = await hub.api<{ items: unknown[] }>('GET', '/api/v1/deployments')
  t.equal(items.length, 0, 'nothing was applied')
})

t.test('applies a valid manifest and shows where it was placed', async (t) => {
  await page.getByLabel('manifest').fill(validManifest(testImage()))
  t.equal(await page.locator('.gutter-line.has-error').count(), 0, 'editing clears the marks')
  await page.getByRole('button', { name: 'Apply', exact: true }).click()
  const applied = page.locator(`[data-applied="${DEPLOYMENT}"]`)
  await applied.waitFor()
  for (const agent of [alpha, beta]) {
    await waitFor(async () => (await attribute(applied.locator(`tr[data-node-id="${agent.nodeId}"]`), 'data-state')) === 'running', {
      what: `the placement view to show ${DEPLOYMENT} running on ${agent.nodeId}`,
      timeoutMs: 90_000,
      intervalMs: 250,
    })
  }
  t.pass('the placement shows both nodes running the workload, updated live')
  await applied.getByRole('link', { name: alpha.nodeId }).waitFor()
  await page.getByRole('link', { name: 'Open deployment' }).click()
  await page.locator(`.page.deployment[data-deployment="${DEPLOYMENT}"]`).waitFor()
  await waitFor(async () => /2 \/ 2 ready/.test(await text(page.locator('h1'))), { what: 'the deployment page to say 2 / 2 ready', timeoutMs: 30_000 })
  t.match(await text(page.getByLabel('spec')), /console-tick/, 'the spec is shown')
  await screenshot(page, 'deployment', { fullPage: true })
})

t.test('the deployments page finds a deployment by name and by its labels', async (t) => {
  await page.getByRole('navigation', { name: 'main' }).getByRole('link', { name: 'Deployments' }).click()
  const row = page.locator(`tr[data-deployment="${DEPLOYMENT}"]`)
  await row.waitFor()
  await page.getByLabel('search deployments').fill('ticker')
  await waitFor(async () => /ticker/.test(page.url()), { what: 'the text to reach the URL' })
  t.equal(await row.count(), 1, 'a fragment of the name finds it')
  await page.getByLabel('search deployments').fill('team=console-e2e')
  await waitFor(async () => (await attribute(page.getByTestId('search-mode'), 'data-kind')) === 'selector', { what: 'the selector to be taken' })
  await row.waitFor()
  t.match(await text(page.getByTestId('deployment-count')), /^1 of 1 deployment/, 'the hub filtered by the deployment’s labels')
  await page.getByLabel('search deployments').fill('team=elsewhere')
  await page.getByText('No deployments match.').waitFor()
  t.equal(await row.count(), 0, 'a selector that matches nothing shows nothing')
  await page.getByLabel('search deployments').fill('')
  await row.waitFor()
  await row.getByRole('link', { name: DEPLOYMENT }).click()
  await page.locator(`.page.deployment[data-deployment="${DEPLOYMENT}"]`).waitFor()
})

t.test('opens a node: inventory, labels, cordon, workloads, logs', async (t) => {
  await page.locator(`table[aria-label="placement"] tr[data-node-id="${alpha.nodeId}"]`).getByRole('link', { name: alpha.nodeId }).click()
  await page.locator(`.page.node[data-node-id="${alpha.nodeId}"]`).waitFor()
  t.match(await text(page.getByRole('region', { name: 'Inventory' })), /Hostname/, 'inventory is shown')
  await waitFor(async () => (await attribute(page.locator(`tr[data-workload="${DEPLOYMENT}"] [data-state]`), 'data-state')) === 'running', {
    what: 'the workload row to say running',
  })

  // Labels: add one, see it, and see the hub has it.
  const labels = page.getByRole('region', { name: 'Labels' })
  await labels.getByRole('button', { name: 'Edit labels' }).click()
  await labels.getByRole('button', { name: 'Add label' }).click()
  const rows = labels.locator('.label-row')
  const last = (await rows.count()) - 1
  await rows.nth(last).locator('input').nth(0).fill('tier')
  await rows.nth(last).locator('input').nth(1).fill('edge')
  await labels.getByRole('button', { name: 'Save labels' }).click()
  await labels.getByRole('button', { name: 'Edit labels' }).waitFor()
  await waitFor(async () => (await text(labels.locator('.chips'))).includes('tier=edge'), { what: 'the new label to show' })
  const node = await hub.api<NodeView>('GET', `/api/v1/nodes/${alpha.nodeId}`)
  t.equal(node.labels.tier, 'edge', 'the hub stored the label')
  t.equal(node.labels.site, 'alpha', 'and kept the others')

  // Devices and policy, as the agent reported them (its default policy: nothing privileged).
  await waitFor(async () => (await hub.api<NodeView>('GET', `/api/v1/nodes/${alpha.nodeId}`)).policy.reported, { what: 'the agent to report its policy' })
  const facts = page.getByRole('region', { name: 'Devices and policy' })
  await waitFor(async () => (await text(facts)).includes('/etc/localtime (read-only)'), { what: 'the node policy on the page' })
  t.match(await text(facts), /Privileged\s*not allowed/, 'privileged containers are not allowed')
  t.notMatch(await text(facts), /never reported/, "the policy is the node's own")

  // Cordon and uncordon.
  const heading = page.getByRole('heading', { level: 1 })
  await page.getByRole('button', { name: 'Cordon', exact: true }).click()
  await page.getByRole('button', { name: 'Uncordon', exact: true }).waitFor()
  t.match(await text(heading), /cordoned/, 'the page says cordoned')
  t.equal((await hub.api<NodeView>('GET', `/api/v1/nodes/${alpha.nodeId}`)).cordoned, true, 'cordoned on the hub')
  await page.getByRole('button', { name: 'Uncordon', exact: true }).click()
  await page.getByRole('button', { name: 'Cordon', exact: true }).waitFor()
  t.notMatch(await text(heading), /cordoned/, 'and no longer')
  t.equal((await hub.api<NodeView>('GET', `/api/v1/nodes/${alpha.nodeId}`)).cordoned, false, 'uncordoned on the hub')

  // The live log viewer, when this hub relays logs.
  const probe = await fetch(`${hub.url}/api/v1/deployments/${DEPLOYMENT}/logs?node=${alpha.nodeId}&tail=1`, {
    headers: { authorization: `Bearer ${hub.adminToken}` },
    signal: AbortSignal.timeout(30_000),
  })
  const probeBody = await probe.text()
  if (probe.status === 404 && probeBody.includes('no such endpoint')) {
    t.comment('this hub has no GET /api/v1/deployments/:name/logs yet: the log viewer is not exercised')
    await screenshot(page, 'node', { fullPage: true })
    return
  }
  const logs = page.getByRole('region', { name: 'Logs' })
  await logs.getByRole('button', { name: 'Show logs' }).click()
  await waitFor(async () => /console-tick-\d+/.test(await text(logs.getByLabel('log output'))), {
    what: 'log lines from the node to appear',
    timeoutMs: 30_000,
    intervalMs: 250,
  })
  const first = await text(logs.getByLabel('log output'))
  await waitFor(async () => (await text(logs.getByLabel('log output'))).length > first.length, {
    what: 'followed lines to keep arriving',
    timeoutMs: 20_000,
    intervalMs: 250,
  })
  t.pass('the node’s log arrives and keeps following')
  await screenshot(page, 'node', { fullPage: true })
  await logs.getByRole('button', { name: 'Stop' }).click()
  await logs.getByRole('button', { name: 'Show logs' }).waitFor()
})

t.test('a node page link survives a reload (the hub serves index.html for console paths)', async (t) => {
  await page.goto(`${hub.url}/nodes/${beta.nodeId}`)
  await page.locator(`.page.node[data-node-id="${beta.nodeId}"]`).waitFor()
  t.pass('deep link opened, still signed in')
})

t.test('every signed-in page fits a phone, a tablet and a desktop', async (t) => {
  const pages = [
    { name: 'overview', path: '/', ready: page.getByRole('heading', { name: 'Fleet overview' }) },
    { name: 'nodes', path: '/nodes', ready: nodeRow(page, alpha.nodeId) },
    { name: 'node', path: `/nodes/${alpha.nodeId}`, ready: page.locator(`.page.node[data-node-id="${alpha.nodeId}"]`) },
    { name: 'deployments', path: '/deployments', ready: page.locator(`tr[data-deployment="${DEPLOYMENT}"]`) },
    { name: 'deployment', path: `/deployments/${DEPLOYMENT}`, ready: page.locator(`.page.deployment[data-deployment="${DEPLOYMENT}"]`) },
    { name: 'apply', path: '/apply', ready: page.getByLabel('manifest') },
    { name: 'configs', path: '/configs', ready: page.getByRole('heading', { name: /Configs/ }) },
    { name: 'tokens', path: '/tokens', ready: page.getByRole('heading', { name: /Join tokens/ }) },
    { name: 'alerts', path: '/alerts', ready: page.getByTestId('alert-summary').filter({ hasText: /firing/ }) },
  ]
  const sizes = [
    { name: 'phone', width: 390, height: 844 },
    { name: 'tablet', width: 768, height: 1024 },
    { name: 'desktop', width: 1400, height: 900 },
  ]
  const original = page.viewportSize()
  t.teardown(() => (original ? page.setViewportSize(original) : undefined))
  for (const size of sizes) {
    await page.setViewportSize({ width: size.width, height: size.height })
    for (const target of pages) {
      await page.goto(`${hub.url}${target.path}`)
      await target.ready.first().waitFor()
      await page.locator('[data-stream="live"]').waitFor()
      const widths = (await page.evaluate('[document.documentElement.scrollWidth, window.innerWidth]')) as [number, number]
      const sticking = widths[0] <= widths[1] ? '' : ` (sticking out: ${await page.evaluate(STICKING_OUT)})`
      t.ok(widths[0] <= widths[1], `${target.name} at ${size.name} size does not scroll sideways (${widths[0]} <= ${widths[1]})${sticking}`)
      t.ok(await page.getByRole('button', { name: 'Sign out' }).isVisible(), `${target.name} at ${size.name}: sign-out visible`)
      t.ok(await page.locator('[data-stream="live"]').isVisible(), `${target.name} at ${size.name}: live indicator visible`)
      if (size.name === 'phone') await screenshot(page, `phone-${target.name}`, { fullPage: true })
    }
    // The navigation: in the bar on a desktop, behind Menu on a phone; either way it takes you places.
    const nav = page.getByRole('navigation', { name: 'main' })
    const menu = page.getByRole('button', { name: 'Menu' })
    if (await menu.isVisible()) {
      t.equal(await nav.isVisible(), false, `${size.name}: the navigation is folded`)
      const box = await menu.boundingBox()
      t.ok(box !== null && box.height >= 44, `${size.name}: the Menu button is a 44 px touch target (${box?.height})`)
      await menu.click()
      t.equal(await menu.getAttribute('aria-expanded'), 'true')
    } else {
      t.equal(size.name, 'desktop', 'only the desktop shows the navigation without a Menu button')
    }
    await nav.getByRole('link', { name: 'Nodes' }).click()
    await nodeRow(page, alpha.nodeId).waitFor()
    if (await menu.isVisible()) t.equal(await nav.isVisible(), false, `${size.name}: following a link folds the menu again`)
    if (size.name === 'phone') {
      const cells = await nodeRow(page, alpha.nodeId)
        .locator('[role="cell"]')
        .evaluateAll((els) => els.map((el) => el.getAttribute('data-column')))
      t.same(
        cells,
        ['select', 'name', 'condition', 'lastSeen', 'workloads'],
        'a phone keeps the key columns (and the bulk selection); the node page has the rest',
      )
    }
  }
})

t.test('a node that stops turns offline (red) live, without a reload', async (t) => {
  await page.getByRole('navigation', { name: 'main' }).getByRole('link', { name: 'Nodes' }).click()
  await nodeRow(page, beta.nodeId).waitFor()
  t.equal(await attribute(nodeRow(page, beta.nodeId), 'data-condition'), 'Ready')
  await page.evaluate('window.__shoalNoReload = "still here"')
  const exit = await beta.stop()
  t.equal(exit.code, 0, 'the agent stopped cleanly on SIGTERM (and said goodbye)')
  await waitFor(async () => (await attribute(nodeRow(page, beta.nodeId), 'data-condition')) === 'Offline', {
    what: `the row of ${beta.nodeId} to turn Offline`,
    timeoutMs: 30_000,
    intervalMs: 100,
  })
  t.match(await nodeRow(page, beta.nodeId).getAttribute('class'), /cond-offline/, 'the row is marked offline (red)')
  const offlineBackground = await nodeRow(page, beta.nodeId).evaluate(backgroundOf)
  t.not(offlineBackground, 'rgba(0, 0, 0, 0)', 'the offline row has a background colour')
  t.not(offlineBackground, await nodeRow(page, alpha.nodeId).evaluate(backgroundOf), 'unlike the ready row')
  t.equal(await page.evaluate('window.__shoalNoReload'), 'still here', 'the page was not reloaded')
  t.equal(await attribute(nodeRow(page, alpha.nodeId), 'data-condition'), 'Ready', 'the other node is still ready')
  await screenshot(page, 'nodes')

  await page.getByRole('navigation', { name: 'main' }).getByRole('link', { name: 'Overview' }).click()
  await waitFor(async () => (await text(page.locator('[data-count="Offline"]'))) === '1', { what: 'the overview to count one offline node' })
  await screenshot(page, 'overview', { fullPage: true })
})

t.test('the nodes table stays small in the DOM at 1,000 nodes', async (t) => {
  // The hub's real answer, padded with 1,000 copies of its nodes under new names: the console
  // is what is measured here (enrolling 1,000 real nodes is the hub benchmarks' job).
  const padded = async (route: Route): Promise<void> => {
    const response = await route.fetch()
    const body = (await response.json()) as { items: Array<NodeView & Record<string, unknown>> }
    const template = body.items
    const extra = Array.from({ length: 1000 }, (_, i) => ({ ...template[i % template.length], id: `zz-sim-${String(i).padStart(4, '0')}` }))
    await route.fulfill({ response, json: { items: [...template, ...extra] } })
  }
  await page.route(/\/api\/v1\/nodes(\?.*)?$/, padded)
  t.teardown(() => page.unroute(/\/api\/v1\/nodes(\?.*)?$/, padded))
  await page.getByRole('navigation', { name: 'main' }).getByRole('link', { name: 'Nodes' }).click()
  await waitFor(async () => /^1002 of 1002 nodes/.test(await text(page.getByTestId('node-count'))), {
    what: 'the table to count 1,002 nodes',
    timeoutMs: 20_000,
  })
  const inDom = await page.locator('[role="row"][data-node-id]').count()
  t.ok(inDom > 5 && inDom < 80, `only the rows in view are in the DOM (${inDom} of 1002)`)
  t.equal(await page.getByRole('table', { name: 'nodes' }).getAttribute('aria-rowcount'), '1003', 'the table still reports every row')
  await page.locator('.vtable-viewport').evaluate((el: { scrollTop: number; scrollHeight: number }) => {
    el.scrollTop = el.scrollHeight
  })
  await nodeRow(page, 'zz-sim-0999').waitFor()
  t.pass('scrolling to the end shows the last node')
  t.ok((await page.locator('[role="row"][data-node-id]').count()) < 80, 'and the DOM stays small')
})

t.test('the console loads nothing from outside the hub and throws no errors', async (t) => {
  const foreign = browser.requests.filter((u) => !u.startsWith(hub.url) && !u.startsWith('data:'))
  t.same(foreign, [], 'every request went to the hub')
  t.same(browser.pageErrors, [], 'no uncaught errors in the page')
})
