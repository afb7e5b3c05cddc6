// DockerRuntime against the real Docker engine: containers on host networking bound to
// 127.0.0.1, a real loopback registry for pulls. Every container carries this node's label
// and the run's io.shoal.test-run label and is removed when the file ends, pass or fail.
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { pino } from 'pino'
import t from 'tap'
import { createDockerRuntime, type DockerRuntime } from '../../agent/runtime/docker-runtime.js'
import {
  LABEL,
  RuntimeError,
  type ContainerSpec,
  type LogLine,
  type LogOptions,
  type ObservedContainer,
  type PullProgress,
  type RuntimeEvent,
} from '../../agent/runtime/runtime.js'
import type { ContainerTemplateInput } from '../../protocol/index.js'
import {
  dockerClient,
  pushImage,
  freePort,
  removeContainersByLabel,
  startService,
  tempDir,
  untilEventsFlow,
  waitFor,
  TEST_RUN_LABEL,
  type TestLike,
} from '../support/index.js'
import { containerWorkload } from '../support/container-workload.js'

const image = process.env.SHOAL_TEST_IMAGE || 'shoal-test/busybox:1'
const runId = process.env.SHOAL_TEST_RUN || randomBytes(4).toString('hex')
const nodeId = `it-docker-${randomBytes(3).toString('hex')}`
const logger = pino({ level: process.env.SHOAL_LOG_LEVEL || 'silent' })

t.setTimeout(110_000)

function spec(name: string, template: Omit<ContainerTemplateInput, 'image'>, revision = 1): ContainerSpec {
  return {
    nodeId,
    name: `${nodeId}-${name}`,
    configHash: `hash-${name}-${revision}`,
    extraLabels: { [TEST_RUN_LABEL]: runId },
    workload: containerWorkload({ name, deployment: `${name}-dep`, revision, template: { image, restartPolicy: 'never', ...template } }),
  }
}

async function observed(runtime: DockerRuntime, id: string): Promise<ObservedContainer | undefined> {
  return (await runtime.list(nodeId)).find((container) => container.id === id)
}

async function collect(lines: AsyncIterable<LogLine>): Promise<LogLine[]> {
  const out: LogLine[] = []
  for await (const line of lines) out.push(line)
  return out
}

const texts = (lines: readonly LogLine[], stream: LogLine['stream']): string[] => lines.filter((line) => line.stream === stream).map((line) => line.text)

/** The recipe of TEST-ENVIRONMENT.md, for a machine where scripts/test has not built it yet. */
function ensureTestImage(): void {
  try {
    execFileSync('docker', ['image', 'inspect', image], { stdio: 'ignore' })
    return
  } catch {
    // not there yet
  }
  const root = tempDir(t, 'busybox-root')
  const applets = 'sh echo sleep cat httpd wget env nc false true ls kill date printf seq yes head'
  execFileSync('sh', [
    '-c',
    `mkdir -p "$1/bin" && cp /bin/busybox "$1/bin/" && for a in ${applets}; do ln -s busybox "$1/bin/$a"; done && tar -C "$1" -c . | docker import - "$2" >/dev/null`,
    'sh',
    root,
    image,
  ])
}

async function removeNodeVolumes(): Promise<void> {
  const docker = dockerClient()
  const { Volumes } = await docker.listVolumes({ filters: { label: [`${LABEL.node}=${nodeId}`] } })
  for (const volume of Volumes ?? [])
    await docker
      .getVolume(volume.Name)
      .remove()
      .catch(() => undefined)
}

ensureTestImage()
const runtime = await createDockerRuntime({ logger })
t.teardown(async () => {
  await removeContainersByLabel(`${LABEL.node}=${nodeId}`)
  await removeNodeVolumes()
})

t.test('version names the engine', async (t) => {
  t.match(await runtime.version(), /^\d+\.\d+/)
})

t.test('an engine that is not there is unavailable', async (t) => {
  const missing = await createDockerRuntime({ docker: path.join(tempDir(t), 'no-such.sock'), logger })
  await t.rejects(missing.version(), { name: 'RuntimeError', code: 'unavailable', message: /unreachable/ })
  await t.rejects(missing.list(nodeId), { code: 'unavailable' })
})

