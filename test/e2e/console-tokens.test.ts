// Join tokens in the web console, in Debian's Chromium against a real hub process: a token made
// in the form (its secret shown once, with the command a node runs), a real agent enrolled with
// that secret while the page watches its uses, a token that never expires, and revoking from the
// page (and a revoke the hub answers 404 because the token went meanwhile). The hub then no longer
// lists the token and refuses an enrollment with it. Every wait is for a condition.
// With SHOAL_SCREENSHOTS=1 it also saves docs/screenshots/tokens.png.
import path from 'node:path'
import t from 'tap'
import type { Locator, Page } from 'playwright-core'
import { startAgentProcess, uniqueNodeId } from '../support/agent-process.js'
import { tempDir } from '../support/tmp.js'
import { waitFor } from '../support/wait.js'
import { launchChromium, screenshot, startHubProcess, type BrowserSession, type HubProcess } from './console-fixtures.js'

t.setTimeout(240_000)

interface TokenView {
  readonly id: string
  readonly labels: Record<string, string>
  readonly maxUses: number | null
  readonly uses: number
  readonly usesLeft: number | null
  readonly expiresAt: string | null
  readonly expired: boolean
}

const text = async (locator: Locator): Promise<string> => ((await locator.count()) > 0 ? ((await locator.first().textContent()) ?? '') : '')

let hub: HubProcess
let browser: BrowserSession
let page: Page
let dir: string
/** The token made in the first subtest, and what the page showed of it. */
let first: { id: string; secret: string; nodeId: string } | undefined

const listTokens = async (): Promise<TokenView[]> => (await hub.api<{ items: TokenView[] }>('GET', '/api/v1/tokens')).items
const table = (): Locator => page.getByRole('table', { name: 'join tokens' })
const row = (id: string): Locator => table().locator(`tr[data-token-id="${id}"]`)
const secretPanel = (): Locator => page.getByRole('region', { name: 'new join token' })

/** POST /api/v1/enroll without the admin token, as a node does; the status and the hub's error. */
async function enroll(body: unknown): Promise<{ status: number; error: { code?: string; message?: string } | undefined }> {
  const response = await fetch(`${hub.url}/api/v1/enroll`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  })
  const parsed = (await response.json().catch(() => ({}))) as { error?: { code?: string; message?: string } }
  return { status: response.status, error: parsed.error }
}

t.before(async () => {
  dir = tempDir(t, 'console-tokens-e2e')
  hub = await startHubProcess(t, dir)
  t.teardown(() => {
    if (!t.passing()) t.comment(`hub log (last lines):\n${hub.log().split('\n').slice(-80).join('\n')}`)
  })
  browser = await launchChromium(t, dir)
  page = browser.page
  await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: hub.url })
  await page.goto(`${hub.url}/`)
  await page.getByLabel('admin token').fill(hub.adminToken)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.locator('[data-stream="live"]').waitFor()
})

t.test('the page is in the navigation and starts empty', async (t) => {
  await page.getByRole('navigation', { name: 'main' }).getByRole('link', { name: 'Join tokens' }).click()
  await page.getByRole('heading', { name: 'Join tokens', level: 1 }).waitFor()
  t.equal(new URL(page.url()).pathname, '/tokens', 'at /tokens')
  await page.getByText('No join tokens.').waitFor()
  t.pass('a fresh hub has no tokens')
})

t.test('the form checks its fields before asking the hub', async (t) => {
  await page.getByRole('button', { name: 'Create a token' }).click()
  const form = page.getByRole('form', { name: 'create a join token' })
  t.equal(await form.getByLabel('Time to live').inputValue(), '24h', 'the time to live defaults to 24h')
  t.ok(await form.getByRole('radio', { name: 'Expires after' }).isChecked(), 'and "Expires after" is chosen')
  await form.getByLabel('Time to live').fill('3 days')
  await form.getByRole('button', { name: 'Create token' }).click()
  await form.getByRole('alert').filter({ hasText: 'use a duration such as 30m, 24h or 7d' }).waitFor()
  await form.getByLabel('Time to live').fill('24h')
  await form.getByLabel('Labels for the nodes it enrolls').fill('site')
  await form.getByRole('button', { name: 'Create token' }).click()
  await form.getByRole('alert').filter({ hasText: 'is not key=value' }).waitFor()
  t.same(await listTokens(), [], 'nothing was sent to the hub')
  await form.getByRole('button', { name: 'Cancel' }).click()
  await form.waitFor({ state: 'detached' })
})

