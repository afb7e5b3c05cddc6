// The event stream survives an engine restart. This file runs a private dockerd (own socket,
// data root, exec root and containerd namespace) so that restarting it disturbs no other test;
// it is stopped by PID when the file ends.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { pino } from 'pino'
import t from 'tap'
import { createDockerRuntime } from '../../agent/runtime/docker-runtime.js'
import type { ContainerSpec, RuntimeEvent } from '../../agent/runtime/runtime.js'
import { findBinary, untilEventsFlow, waitFor } from '../support/index.js'
import { containerWorkload } from '../support/container-workload.js'

const image = process.env.SHOAL_TEST_IMAGE || 'shoal-test/busybox:1'
const runId = process.env.SHOAL_TEST_RUN || randomBytes(4).toString('hex')
const nodeId = `it-restart-${randomBytes(3).toString('hex')}`
const logger = pino({ level: process.env.SHOAL_LOG_LEVEL || 'silent' })

t.setTimeout(110_000)

// Short base path: a unix socket path must stay under 108 bytes.
const dir = mkdtempSync(path.join(process.env.SHOAL_TMP || os.tmpdir(), 'dd-'))
const socket = path.join(dir, 'docker.sock')
const logFile = path.join(dir, 'dockerd.log')
const host = `unix://${socket}`
let dockerd: ChildProcess | undefined

function exited(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true)
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve(true)
    })
  })
}

async function startEngine(): Promise<void> {
  const out = openSync(logFile, 'a')
  const args = [
    `--host=${host}`,
    `--data-root=${path.join(dir, 'data')}`,
    `--exec-root=${path.join(dir, 'exec')}`,
    `--pidfile=${path.join(dir, 'docker.pid')}`,
    `--containerd-namespace=shoal-${runId}-${nodeId}`,
    `--containerd-plugins-namespace=shoal-${runId}-${nodeId}-plugins`,
    '--bridge=none',
    '--iptables=false',
    '--ip-masq=false',
  ]
  try {
    dockerd = spawn(findBinary('dockerd'), args, { stdio: ['ignore', out, out] })
  } finally {
    closeSync(out)
  }
  const child = dockerd
  await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`dockerd exited:\n${readFileSync(logFile, 'utf8').slice(-2000)}`)
      execFileSync('docker', ['-H', host, 'version'], { stdio: 'ignore' })
      return true
    },
    { what: 'the private dockerd to answer', timeoutMs: 30_000, intervalMs: 200 },
  )
}

/** SIGTERM (the engine stops its containers and its containerd), SIGKILL only if it hangs. */
async function stopEngine(): Promise<void> {
  const child = dockerd
  if (!child) return
  child.kill('SIGTERM')
  if (!(await exited(child, 30_000))) {
    child.kill('SIGKILL')
    await exited(child, 5_000)
  }
  dockerd = undefined
}

/** dockerd leaves its default network namespace (and, after a crash, more) mounted under its roots. */
function unmountUnder(root: string): void {
  const mounts = readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[1] ?? '')
    .filter((mountPoint) => mountPoint.startsWith(`${root}/`))
    .reverse()
  for (const mountPoint of mounts) execFileSync('umount', ['-l', mountPoint])
}

t.teardown(async () => {
  await stopEngine()
  unmountUnder(dir)
  rmSync(dir, { recursive: true, force: true })
})

await startEngine()
// The private engine has no images: import the busybox one from the main engine.
execFileSync('sh', ['-c', 'docker save "$1" | docker -H "$2" load >/dev/null', 'sh', image, host])

function spec(name: string): ContainerSpec {
  return {
    nodeId,
    name: `${nodeId}-${name}`,
    configHash: name,
    extraLabels: { 'io.shoal.test-run': runId },
    workload: containerWorkload({
      name,
      deployment: name,
      revision: 1,
      // PID 1 ignores SIGTERM unless it traps it; trapping keeps engine shutdown quick.
      template: { image, command: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 0.2; done'], restartPolicy: 'always' },
    }),
  }
}

t.test('events continue across an engine restart, including what happened while away', async (t) => {
  const runtime = await createDockerRuntime({ docker: socket, logger })
  const events: RuntimeEvent[] = []
  const abort = new AbortController()
  const following = (async () => {
    for await (const event of runtime.events(nodeId, abort.signal)) events.push(event)
  })()
  t.teardown(async () => {
    abort.abort()
    await following
  })
  await untilEventsFlow(events, { create: () => runtime.create(spec('canary')), remove: (id) => runtime.remove(id) })

  const before = await runtime.create(spec('before'))
  await runtime.start(before)
  await waitFor(() => events.some((event) => event.containerId === before && event.action === 'start'), { what: 'the first start event', timeoutMs: 10_000 })

  await stopEngine()
  await startEngine()

  // unless-stopped: the engine starts it again by itself as it comes back.
  await waitFor(() => events.filter((event) => event.containerId === before && event.action === 'start').length >= 2, {
    what: 'the start event of the engine-restarted container',
    timeoutMs: 20_000,
  })

  const after = await runtime.create(spec('after'))
  await runtime.start(after)
  await waitFor(() => events.some((event) => event.containerId === after && event.action === 'start'), { what: 'events after the restart', timeoutMs: 20_000 })

  const creates = events.filter((event) => event.containerId === before && event.action === 'create')
  t.equal(creates.length, 1, 'no event is yielded twice')
  t.same(
    events.filter((event) => event.containerId === after).map((event) => event.action),
    ['create', 'start'],
  )
  const observed = await runtime.list(nodeId)
  t.same(observed.map((container) => container.state).sort(), ['running', 'running'])
  await runtime.remove(before)
  await runtime.remove(after)
})
