// Progressive delivery in the web console, in Debian's Chromium against a real hub process and
// three real agents (real Docker containers): a canary that holds at its first step until
// Promote is clicked, a rolling update paused and resumed from the page, and Undo making a new
// revision with the old image. Every wait is for a condition on the page or the hub.
// With SHOAL_SCREENSHOTS=1 it also saves docs/screenshots/rollout.png.
import path from 'node:path'
import t from 'tap'
import type { Locator, Page } from 'playwright-core'
import { startAgentProcess, uniqueNodeId, type AgentProcess } from '../support/agent-process.js'
import { testImage, testRegistryImage } from '../support/env.js'
import { tempDir } from '../support/tmp.js'
import { waitFor } from '../support/wait.js'
import { launchChromium, screenshot, startHubProcess, type BrowserSession, type HubProcess } from './console-fixtures.js'

t.setTimeout(420_000)

const CANARY = 'rollout-canary'
const ROLLING = 'rollout-rolling'

interface RolloutView {
  readonly revision: number
  readonly phase: 'progressing' | 'complete' | 'failed'
  readonly paused: boolean
  readonly conditions: ReadonlyArray<{ readonly type: string; readonly status: string; readonly reason: string }>
  readonly copies: ReadonlyArray<{ readonly nodeId: string; readonly revision: number; readonly gate: string }>
}

/** An every-node deployment over the three agents; `tick` changes the template (and so the revision) without a new image. */
const deployment = (name: string, image: string, strategy: Record<string, unknown>, tick = 'tick') => ({
  apiVersion: 'shoal/v1',
  kind: 'Deployment',
  metadata: { name, labels: { team: 'console-rollout-e2e' } },
  spec: {
    mode: 'every-node',
    selector: { matchLabels: { e2e: 'rollout' } },
    strategy,
    template: {
      image,
      command: ['sh', '-c', `trap 'exit 0' TERM; while true; do echo ${name}-${tick}; sleep 1; done`],
      restartPolicy: 'always',
      network: 'host',
    },
  },
})

const canaryStrategy = { type: 'canary', steps: [{ count: 1, pause: 'manual' }] }
const rollingStrategy = { type: 'rolling', maxUnavailable: 1, minReadySeconds: 10 }

const text = async (locator: Locator): Promise<string> => ((await locator.count()) > 0 ? ((await locator.first().textContent()) ?? '') : '')

let hub: HubProcess
let browser: BrowserSession
let page: Page
let agents: AgentProcess[]

const rolloutOf = (name: string): Promise<RolloutView> => hub.api<RolloutView>('GET', `/api/v1/deployments/${name}/rollout`)
const apply = (manifest: unknown): Promise<unknown> => hub.api('POST', '/api/v1/manifests', manifest)

/** The rollout panel on the deployment page, and the pieces the test reads. */
const panel = (): Locator => page.getByRole('region', { name: 'Rollout' })
const rolloutBox = (): Locator => panel().locator('.rollout')
const button = (name: string): Locator => panel().getByRole('button', { name, exact: false })
const copyRows = (): Locator => panel().locator('tr[data-gate]')

async function waitForRollout(
  what: string,
  check: (box: { phase: string | null; revision: string | null; paused: string | null }) => boolean,
  timeoutMs = 60_000,
): Promise<void> {
  await waitFor(
    async () => {
      const box = rolloutBox()
      if ((await box.count()) === 0) return false
      return check({
        phase: await box.getAttribute('data-phase'),
        revision: await box.getAttribute('data-revision'),
        paused: await box.getAttribute('data-paused'),
      })
    },
    { what, timeoutMs, intervalMs: 200 },
  )
}

/** Every copy row shows `gate` at `revision`. */
async function waitForCopies(what: string, revision: number, gate: string, timeoutMs = 90_000): Promise<void> {
  await waitFor(
    async () => {
      const rows = await copyRows().all()
      if (rows.length !== agents.length) return false
      for (const row of rows) {
        if ((await row.getAttribute('data-gate')) !== gate || (await row.getAttribute('data-revision')) !== String(revision)) return false
      }
      return true
    },
    { what, timeoutMs, intervalMs: 250 },
  )
}

const conditionRow = (type: string): Locator => panel().locator(`tr[data-condition-type="${type}"]`)

async function openDeployment(name: string): Promise<void> {
  await page.getByRole('navigation', { name: 'main' }).getByRole('link', { name: 'Deployments' }).click()
  await page.locator(`tr[data-deployment="${name}"]`).getByRole('link', { name }).click()
  await page.locator(`.page.deployment[data-deployment="${name}"]`).waitFor()
}