t.test('runs a healthy web server on host networking, with events along the way', async (t) => {
  const port = await freePort()
  const events: RuntimeEvent[] = []
  const stopEvents = new AbortController()
  const following = (async () => {
    for await (const event of runtime.events(nodeId, stopEvents.signal)) events.push(event)
  })()
  t.teardown(async () => {
    stopEvents.abort()
    await following
  })
  await untilEventsFlow(events, {
    create: () => runtime.create(spec('canary', { command: ['true'] })),
    remove: (id) => runtime.remove(id),
  })

  const web = spec('web', {
    command: ['sh', '-c', `mkdir -p /www && echo hello-shoal > /www/index.html && exec httpd -f -p 127.0.0.1:${port} -h /www`],
    restartPolicy: 'always',
    // exec: the engine's own HEALTHCHECK (the agent runs http and tcp checks itself, not the runtime).
    healthCheck: { exec: { command: ['wget', '-q', '-O', '/dev/null', `http://127.0.0.1:${port}/index.html`] }, interval: '500ms', timeout: '2s', retries: 2 },
  })
  const id = await runtime.create(web)
  await runtime.start(id)

  const body = await waitFor(
    async () => {
      const response = await fetch(`http://127.0.0.1:${port}/`)
      return response.ok ? response.text() : undefined
    },
    { what: 'httpd to answer', timeoutMs: 10_000 },
  )
  t.equal(body.trim(), 'hello-shoal')

  const healthy = await waitFor(
    async () => {
      const container = await observed(runtime, id)
      return container?.health === 'healthy' ? container : undefined
    },
    { what: 'the container to become healthy', timeoutMs: 20_000, intervalMs: 250 },
  )
  t.match(healthy, {
    id,
    name: web.name,
    workload: 'web',
    deployment: 'web-dep',
    revision: 1,
    configHash: 'hash-web-1',
    state: 'running',
    exitCode: null,
    restartCount: 0,
  })
  t.ok(healthy.startedAt, 'has a start time')
  t.equal(await runtime.exec(id, ['sh', '-c', 'test -f /www/index.html'], 10_000), 0, 'exec: the exit code of a command run in the container')
  t.equal(await runtime.exec(id, ['sh', '-c', 'exit 7'], 10_000), 7)
  await t.rejects(runtime.exec(id, ['sleep', '30'], 300), { code: 'timeout' }, 'a command still running at its timeout is a timeout')

  const labels = (await dockerClient().getContainer(id).inspect()).Config.Labels
  t.match(labels, { [LABEL.node]: nodeId, [LABEL.workload]: 'web', [LABEL.revision]: '1', [TEST_RUN_LABEL]: runId })
  const restart = (await dockerClient().getContainer(id).inspect()).HostConfig.RestartPolicy
  t.equal(restart?.Name, 'unless-stopped')

  await runtime.stop(id, 5)
  await runtime.remove(id)

  await waitFor(() => events.some((event) => event.action === 'destroy'), { what: 'a destroy event', timeoutMs: 10_000 })
  const actions = events.filter((event) => event.containerId === id).map((event) => event.action)
  t.same(
    actions.filter((action) => action !== 'health_status'),
    ['create', 'start', 'die', 'stop', 'destroy'],
    'lifecycle events in order',
  )
  t.ok(
    events.some((event) => event.action === 'health_status' && event.health === 'healthy'),
    'a health_status healthy event',
  )
  const die = events.find((event) => event.action === 'die')
  t.equal(typeof die?.exitCode, 'number', 'die carries the exit code')
  t.ok(
    events.every((event) => event.workload === 'web'),
    'events name the workload',
  )
  t.ok(
    events.every((event) => event.at instanceof Date && event.at.getTime() > Date.now() - 120_000),
    'events carry their time',
  )
})

t.test('logs: both streams apart, tail, since, follow', async (t) => {
  const id = await runtime.create(spec('talker', { command: ['sh', '-c', 'echo out1; echo err1 >&2; echo out2; sleep 1.2; echo err2 >&2; echo out3'] }))
  await runtime.start(id)
  await waitFor(async () => (await observed(runtime, id))?.state === 'exited', { what: 'talker to exit', timeoutMs: 15_000 })

  const all = await collect(runtime.logs(id, {}))
  t.same(texts(all, 'stdout'), ['out1', 'out2', 'out3'])
  t.same(texts(all, 'stderr'), ['err1', 'err2'])
  t.ok(
    all.every((line) => line.at === undefined),
    'no times unless asked',
  )

  // The engine reads the two pipes apart, so only the order within one stream is certain.
  const tail = await collect(runtime.logs(id, { tail: 2 }))
  t.same(tail.map((line) => `${line.stream}:${line.text}`).sort(), ['stderr:err2', 'stdout:out3'])

  const stamped = await collect(runtime.logs(id, { timestamps: true }))
  t.ok(
    stamped.every((line) => line.at !== undefined && !Number.isNaN(Date.parse(line.at))),
    'every line has an RFC 3339 time',
  )
  // The two pipes are stamped as they are read, so out3 may carry an earlier time than err2:
  // `since` is the earlier of the two lines after the pause.
  const afterPause = stamped.filter((line) => line.text === 'err2' || line.text === 'out3').map((line) => Date.parse(line.at ?? ''))
  const since = new Date(Math.floor(Math.min(...afterPause)))
  const late = await collect(runtime.logs(id, { since }))
  t.same(late.map((line) => line.text).sort(), ['err2', 'out3'], 'since drops the lines before the pause')
})

