// What the console's browser tests run against: the built hub as a real process (serving the
// built console), and Debian's Chromium driven by playwright-core. Everything started here is
// stopped by PID when the test ends, pass or fail, with bounded waits.
import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, writeSync } from 'node:fs'
import path from 'node:path'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { CLI } from '../support/agent-process.js'
import { freePort } from '../support/ports.js'
import type { TestLike } from '../support/types.js'
import { sleep, waitFor } from '../support/wait.js'

export const ROOT = path.resolve(path.dirname(CLI), '..', '..')
export const CONSOLE_INDEX = path.join(ROOT, 'dist', 'console', 'index.html')

export interface HubProcess {
  readonly url: string
  readonly brokerPort: number
  readonly dataDir: string
  readonly adminToken: string
  readonly pid: number | undefined
  log(): string
  /** An authenticated call to the hub API; throws with the hub's message on an error status. */
  api<T>(method: string, apiPath: string, body?: unknown): Promise<T>
}

/** `shoal hub serve` on free loopback ports, with the embedded broker (and `extraArgs`); resolves once /healthz answers. */
export async function startHubProcess(t: TestLike, dir: string, options: { extraArgs?: readonly string[] } = {}): Promise<HubProcess> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` (scripts/test does) before the browser tests`)
  if (!existsSync(CONSOLE_INDEX)) throw new Error(`${CONSOLE_INDEX} is missing: run \`npm run build\` (it runs build:console) before the browser tests`)
  const port = await freePort()
  const brokerPort = await freePort()
  const dataDir = path.join(dir, 'hub')
  const logFile = path.join(dir, 'hub.log')
  const args = [
    CLI,
    'hub',
    'serve',
    '--data-dir',
    dataDir,
    '--listen',
    `127.0.0.1:${port}`,
    '--mqtt-listen',
    `127.0.0.1:${brokerPort}`,
    '--log-level',
    'debug',
    ...(options.extraArgs ?? []),
  ]
  const fd = openSync(logFile, 'a')
  writeSync(fd, `--- node ${args.join(' ')}\n`)
  let child: ChildProcess
  try {
    child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', fd, fd] })
  } finally {
    closeSync(fd)
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.on('error', () => undefined)
  process.once('exit', () => {
    if (child.exitCode === null && child.pid) process.kill(child.pid, 'SIGKILL')
  })
  const log = (): string => {
    try {
      return readFileSync(logFile, 'utf8')
    } catch {
      return ''
    }
  }
  t.teardown(async () => {
    if (child.exitCode !== null || child.signalCode !== null || !child.pid) return
    process.kill(child.pid, 'SIGTERM')
    const stopped = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)])
    if (!stopped && child.exitCode === null) {
      process.kill(child.pid, 'SIGKILL')
      await Promise.race([exited, sleep(5_000)])
    }
  })
  const url = `http://127.0.0.1:${port}`
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`the hub exited during start-up:\n${log().slice(-3000)}`)
      const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2_000) })
      return response.ok
    },
    { what: `the hub to answer on ${url}/healthz`, timeoutMs: 30_000, intervalMs: 100 },
  )
  const adminToken = readFileSync(path.join(dataDir, 'admin-token'), 'utf8').trim()
  const api = async <T>(method: string, apiPath: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${url}${apiPath}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(15_000),
    })
    const text = await response.text()
    if (!response.ok) throw new Error(`${method} ${apiPath}: HTTP ${response.status}: ${text}`)
    return (text ? JSON.parse(text) : null) as T
  }
  return {
    url,
    brokerPort,
    dataDir,
    adminToken,
    get pid() {
      return child.pid
    },
    log,
    api,
  }
}

/** The flags Debian's Chromium needs here (root, no GPU, a closed network); headless comes from Playwright. */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

export function chromiumPath(): string {
  const candidate = process.env.SHOAL_CHROMIUM ?? '/usr/bin/chromium'
  if (!existsSync(candidate)) {
    throw new Error(`${candidate} is missing: install Debian's chromium package (scripts/test does: apt-get install chromium). Never download a browser.`)
  }
  return candidate
}

export interface BrowserSession {
  readonly context: BrowserContext
  readonly page: Page
  readonly userDataDir: string
  /** Uncaught exceptions in the page, for a final check. */
  readonly pageErrors: string[]
  /** Every URL the page asked for (the console must ask only its hub). */
  readonly requests: string[]
}

/**
 * Debian's Chromium with a fresh user-data-dir. Teardown closes it; if that hangs, the browser
 * processes are ended by PID, found by the fresh directory on their command line (so no other
 * Chromium on the machine is touched).
 */
export async function launchChromium(t: TestLike, dir: string): Promise<BrowserSession> {
  const executablePath = chromiumPath()
  const userDataDir = path.join(dir, 'chromium-profile')
  mkdirSync(userDataDir, { recursive: true })
  let context: BrowserContext | undefined
  t.teardown(async () => {
    await Promise.race([context?.close().catch(() => undefined), sleep(15_000)])
    killByUserDataDir(userDataDir)
  })
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1400, height: 900 },
    timeout: 60_000,
  })
  context.setDefaultTimeout(15_000)
  const page = context.pages()[0] ?? (await context.newPage())
  const pageErrors: string[] = []
  const requests: string[] = []
  page.on('pageerror', (error) => pageErrors.push(error.message))
  page.on('request', (request) => requests.push(request.url()))
  return { context, page, userDataDir, pageErrors, requests }
}

function killByUserDataDir(userDataDir: string): void {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let cmdline = ''
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8')
    } catch {
      continue
    }
    if (!cmdline.includes(`--user-data-dir=${userDataDir}`)) continue
    try {
      process.kill(Number(entry), 'SIGKILL')
    } catch {
      // already gone
    }
  }
}

/** Saves a screenshot to docs/screenshots/NAME.png when SHOAL_SCREENSHOTS=1. */
export async function screenshot(page: Page, name: string, options: { fullPage?: boolean } = {}): Promise<void> {
  if (process.env.SHOAL_SCREENSHOTS !== '1') return
  const dir = path.join(ROOT, 'docs', 'screenshots')
  mkdirSync(dir, { recursive: true })
  // Relative times and the caret would differ between runs; settle the page first.
  await page.mouse.move(0, 0)
  await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: options.fullPage ?? false, caret: 'hide', animations: 'disabled' })
}
