// The console's terminal (issue 13) in Debian's Chromium against a real hub process and a real
// agent running a real container: on the deployment page a terminal opens a shell in the copy
// through the hub's session WebSocket, `echo $((6*7))` prints 42 and `exit 3` shows exit code 3;
// on the node page a terminal picks the workload, and leaving the page ends its session on the
// hub; the Sessions page lists both with their ends and bytes; at phone size nothing scrolls
// sideways. Every wait is for a condition.
import path from 'node:path'
import t from 'tap'
import type { Locator, Page } from 'playwright-core'
import { startAgentProcess, uniqueNodeId, type AgentProcess } from '../support/agent-process.js'
import { testImage } from '../support/env.js'
import { tempDir } from '../support/tmp.js'
import { waitFor } from '../support/wait.js'
import { launchChromium, screenshot, startHubProcess, type BrowserSession, type HubProcess } from './console-fixtures.js'

t.setTimeout(240_000)

const DEPLOYMENT = 'e2e-shell'

interface SessionView {
  readonly id: string
  readonly node: string
  readonly kind: string
  readonly workload: string | null
  readonly startedAt: string
  readonly endedAt: string | null
  readonly exitCode: number | null
  readonly error: string | null
  readonly bytesIn: number
  readonly bytesOut: number
}

let hub: HubProcess
let agent: AgentProcess
let browser: BrowserSession
let page: Page

const text = async (locator: Locator): Promise<string> => ((await locator.count()) > 0 ? ((await locator.first().textContent()) ?? '') : '')

/** The terminal's screen, one string per row as xterm.js's DOM renderer shows it (no-break spaces as spaces). */
const screenRows = async (terminal: Locator): Promise<string[]> =>
  (await terminal.locator('.xterm-rows > div').allTextContents()).map((row) => row.replace(/\u00a0/g, ' ').trimEnd())

/** Runs in the page (serialised by Playwright): the element's computed text colour. */
const colourOf = (el: unknown): string => (globalThis as unknown as { getComputedStyle(e: unknown): { color: string } }).getComputedStyle(el).color

/** Opens the section's terminal and waits until it runs; if it ends or fails instead, says why (the hub's or node's words). */
async function openTerminal(section: Locator): Promise<Locator> {
  await section.getByRole('button', { name: /^Open (terminal|again)$/ }).click()
  const terminal = section.locator('.remote-terminal')
  await section
    .locator('.remote-terminal:is([data-terminal-state="open"], [data-terminal-state="ended"], [data-terminal-state="failed"])')
    .waitFor({ timeout: 30_000 })
  const state = await terminal.getAttribute('data-terminal-state')
  if (state !== 'open')
    throw new Error(`the terminal did not open (${state}): ${await text(section.getByTestId('terminal-state'))} ${await text(section.getByRole('alert'))}`)
  return terminal
}

const sessions = async (): Promise<SessionView[]> => (await hub.api<{ items: SessionView[] }>('GET', '/api/v1/sessions')).items

t.before(async () => {
  const dir = tempDir(t, 'console-terminal-e2e')
  hub = await startHubProcess(t, dir)
  t.teardown(() => {
    if (!t.passing()) t.comment(`hub log (last lines):\n${hub.log().split('\n').slice(-80).join('\n')}`)
  })
  const { token } = await hub.api<{ token: string }>('POST', '/api/v1/tokens', {})
  const id = uniqueNodeId('term')
  agent = await startAgentProcess(t, {
    nodeId: id,
    dataDir: path.join(dir, id),
    hubUrl: hub.url,
    resyncIntervalMs: 2_000,
    logLevel: 'info',
    extraArgs: ['--token', token],
  })
  await hub.api('POST', '/api/v1/manifests', {
    apiVersion: 'shoal/v1',
    kind: 'Deployment',
    metadata: { name: DEPLOYMENT },
    spec: {
      replicas: 1,
      template: { image: testImage(), network: 'host', restartPolicy: 'always', command: ['sh', '-c', "trap 'exit 0' TERM; while true; do sleep 1; done"] },
    },
  })
  await waitFor(
    async () => {
      const d = await hub.api<{ placements: { nodeId: string; status: { state: string } | null }[] }>('GET', `/api/v1/deployments/${DEPLOYMENT}`)
      return d.placements.some((p) => p.nodeId === agent.nodeId && p.status?.state === 'running')
    },
    { what: `${DEPLOYMENT} to run on ${id}`, timeoutMs: 120_000, intervalMs: 250 },
  )
  browser = await launchChromium(t, dir)
  page = browser.page
  await page.goto(`${hub.url}/`)
  await page.getByLabel('admin token').fill(hub.adminToken)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.locator('[data-stream="live"]').waitFor()
})