t.test('follow streams new lines until the signal aborts', async (t) => {
  const id = await runtime.create(spec('ticker', { command: ['sh', '-c', 'i=0; while true; do echo tick $i; echo tock $i >&2; i=$((i+1)); sleep 0.2; done'] }))
  await runtime.start(id)
  const abort = new AbortController()
  const seen: LogLine[] = []
  const options: LogOptions = { follow: true, signal: abort.signal }
  // The container ticks forever: the loop ends only because the abort ended the stream.
  for await (const line of runtime.logs(id, options)) {
    seen.push(line)
    if (texts(seen, 'stdout').length >= 4) abort.abort()
  }
  t.ok(abort.signal.aborted, 'ended at the abort')
  t.same(texts(seen, 'stdout').slice(0, 4), ['tick 0', 'tick 1', 'tick 2', 'tick 3'])
  t.match(texts(seen, 'stderr')[0], /^tock \d+$/)
  await runtime.remove(id)
})

t.test('follow ends by itself when the container stops', async (t) => {
  const id = await runtime.create(spec('short', { command: ['sh', '-c', 'echo first; sleep 1; echo last'] }))
  await runtime.start(id)
  const lines = await collect(runtime.logs(id, { follow: true }))
  t.same(texts(lines, 'stdout'), ['first', 'last'])
})

t.test('start, stop and remove are idempotent; create refuses a taken name', async (t) => {
  const sleeper = spec('sleeper', { command: ['sleep', '600'] })
  const id = await runtime.create(sleeper)
  await t.rejects(runtime.create(sleeper), { name: 'RuntimeError', code: 'conflict', message: /sleeper/ })
  await runtime.start(id)
  await runtime.start(id)
  t.equal((await observed(runtime, id))?.state, 'running')
  await runtime.stop(id, 1)
  await runtime.stop(id, 1)
  t.equal((await observed(runtime, id))?.state, 'exited')
  await runtime.remove(id)
  await runtime.remove(id)
  t.equal(await observed(runtime, id), undefined)
  await t.rejects(runtime.start(id), { code: 'not-found' })
  await t.rejects(runtime.logs(id, {})[Symbol.asyncIterator]().next(), { code: 'not-found' })
})

t.test('create needs the image to be present', async (t) => {
  const missing: ContainerSpec = {
    ...spec('noimage', {}),
    workload: containerWorkload({ name: 'noimage', deployment: 'noimage', revision: 1, template: { image: `shoal-test/absent-${runId}:1` } }),
  }
  await t.rejects(runtime.create(missing), { code: 'not-found', message: /pull it first/ })
})

t.test('a named volume survives remove and recreate', async (t) => {
  const volumes = [{ name: 'data', path: '/data' }]
  const writer = await runtime.create(spec('keeper', { volumes, command: ['sh', '-c', `echo kept-${runId} > /data/note`] }))
  await runtime.start(writer)
  await waitFor(async () => (await observed(runtime, writer))?.state === 'exited', { what: 'the writer to exit', timeoutMs: 15_000 })
  await runtime.remove(writer)

  const volume = await dockerClient().getVolume(`shoal-${nodeId}-data`).inspect()
  t.match(volume.Labels, { [LABEL.node]: nodeId, 'io.shoal.volume': 'data', [TEST_RUN_LABEL]: runId }, 'the volume is labelled')

  const reader = await runtime.create(spec('keeper', { volumes, command: ['cat', '/data/note'] }, 2))
  await runtime.start(reader)
  await waitFor(async () => (await observed(runtime, reader))?.state === 'exited', { what: 'the reader to exit', timeoutMs: 15_000 })
  t.same(texts(await collect(runtime.logs(reader, {})), 'stdout'), [`kept-${runId}`])
  await runtime.remove(reader)
})

t.test('restart policies: never leaves an exited container alone; always revives it', async (t) => {
  const once = await runtime.create(spec('once', { command: ['sh', '-c', 'exit 3'], restartPolicy: 'never' }))
  const crashy = await runtime.create(spec('crashy', { command: ['sh', '-c', 'exit 1'], restartPolicy: 'always' }))
  await runtime.start(once)
  await runtime.start(crashy)
  const revived = await waitFor(
    async () => {
      const container = await observed(runtime, crashy)
      return container && container.restartCount >= 1 ? container : undefined
    },
    { what: 'the engine to restart the crashing container', timeoutMs: 15_000, intervalMs: 200 },
  )
  t.ok(revived.restartCount >= 1, 'always: the engine restarted it')
  const stayed = await observed(runtime, once)
  t.match(stayed, { state: 'exited', exitCode: 3, restartCount: 0 }, 'never: still exited, exit code kept')
  t.ok(stayed?.finishedAt, 'has a finish time')
  await runtime.remove(crashy)
  await runtime.remove(once)
})

