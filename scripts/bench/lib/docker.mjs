// Docker for benchmarks: one dockerode client, the test image, and clean-up by label. Every
// container a benchmark causes carries `io.shoal.bench=<run id>`, and all of them are removed
// at the end, pass or fail.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, symlinkSync, mkdirSync, copyFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import Docker from 'dockerode'
import { atCleanup } from './processes.mjs'
import { note } from './output.mjs'

export const TEST_IMAGE = process.env.SHOAL_TEST_IMAGE ?? 'shoal-test/busybox:1'
export const BENCH_LABEL = 'io.shoal.bench'

/**
 * A workload command that stops at once on SIGTERM (a plain `sleep` as PID 1 ignores it and
 * would make every stop wait for the engine's timeout).
 */
export const SLEEP_COMMAND = ['sh', '-c', "trap 'exit 0' TERM; sleep 3600 & wait"]

let client
export function docker() {
  client ??= new Docker()
  return client
}

/** Fails clearly when the engine is not there. */
export async function engineVersion() {
  try {
    const version = await docker().version()
    return { server: version.Version, api: version.ApiVersion }
  } catch (error) {
    throw new Error(`the Docker engine does not answer (${error.message}); start it with: dockerd --bridge=none --iptables=false --ip-masq=false`)
  }
}

/** Builds the busybox test image from the static binary when it is missing (no registry needed). */
export async function ensureTestImage() {
  try {
    await docker().getImage(TEST_IMAGE).inspect()
    return
  } catch {
    // missing: build it
  }
  const busybox = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p))
  if (!busybox) throw new Error(`${TEST_IMAGE} is missing and no static busybox to build it (apt-get install busybox-static)`)
  note(`building ${TEST_IMAGE} from ${busybox}`)
  const dir = mkdtempSync(path.join(tmpdir(), 'shoal-bench-image-'))
  try {
    mkdirSync(path.join(dir, 'bin'))
    copyFileSync(busybox, path.join(dir, 'bin', 'busybox'))
    for (const applet of ['sh', 'echo', 'sleep', 'cat', 'httpd', 'wget', 'env']) symlinkSync('busybox', path.join(dir, 'bin', applet))
    execFileSync('sh', ['-c', `tar -C '${dir}' -c . | docker import - '${TEST_IMAGE}'`], { stdio: ['ignore', 'ignore', 'inherit'] })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Force-removes every container with `label` (key=value); 404/409 mean someone got there first. */
export async function removeContainersByLabel(label) {
  const found = await docker().listContainers({ all: true, filters: { label: [label] } })
  await Promise.all(
    found.map(async (c) => {
      try {
        await docker().getContainer(c.Id).remove({ force: true, v: true })
      } catch (error) {
        if (error.statusCode !== 404 && error.statusCode !== 409) throw error
      }
    }),
  )
  return found.length
}

/** A run id for labels and names, and removal of its containers at the end of the run. */
export function benchRun(prefix) {
  const id = `${prefix}-${Date.now().toString(36)}${Math.floor(Math.random() * 1e4).toString(36)}`
  const label = `${BENCH_LABEL}=${id}`
  atCleanup(async () => {
    const removed = await removeContainersByLabel(label)
    if (removed > 0) note(`removed ${removed} container(s) labelled ${label}`)
  })
  return { id, label }
}

export async function runningCount(label) {
  return (await docker().listContainers({ filters: { label: [label], status: ['running'] } })).length
}

/**
 * Container events with `label`, as they happen, to `onEvent({ action, id, labels, at })`
 * where `at` is this process's performance.now() when the event arrived. Returns a stop function.
 */
export async function watchContainerEvents(label, onEvent) {
  const controller = new AbortController()
  const stream = await docker().getEvents({ filters: { type: ['container'], label: [label] }, abortSignal: controller.signal })
  let pending = ''
  stream.on('data', (chunk) => {
    const at = performance.now()
    pending += chunk.toString('utf8')
    let newline
    while ((newline = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, newline)
      pending = pending.slice(newline + 1)
      if (line.trim() === '') continue
      const event = JSON.parse(line)
      onEvent({ action: event.Action ?? event.status, id: event.id, labels: event.Actor?.Attributes ?? {}, at, timeNano: event.timeNano })
    }
  })
  stream.on('error', () => undefined)
  return () => {
    controller.abort()
    stream.destroy?.()
  }
}