t.test('creates a token and shows its secret once, with the command a node runs', async (t) => {
  await page.getByRole('button', { name: 'Create a token' }).click()
  const form = page.getByRole('form', { name: 'create a join token' })
  await form.getByLabel('Max uses').fill('2')
  await form.getByLabel('Labels for the nodes it enrolls').fill('site=gamma, e2e=tokens')
  await form.getByRole('button', { name: 'Create token' }).click()

  const panel = secretPanel()
  await panel.waitFor()
  const id = (await panel.getAttribute('data-token-id')) ?? ''
  const secret = await panel.getByLabel('Secret').inputValue()
  t.match(await text(panel), /it will not be shown again/, 'the page says the secret is shown once')
  t.equal(
    await text(panel.getByTestId('enroll-command')),
    `shoal agent run --data-dir /var/lib/shoal --hub ${hub.url} --token ${secret}`,
    'the command names this hub and the secret',
  )

  await panel.getByRole('button', { name: 'Copy secret' }).click()
  await panel.getByRole('status').filter({ hasText: 'Copied' }).waitFor()
  t.equal(await page.evaluate('navigator.clipboard.readText()'), secret, 'Copy secret put the secret on the clipboard')

  const stored = (await listTokens()).find((token) => token.id === id)
  t.ok(stored, `the hub lists token ${id}`)
  t.same(stored?.labels, { site: 'gamma', e2e: 'tokens' }, 'with the labels from the form')
  t.equal(stored?.maxUses, 2, 'and at most 2 uses')
  t.ok(stored?.expiresAt, 'and an expiry (24h by default)')
  t.equal(JSON.stringify(await listTokens()).includes(secret), false, 'the list never carries the secret')

  const tokenRow = row(id)
  await tokenRow.waitFor()
  t.equal(await tokenRow.getAttribute('data-state'), 'usable', 'the row says usable')
  t.equal(await text(tokenRow.getByTestId('uses')), '0 of 2', 'no use yet')
  t.equal(await text(tokenRow.getByTestId('uses-left')), '2', '2 uses left')
  t.equal(await tokenRow.getByTestId('expires').getAttribute('data-expires-at'), stored?.expiresAt, 'the expiry is the hub’s')
  t.match(await text(tokenRow.getByTestId('expires')), /^in \d+h/, 'shown relative, and absolute beside it')
  t.match(await text(tokenRow), /site=gamma/, 'the labels it applies are shown')
  await screenshot(page, 'tokens', { fullPage: true })

  await panel.getByRole('button', { name: /^Done/ }).click()
  await panel.waitFor({ state: 'detached' })
  t.equal((await page.content()).includes(secret), false, 'once dismissed, the secret is nowhere on the page')
  first = { id, secret, nodeId: uniqueNodeId('tokens') }
})

t.test('a real agent enrolls with the secret and the row counts the use', async (t) => {
  if (!first) throw new Error('the token from the previous subtest is missing')
  const { id, secret, nodeId } = first
  await startAgentProcess(t, { nodeId, dataDir: path.join(dir, nodeId), hubUrl: hub.url, logLevel: 'info', extraArgs: ['--token', secret] })
  // No reload: the enrollment arrives on the change stream and the list refetches.
  await waitFor(async () => (await row(id).getAttribute('data-uses')) === '1', { what: 'the row to count one use', timeoutMs: 30_000, intervalMs: 100 })
  t.equal(await text(row(id).getByTestId('uses')), '1 of 2', 'one use of two')
  t.equal(await text(row(id).getByTestId('uses-left')), '1', 'one left')
  const node = await hub.api<{ labels: Record<string, string> }>('GET', `/api/v1/nodes/${nodeId}`)
  t.match(node.labels, { site: 'gamma', e2e: 'tokens' }, 'the node got the token’s labels')
})

