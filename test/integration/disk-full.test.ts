// A full disk, for real: the agent's and the hub's data directories on a small tmpfs that the
// test fills to the last byte. Neither process dies, each says precisely what is wrong, what
// was stored stays intact, and once space is freed the change that could not be stored goes
// through (the agent keeps the document in memory and retries; the operator re-applies).
// Mounting needs root, as scripts/test runs; the test fails (it does not skip) without it.
import { execFileSync } from 'node:child_process'
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, unlinkSync, writeSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { freePort, startMosquitto, testImage, waitFor } from '../support/index.js'
import { httpdWorkload, startAgentProcess, uniqueNodeId, waitForRunning } from '../support/agent-process.js'
import { startMqttHubDouble } from '../support/hub-double.js'
import { HubProcess } from '../support/hub-process.js'

t.setTimeout(170_000)

/** The test object tap hands to a subtest. */
type TapTest = Parameters<Parameters<typeof t.test>[0]>[0]

/**
 * A fresh directory with a tmpfs of `bytes` mounted at `<dir>/data`, lazily unmounted and
 * removed at teardown. Only `data` is small: the processes' logs, beside it, stay writable.
 */
function smallDisk(t: TapTest, bytes: number): { dir: string; data: string } {
  const base = process.env.SHOAL_TMP || os.tmpdir()
  const dir = mkdtempSync(path.join(base, 'disk-full-'))
  const data = path.join(dir, 'data')
  mkdirSync(data)
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes},mode=0700`, 'tmpfs', data])
  t.teardown(() => {
    // Lazy: the processes using it are killed by their own teardowns, in whatever order.
    execFileSync('umount', ['-l', data])
    rmSync(dir, { recursive: true, force: true })
  })
  return { dir, data }
}

/** Writes a file until the disk refuses (ENOSPC); returns its path, to delete when done. */
function fillDisk(dir: string): string {
  const file = path.join(dir, 'filler')
  const fd = openSync(file, 'w')
  const chunk = Buffer.alloc(16 * 1024, 0x5a)
  try {
    for (;;) {
      try {
        writeSync(fd, chunk)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error
        // The last partial page: fill it byte by byte so not even a small write fits.
        for (;;) {
          try {
            writeSync(fd, chunk, 0, 1)
          } catch {
            return file
          }
        }
      }
    }
  } finally {
    closeSync(fd)
  }
}

/** Env values large enough that storing the document needs new pages on the disk. */
function bulkyEnv(): Record<string, string> {
  const env: Record<string, string> = {}
  for (let i = 0; i < 24; i++) env[`BULK_${i}`] = String(i).padStart(10_000, 'x')
  return env
}

t.test('agent: a document it cannot store is kept in memory and stored once space is freed', async (t) => {
  const image = testImage()
  const disk = smallDisk(t, 8 * 1024 * 1024)
  const nodeId = uniqueNodeId('full')
  const broker = await startMosquitto(t)
  const hub = await startMqttHubDouble(t, broker.url)
  const agent = await startAgentProcess(t, { nodeId, dataDir: disk.data, hubUrl: broker.url, hubKey: hub.publicKey })
  const port = await freePort()

  await hub.publishDesired(nodeId, [httpdWorkload('web', port, image)], 1)
  await waitForRunning(nodeId, ['web'])
  await hub.waitForStatus(nodeId, (s) => s.observedGeneration === 1 && s.workloads.every((w) => w.state === 'running'), { what: 'generation 1 running' })

  const filler = fillDisk(disk.data)
  await hub.publishDesired(nodeId, [httpdWorkload('web', port, image, { env: bulkyEnv(), revision: 2 })], 2)
  await waitFor(() => agent.log().includes('could not store the desired document (database or disk is full)'), {
    what: 'the agent to say its disk is full',
    timeoutMs: 30_000,
  })
  t.ok(agent.alive, 'the agent keeps running')
  const during = await waitForRunning(nodeId, ['web'])
  t.equal(during.get('web')?.labels['io.shoal.revision'], '1', 'the workload keeps running at the stored revision')

  unlinkSync(filler)
  const status = await hub.waitForStatus(
    nodeId,
    (s) => s.observedGeneration === 2 && s.workloads.some((w) => w.name === 'web' && w.revision === 2 && w.state === 'running'),
    {
      what: 'generation 2 stored and running after space was freed',
      timeoutMs: 60_000,
    },
  )
  t.equal(status.observedGeneration, 2)
  await waitFor(() => agent.log().includes('stored the desired document that could not be stored before') || undefined, {
    what: "the agent's log to say the held document was stored",
    timeoutMs: 10_000,
  })
  t.ok(agent.alive)
})

t.test('hub: an apply that cannot be stored is answered 507, and nothing stored is lost', async (t) => {
  const disk = smallDisk(t, 16 * 1024 * 1024)
  // HubProcess keeps its data in <dir>/data (the tmpfs) and its log in <dir>.
  const hub = new HubProcess(disk.dir, await freePort(), await freePort(), { logLevel: 'info' })
  t.teardown(async () => {
    if (hub.alive) await hub.kill('SIGKILL').catch(() => undefined)
    if (!t.passing()) t.comment(`hub log, last lines:\n${hub.tail(80)}`)
  })
  await hub.start()
  const manifest = (name: string, env: Record<string, string> = {}): string =>
    [
      'apiVersion: shoal/v1',
      'kind: Deployment',
      `metadata: {name: ${name}}`,
      'spec:',
      '  replicas: 1',
      '  template:',
      '    image: registry.invalid/app:1',
      ...(Object.keys(env).length > 0 ? ['    env:', ...Object.entries(env).map(([k, v]) => `      ${k}: "${v}"`)] : []),
    ].join('\n')
  await hub.apply(manifest('kept'))

  const filler = fillDisk(disk.data)
  const refused = await hub.api('POST', '/api/v1/manifests', manifest('bulky', bulkyEnv()))
  t.equal(refused.status, 507, refused.text.slice(0, 300))
  t.equal(refused.body.error.code, 'storage-full')
  t.match(refused.body.error.message, /disk is full.*free space/)
  t.ok(hub.alive, 'the hub keeps running')
  // The log is written by another process: wait for the line to reach the file, not for a moment.
  await waitFor(() => hub.log().includes("the hub's disk is full") || undefined, { what: "the hub's log to say the disk is full", timeoutMs: 10_000 })
  t.pass('and says so in its log')
  const names = (await hub.ok<{ items: { name: string }[] }>('GET', '/api/v1/deployments')).items.map((d) => d.name)
  t.strictSame(names, ['kept'], 'what was stored before is intact, nothing half-written')

  unlinkSync(filler)
  await hub.apply(manifest('bulky', bulkyEnv()))
  const after = (await hub.ok<{ items: { name: string }[] }>('GET', '/api/v1/deployments')).items.map((d) => d.name).sort()
  t.strictSame(after, ['bulky', 'kept'], 'the same apply succeeds once there is space')
})