/** Until the rollout of `name` is complete; a canary's first revision holds at its step too, so setup promotes it. */
async function settle(name: string): Promise<void> {
  await waitFor(
    async () => {
      const r = await rolloutOf(name)
      if (r.phase === 'complete') return true
      if (r.conditions.some((c) => c.type === 'RolloutPaused' && c.status === 'True' && c.reason === 'AwaitingPromotion')) {
        await hub.api('POST', `/api/v1/deployments/${name}/rollout/promote`, {})
      }
      return false
    },
    { what: `the rollout of ${name} to complete`, timeoutMs: 90_000, intervalMs: 250 },
  )
}

t.before(async () => {
  const dir = tempDir(t, 'console-rollout-e2e')
  hub = await startHubProcess(t, dir)
  t.teardown(() => {
    if (!t.passing()) t.comment(`hub log (last lines):\n${hub.log().split('\n').slice(-80).join('\n')}`)
  })
  const { token } = await hub.api<{ token: string }>('POST', '/api/v1/tokens', {})
  agents = await Promise.all(
    ['alpha', 'beta', 'gamma'].map((site) =>
      startAgentProcess(t, {
        nodeId: uniqueNodeId(site),
        dataDir: path.join(dir, site),
        hubUrl: hub.url,
        resyncIntervalMs: 2_000,
        logLevel: 'info',
        extraArgs: ['--token', token, '--labels', `site=${site},e2e=rollout`],
      }),
    ),
  )
  await waitFor(
    async () => {
      const { items } = await hub.api<{ items: Array<{ online: boolean; condition: { type: string } }> }>('GET', '/api/v1/nodes')
      return items.length === 3 && items.every((n) => n.online && n.condition.type === 'Ready')
    },
    { what: 'the three agents to enroll and be Ready', timeoutMs: 60_000, intervalMs: 250 },
  )
  await apply(deployment(CANARY, testImage(), canaryStrategy))
  await apply(deployment(ROLLING, testImage(), rollingStrategy))
  await Promise.all([settle(CANARY), settle(ROLLING)])

  browser = await launchChromium(t, dir)
  page = browser.page
  await page.goto(`${hub.url}/`)
  await page.getByLabel('admin token').fill(hub.adminToken)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.locator('[data-stream="live"]').waitFor()
})

t.test('the deployments list has a rollout column', async (t) => {
  await page.getByRole('navigation', { name: 'main' }).getByRole('link', { name: 'Deployments' }).click()
  for (const name of [CANARY, ROLLING]) {
    const phase = page.locator(`tr[data-deployment="${name}"] [data-testid="rollout-phase"] [data-phase]`)
    await waitFor(async () => (await phase.getAttribute('data-phase')) === 'complete', { what: `${name} to show complete in the list` })
  }
  t.pass('both deployments show their rollout complete')
})

t.test('a canary holds at its step until Promote, then completes', async (t) => {
  await openDeployment(CANARY)
  await waitForRollout('revision 1 complete on the page', (b) => b.phase === 'complete' && b.revision === '1')
  t.ok(await button('Promote').isDisabled(), 'Promote is disabled with nothing to promote')
  t.ok(await button('Pause').isDisabled(), 'and so is Pause')

  await apply(deployment(CANARY, testRegistryImage(), canaryStrategy))
  await waitForRollout('revision 2 to progress', (b) => b.phase === 'progressing' && b.revision === '2')
  await waitFor(async () => (await conditionRow('RolloutPaused').getAttribute('data-reason')) === 'AwaitingPromotion', {
    what: 'the RolloutPaused condition to say AwaitingPromotion',
    timeoutMs: 90_000,
    intervalMs: 250,
  })
  t.equal(await conditionRow('RolloutPaused').getAttribute('data-status'), 'True', 'RolloutPaused is True')
  t.match(await text(conditionRow('RolloutPaused')), /holds until shoal rollout promote/, 'with the hub’s message')

  const canaryWave = panel().locator('[data-wave^="step 1"]')
  const restWave = panel().locator('[data-wave="rest"]')
  t.equal(await canaryWave.locator('tr[data-gate]').count(), 1, 'the first step holds one copy')
  t.equal(await canaryWave.locator('tr[data-gate]').getAttribute('data-gate'), 'updated', 'updated to revision 2')
  t.equal(await canaryWave.locator('tr[data-gate]').getAttribute('data-revision'), '2')
  t.equal(await restWave.locator('tr[data-gate="old"][data-revision="1"]').count(), 2, 'the other two copies stay on revision 1')
  t.match(await text(restWave), /waiting for shoal rollout promote/, 'and say why')
  t.match(await text(panel().getByTestId('rollout-line')), /revision 2 from stable revision 1/, 'the page says which revision replaces which')
  t.ok(await button('Promote').isEnabled(), 'Promote is enabled while the canary holds')
  await screenshot(page, 'rollout', { fullPage: true })

  await button('Promote').click()
  await waitForRollout('the rollout of revision 2 to complete', (b) => b.phase === 'complete' && b.revision === '2', 120_000)
  await waitForCopies('every copy updated on revision 2', 2, 'updated')
  t.equal((await rolloutOf(CANARY)).phase, 'complete', 'the hub says complete too')
  t.ok(await button('Promote').isDisabled(), 'Promote is disabled again')
  const current = page.getByRole('table', { name: 'revisions' }).locator('tr[data-current="true"]')
  t.equal(await current.getAttribute('data-revision'), '2', 'revision 2 is current in the history')
  t.equal(await current.getAttribute('data-stable'), 'true', 'and stable')
})