t.test('a token that never expires', async (t) => {
  await page.getByRole('button', { name: 'Create a token' }).click()
  const form = page.getByRole('form', { name: 'create a join token' })
  await form.getByRole('radio', { name: 'Never expires' }).check()
  t.ok(await form.getByLabel('Time to live').isDisabled(), 'the time to live is off')
  await form.getByRole('button', { name: 'Create token' }).click()
  const panel = secretPanel()
  await panel.waitFor()
  const id = (await panel.getAttribute('data-token-id')) ?? ''
  t.match(await text(panel), /Never expires/, 'the panel says it never expires')
  await panel.getByRole('button', { name: /^Done/ }).click()
  const stored = (await listTokens()).find((token) => token.id === id)
  t.equal(stored?.expiresAt, null, 'the hub stored no expiry (ttl 0)')
  t.equal(stored?.usesLeft, null, 'and no limit on uses')
  await row(id).waitFor()
  t.equal(await text(row(id).getByTestId('expires')), 'never', 'the row says never')
  t.equal(await text(row(id).getByTestId('uses-left')), 'unlimited', 'and unlimited uses')
})

t.test('revokes a token from the page; the hub forgets it and refuses it', async (t) => {
  if (!first) throw new Error('the token from the earlier subtest is missing')
  const { id, secret, nodeId } = first
  await row(id)
    .getByRole('button', { name: `Revoke token ${id}` })
    .click()
  const confirm = row(id).getByRole('group', { name: `confirm revoking token ${id}` })
  await confirm.getByRole('button', { name: 'Cancel' }).click()
  await confirm.waitFor({ state: 'detached' })
  t.ok(
    (await listTokens()).some((token) => token.id === id),
    'Cancel revokes nothing',
  )

  await row(id)
    .getByRole('button', { name: `Revoke token ${id}` })
    .click()
  await confirm.getByRole('button', { name: 'Yes, revoke' }).click()
  await row(id).waitFor({ state: 'detached' })
  await page
    .getByRole('status')
    .filter({ hasText: `Token ${id} revoked` })
    .waitFor()
  t.notOk(
    (await listTokens()).some((token) => token.id === id),
    'GET /api/v1/tokens no longer lists it',
  )

  const { inventory } = await hub.api<{ inventory: unknown }>('GET', `/api/v1/nodes/${nodeId}`)
  const refused = await enroll({ token: secret, name: uniqueNodeId('late'), labels: {}, inventory, agentVersion: '0.1.0' })
  t.equal(refused.status, 403, 'an enrollment with the revoked secret is refused')
  t.match(refused.error, { code: 'token-refused', message: /unknown join token/ }, 'as an unknown token')
})

t.test('a revoke the hub answers 404 says so and drops the row', async (t) => {
  const others = await listTokens()
  t.equal(others.length, 1, 'the never-expiring token is left')
  const id = others[0]?.id ?? ''
  await row(id)
    .getByRole('button', { name: `Revoke token ${id}` })
    .click()
  const confirm = row(id).getByRole('group', { name: `confirm revoking token ${id}` })
  await confirm.waitFor()
  // Someone else revokes it (say with `shoal token revoke`) while the page asks for confirmation.
  await hub.api('DELETE', `/api/v1/tokens/${id}`)
  await confirm.getByRole('button', { name: 'Yes, revoke' }).click()
  const alert = page.getByRole('alert').filter({ hasText: `Token ${id} is already gone` })
  await alert.waitFor()
  t.match(await text(alert), /404 not-found/, 'the alert names the hub’s answer')
  await row(id).waitFor({ state: 'detached' })
  await page.getByText('No join tokens.').waitFor()
  t.pass('the list is empty again')
})

t.test('the page threw no errors', async (t) => {
  const foreign = browser.requests.filter((u) => !u.startsWith(hub.url) && !u.startsWith('data:'))
  t.same(foreign, [], 'every request went to the hub')
  t.same(browser.pageErrors, [], 'no uncaught errors in the page')
})