t.test('the deployment page: a shell in the copy runs a command, and `exit 3` shows exit code 3', async (t) => {
  await page.goto(`${hub.url}/deployments/${DEPLOYMENT}`)
  const section = page.getByRole('region', { name: 'Terminal' })
  const terminal = await openTerminal(section)
  t.match(await text(section.getByTestId('terminal-state')), new RegExp(`^sh in ${DEPLOYMENT} on ${agent.nodeId}`), 'says what runs where')

  // The shell's prompt comes first; keys then go to the focused terminal.
  await waitFor(async () => (await screenRows(terminal)).some((row) => /[#$] ?$/.test(row)), { what: 'the shell’s prompt', timeoutMs: 15_000 })
  await page.keyboard.type('echo $((6*7))')
  await page.keyboard.press('Enter')
  await waitFor(async () => (await screenRows(terminal)).includes('42'), { what: 'a line with 42 on the screen', timeoutMs: 15_000 })
  t.ok(
    (await screenRows(terminal)).some((row) => row.includes('echo $((6*7))')),
    'the typed command is echoed by the TTY',
  )
  // xterm.js puts its theme in <style> elements the hub's CSP refuses; the console adopts them as stylesheets.
  t.equal(await terminal.locator('.xterm-rows').evaluate(colourOf), 'rgb(216, 225, 232)', 'the terminal’s theme applies under the hub’s CSP')
  await terminal.scrollIntoViewIfNeeded()
  await screenshot(page, 'terminal')

  await page.keyboard.type('exit 3')
  await page.keyboard.press('Enter')
  await page.locator('.remote-terminal[data-terminal-state="ended"]').waitFor({ timeout: 15_000 })
  t.equal(await terminal.getAttribute('data-exit-code'), '3', 'the exit code is on the terminal')
  t.match(await text(section.getByTestId('terminal-state')), /exited with code 3/, 'and said in words')
  t.ok(
    (await screenRows(terminal)).some((row) => row.includes('[exited with code 3]')),
    'and on the screen',
  )

  await waitFor(async () => (await sessions()).some((s) => s.kind === 'exec' && s.exitCode === 3 && s.endedAt !== null), {
    what: 'the hub to record the session with exit code 3',
    timeoutMs: 15_000,
  })
  const recorded = (await sessions()).find((s) => s.exitCode === 3)
  t.equal(recorded?.node, agent.nodeId)
  t.equal(recorded?.workload, DEPLOYMENT)
  t.ok((recorded?.bytesIn ?? 0) >= 'echo $((6*7))\rexit 3\r'.length, 'the keys were counted')
  t.ok((recorded?.bytesOut ?? 0) > 0, 'the output was counted')
})

t.test('the screen’s size follows the box: the shell’s stty sees a phone’s width, then a desktop’s', async (t) => {
  await page.setViewportSize({ width: 390, height: 844 })
  t.teardown(() => page.setViewportSize({ width: 1400, height: 900 }))
  await page.goto(`${hub.url}/deployments/${DEPLOYMENT}`)
  const section = page.getByRole('region', { name: 'Terminal' })
  const terminal = await openTerminal(section)
  await waitFor(async () => (await screenRows(terminal)).some((row) => /[#$] ?$/.test(row)), { what: 'the shell’s prompt', timeoutMs: 15_000 })
  let asked = 0
  /** The TTY's columns as the shell sees them, marked so the typed line (which holds the marker's text too) never matches. */
  const columns = async (): Promise<number> => {
    const marker = `size${++asked}-`
    await page.keyboard.type(`echo ${marker}$(stty size | tr ' ' x)`)
    await page.keyboard.press('Enter')
    let found: number | null = null
    await waitFor(
      async () => {
        for (const row of await screenRows(terminal)) {
          const match = new RegExp(`^${marker}(\\d+)x(\\d+)$`).exec(row)
          if (match) found = Number(match[2])
        }
        return found !== null
      },
      { what: `the answer to stty size (${marker})`, timeoutMs: 15_000 },
    )
    return found ?? 0
  }
  const narrow = await columns()
  t.ok(narrow > 10 && narrow <= 60, `a phone-wide terminal has few columns (${narrow})`)
  await page.setViewportSize({ width: 1400, height: 900 })
  let wide = narrow
  await waitFor(
    async () => {
      wide = await columns()
      return wide > 100
    },
    { what: 'the shell to see the wider terminal', timeoutMs: 30_000, intervalMs: 500 },
  )
  t.ok(wide > 100, `the resize reached the TTY (${narrow} → ${wide} columns)`)
  await section.getByRole('button', { name: 'Close terminal' }).click()
  await waitFor(async () => (await section.locator('.remote-terminal').count()) === 0, { what: 'Close terminal to take it away', timeoutMs: 15_000 })
})

t.test('the node page: pick the workload; leaving the page ends the session', async (t) => {
  const before = (await sessions()).length
  await page.goto(`${hub.url}/nodes/${agent.nodeId}`)
  const section = page.getByRole('region', { name: 'Terminal' })
  await section.getByLabel('command').fill('sh -c cat')
  const terminal = await openTerminal(section)
  await page.keyboard.type('hello from the node page')
  await page.keyboard.press('Enter')
  // The TTY echoes the line and cat writes it back: twice on the screen.
  await waitFor(async () => (await screenRows(terminal)).filter((row) => row === 'hello from the node page').length >= 2, {
    what: 'cat to write the line back',
    timeoutMs: 15_000,
  })
  await waitFor(async () => (await sessions()).length === before + 1, { what: 'the hub to list the open session', timeoutMs: 15_000 })
  // The newest: the one the page just opened (an earlier test's may still be ending).
  const open = (await sessions()).filter((s) => s.endedAt === null).sort((a, b) => b.startedAt.localeCompare(a.startedAt))[0]
  t.ok(open, 'the session is open while the page shows it')

  await page.getByRole('navigation', { name: 'main' }).getByRole('link', { name: 'Sessions' }).click()
  const ended = async (): Promise<boolean> => {
    const now = (await sessions()).find((s) => s.id === open?.id)
    return now !== undefined && now.endedAt !== null
  }
  await waitFor(ended, {
    what: 'the hub to end the session the page left',
    timeoutMs: 30_000,
  })
  t.pass('leaving the page closed the socket and the hub ended the session')
})

t.test('the Sessions page lists both, with their ends', async (t) => {
  await page.goto(`${hub.url}/sessions`)
  const table = page.getByRole('table', { name: 'sessions' })
  await waitFor(async () => (await table.locator('tbody tr[data-kind="exec"]').count()) >= 2, { what: 'two exec sessions listed', timeoutMs: 15_000 })
  const exited = table.locator('tbody tr[data-exit-code="3"]')
  t.equal(await exited.count(), 1, 'the shell that exited 3')
  t.match(await text(exited.getByTestId('session-end')), /exit 3/)
  t.match(await text(exited), agent.nodeId)
  await page.goto(`${hub.url}/sessions?node=${encodeURIComponent(agent.nodeId)}`)
  await table.waitFor()
  t.match(await text(page.getByRole('heading', { level: 1 })), agent.nodeId, 'one node’s sessions')
  t.same(browser.pageErrors, [], 'no errors in the page')
})

t.test('at phone size the pages with a terminal do not scroll sideways', async (t) => {
  await page.setViewportSize({ width: 390, height: 844 })
  t.teardown(() => page.setViewportSize({ width: 1400, height: 900 }))
  for (const target of [`/deployments/${DEPLOYMENT}`, `/nodes/${agent.nodeId}`, '/sessions']) {
    await page.goto(`${hub.url}${target}`)
    if (target === '/sessions') await page.getByRole('table', { name: 'sessions' }).waitFor()
    else await openTerminal(page.getByRole('region', { name: 'Terminal' }))
    const [scroll, inner] = (await page.evaluate('[document.documentElement.scrollWidth, window.innerWidth]')) as [number, number]
    t.ok(scroll <= inner, `${target} fits the phone's width (${scroll} <= ${inner})`)
  }
  t.same(browser.pageErrors, [], 'no errors in the page')
})