t.test('pull failures name the image and the reason', async (t) => {
  const nowhere = `127.0.0.1:${await freePort()}/nope:1`
  const error = await runtime.pull(nowhere, undefined).then(
    () => undefined,
    (err: unknown) => err,
  )
  t.type(error, RuntimeError)
  t.match(error, {
    code: 'pull-failed',
    message: new RegExp(`${nowhere.replace(/[.]/g, '\\.')}.*(connection refused|connect)`, 'i'),
    context: { image: nowhere },
  })
})

t.test('pulls from a real registry with progress, then lists and removes the image', async (t) => {
  const registry = process.env.SHOAL_TEST_REGISTRY || (await startRegistry(t))
  const docker = dockerClient()
  const repo = `${registry}/shoal-test/pull-${runId}-${nodeId}`
  const ref = `${repo}:1`
  await docker.getImage(image).tag({ repo, tag: '1' })
  t.teardown(() =>
    docker
      .getImage(ref)
      .remove()
      .catch(() => undefined),
  )
  t.notOk(await pushImage(ref, registry), 'the push worked')
  await docker.getImage(ref).remove()
  t.equal(await runtime.imageExists(ref), false)

  const progress: PullProgress[] = []
  await runtime.pull(ref, undefined, (event) => progress.push(event))
  t.ok(progress.length > 0, 'progress was reported')
  t.ok(progress.every((event) => event.image === ref && typeof event.status === 'string'))
  t.ok(
    progress.some((event) => /Digest|Downloaded|up to date/i.test(event.status)),
    'the engine said it finished',
  )
  t.equal(await runtime.imageExists(ref), true)

  const listed = (await runtime.listImages()).find((info) => info.tags.includes(ref))
  t.ok(listed, 'listImages shows the pulled tag')
  t.ok(listed && listed.sizeBytes > 0 && listed.createdAt instanceof Date)

  const missingTag = `${repo}:missing`
  await t.rejects(runtime.pull(missingTag, undefined), {
    code: 'pull-failed',
    message: new RegExp(`${missingTag.replace(/[.]/g, '\\.')}.*(not found|unknown)`, 'i'),
  })

  await runtime.removeImage(ref)
  await runtime.removeImage(ref)
  t.equal(await runtime.imageExists(ref), false)
})

t.test('disk usage of the engine filesystem', async (t) => {
  const usage = await runtime.diskUsage()
  t.ok(usage, 'the Docker root dir is visible here')
  t.ok(usage && usage.totalBytes > 0 && usage.usedBytes > 0 && usage.usedBytes <= usage.totalBytes)
})

/** A private docker-registry on a free loopback port, for runs outside scripts/test. */
async function startRegistry(t: TestLike): Promise<string> {
  const port = await freePort()
  const dir = tempDir(t, 'registry')
  const config = path.join(dir, 'config.yml')
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log: { level: warn }',
      `storage: { filesystem: { rootdirectory: ${path.join(dir, 'data')} }, delete: { enabled: true } }`,
      `http: { addr: 127.0.0.1:${port} }`,
      '',
    ].join('\n'),
  )
  await startService(t, { name: 'docker-registry', command: 'docker-registry', args: ['serve', config], port, url: `http://127.0.0.1:${port}`, dir })
  return `127.0.0.1:${port}`
}

t.test("a stop without a timeout uses the workload's stopSignal and stopGracePeriod", async (t) => {
  // PID 1 ignores a signal it has no handler for: sleep stays up through SIGUSR1 until the
  // grace period ends and the engine kills it (137), one second after the signal, not ten.
  const stubborn = spec('stubborn', { command: ['sleep', '600'], stopSignal: 'SIGUSR1', stopGracePeriod: '1s' })
  const id = await runtime.create(stubborn)
  await runtime.start(id)
  const config = (await dockerClient().getContainer(id).inspect()).Config as { StopSignal?: string; StopTimeout?: number }
  t.equal(config.StopSignal, 'SIGUSR1')
  t.equal(config.StopTimeout, 1)
  await runtime.stop(id)
  const state = (await dockerClient().getContainer(id).inspect()).State
  t.equal(state.Running, false)
  t.equal(state.ExitCode, 137, 'killed after the grace period: the stop signal alone did not end it')
  await runtime.remove(id)

  const plain = spec('plain', { command: ['sleep', '600'] })
  const plainId = await runtime.create(plain)
  const plainConfig = (await dockerClient().getContainer(plainId).inspect()).Config as { StopSignal?: string; StopTimeout?: number }
  t.notOk(plainConfig.StopTimeout, "no template field, no StopTimeout: the engine's default of 10 s")
  await runtime.remove(plainId)
})