t.test('Undo rolls out the old image as a new revision', async (t) => {
  const history = page.getByRole('table', { name: 'revisions' })
  t.equal(await text(history.locator('tr[data-revision="1"] code')), testImage(), 'revision 1 ran the old image')
  t.match(await text(button('Undo')), /Undo to 1/, 'Undo goes back to revision 1')
  await button('Undo').click()
  await panel().getByRole('status').filter({ hasText: 'Revision 3 rolls out the template of revision 1' }).waitFor()
  await waitFor(async () => (await history.locator('tr[data-current="true"]').getAttribute('data-revision')) === '3', { what: 'revision 3 to become current' })
  t.equal(await text(history.locator('tr[data-revision="3"] code')), testImage(), 'revision 3 has the old image')
  t.ok(
    await history.locator('tr[data-revision="1"]').getByRole('button', { name: 'Undo to this revision' }).isDisabled(),
    'undoing to revision 1 again would change nothing',
  )

  // An undo is a rollout like any other: this canary holds again, and Promote finishes it.
  await waitFor(async () => (await conditionRow('RolloutPaused').getAttribute('data-reason')) === 'AwaitingPromotion', {
    what: 'the canary of revision 3 to hold',
    timeoutMs: 90_000,
    intervalMs: 250,
  })
  await button('Promote').click()
  await waitForRollout('the rollout of revision 3 to complete', (b) => b.phase === 'complete' && b.revision === '3', 120_000)
  await waitForCopies('every copy updated on revision 3', 3, 'updated')
  const stored = await hub.api<{ revision: number; manifest: { spec: { template: { image: string } } } }>('GET', `/api/v1/deployments/${CANARY}`)
  t.equal(stored.revision, 3, 'the hub is at revision 3')
  t.equal(stored.manifest.spec.template.image, testImage(), 'with the old image')
})

t.test('Pause and Resume a rolling update from the page', async (t) => {
  await openDeployment(ROLLING)
  await waitForRollout('revision 1 complete', (b) => b.phase === 'complete' && b.revision === '1')
  await apply(deployment(ROLLING, testImage(), rollingStrategy, 'tock'))
  await waitForRollout('revision 2 to progress', (b) => b.phase === 'progressing' && b.revision === '2')
  // minReadySeconds 10 and one copy at a time: the rollout lasts at least 30 s, so it is still going.
  await button('Pause').click()
  await waitForRollout('the page to show the rollout paused', (b) => b.paused === 'true')
  t.equal((await rolloutOf(ROLLING)).paused, true, 'the hub has it paused')
  await waitFor(async () => (await conditionRow('RolloutPaused').getAttribute('data-reason')) === 'Paused', {
    what: 'the RolloutPaused condition to say Paused',
  })
  await waitFor(async () => /rollout paused/.test(await text(panel().locator('tr[data-gate="old"]'))), { what: 'a copy held back by the pause' })
  t.ok(await button('Pause').isDisabled(), 'Pause is disabled while paused')
  t.ok(await button('Resume').isEnabled(), 'Resume is enabled')

  await page.getByRole('navigation', { name: 'main' }).getByRole('link', { name: 'Deployments' }).click()
  const phase = page.locator(`tr[data-deployment="${ROLLING}"] [data-testid="rollout-phase"] [data-phase]`)
  await waitFor(async () => (await phase.getAttribute('data-paused')) === 'true', { what: 'the list to show the rollout paused' })
  t.equal(await phase.getAttribute('data-phase'), 'progressing', 'the list shows it progressing')
  t.match(await text(phase), /paused/, 'and paused')
  await openDeployment(ROLLING)

  await button('Resume').click()
  await waitForRollout('the page to show the rollout resumed', (b) => b.paused === 'false')
  await waitForRollout('the rollout of revision 2 to complete', (b) => b.phase === 'complete' && b.revision === '2', 120_000)
  await waitForCopies('every copy updated on revision 2', 2, 'updated')
  t.equal((await rolloutOf(ROLLING)).phase, 'complete', 'the hub says complete too')
})

t.test('the page threw no errors', async (t) => {
  const foreign = browser.requests.filter((u) => !u.startsWith(hub.url) && !u.startsWith('data:'))
  t.same(foreign, [], 'every request went to the hub')
  t.same(browser.pageErrors, [], 'no uncaught errors in the page')
})
